"""Run an action through the gateway and turn the answer into a result.

explain → markdown; document → a doc-comment edit in the language's convention; refactor → a
minimal list of text edits. An answer is read by syntax and must pass the named acceptance
checks (`actions/reading.py`, `actions/acceptance.py`) before it becomes an edit: one that does
not is refused inside the gateway, which records why and asks the next model in the plan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from magray_lsp.actions.acceptance import Edited, Refusal
from magray_lsp.actions.reading import EditReader, edit_scope
from magray_lsp.actions.target import Target
from magray_lsp.actions.tasks import MAX_OUTPUT_TOKENS, PreparedTask, prepare
from magray_lsp.context.document import Document
from magray_lsp.context.edits import TextEditSpec, diff_edits
from magray_lsp.context.positions import DEFAULT_ENCODING, PositionEncoding
from magray_lsp.errors import MagrayError
from magray_lsp.gateway import Gateway, GatewayEvent, Outcome
from magray_lsp.task import Action, Task


class ActionError(MagrayError):
    """The action cannot run here (nothing to document, no usable answer, ...)."""


@dataclass(frozen=True, slots=True)
class FileEdit:
    """Code for another file (a defined action's `new_file`, Write tests): `edits` against
    `snapshot`, the file's text when the answer was read (empty when it did not exist)."""

    path: Path
    snapshot: Document
    exists: bool
    edits: tuple[TextEditSpec, ...]
    new_text: str


@dataclass(frozen=True, slots=True)
class ActionResult:
    action: Action
    outcome: Outcome
    prepared: PreparedTask
    markdown: str = ""  # explain
    edits: tuple[TextEditSpec, ...] = ()  # document / refactor, against the target's version
    new_text: str = ""  # the whole document after the edits
    #: document / refactor: the bytes of `target.doc` the edit replaced, [start, end)
    edited_span: tuple[int, int] | None = None
    #: a defined action's name ("fix", "tests", "simplify"); "" for the built-ins above
    name: str = ""
    #: code for another file; `edits` above are for the target's own document
    file_edit: FileEdit | None = None

    @property
    def label(self) -> str:
        return self.name or self.action


def edit_reader(
    action: Action, target: Target, prepared: PreparedTask, instruction: str | None
) -> EditReader | None:
    """The reader for an edit action's answers; None for actions that do not edit."""
    if action == "document":
        unit = target.unit()
        if unit is None or unit.kind == "region":
            raise ActionError("put the cursor in a function, method or class to document it")
        return EditReader(edit_scope("document", target, prepared.context, instruction))
    if action == "refactor":
        return EditReader(edit_scope("refactor", target, prepared.context, instruction))
    return None


async def ask(
    gateway: Gateway,
    task: Task,
    reader: EditReader | None,
    on_event: Callable[[GatewayEvent], None] | None,
) -> Outcome:
    """Stream `task` through the gateway (each event to `on_event`); answers that `reader`
    refuses are refused inside the gateway, which then asks the next model."""
    accept = reader.refusal if reader is not None else None
    outcome: Outcome | None = None
    events: AsyncIterator[GatewayEvent] = gateway.stream(task, accept=accept)
    async for event in events:
        if on_event is not None:
            on_event(event)
        if isinstance(event, Outcome):
            outcome = event
    if outcome is None:  # pragma: no cover - stream() always ends with an Outcome
        raise ActionError("no answer")
    return outcome


def accepted(reader: EditReader, outcome: Outcome, label: str) -> Edited:
    """The edit of the answer the gateway accepted (read once already: kept by the reader)."""
    try:
        return reader.read(outcome.text)
    except Refusal as refusal:  # a cached answer that no longer fits, say
        raise ActionError(
            f"the {label} answer from {outcome.ref.label} does not fit the code: {refusal}"
        ) from None


async def run_action(
    gateway: Gateway,
    action: Action,
    target: Target,
    *,
    instruction: str | None = None,
    model_pin: str | None = None,
    encoding: PositionEncoding = DEFAULT_ENCODING,
    on_event: Callable[[GatewayEvent], None] | None = None,
) -> ActionResult:
    budget = gateway.context_budget(target.private, MAX_OUTPUT_TOKENS[action])
    prepared = prepare(
        action, target, instruction=instruction, model_pin=model_pin, context_budget=budget
    )
    reader = edit_reader(action, target, prepared, instruction)
    outcome = await ask(gateway, prepared.task, reader, on_event)
    if reader is None:
        return ActionResult(action, outcome, prepared, markdown=outcome.text.strip())
    edited = accepted(reader, outcome, action)
    edits = diff_edits(target.doc.text, edited.text, encoding)
    span = (edited.candidate.start, edited.candidate.end)
    return ActionResult(
        action, outcome, prepared, edits=tuple(edits), new_text=edited.text, edited_span=span
    )
