"""Run an action through the gateway and turn the answer into a result.

explain → markdown; document → a doc-comment edit in the language's convention; refactor → a
minimal list of text edits. An edit is only ever offered if the edited document parses no worse
than before: an answer that breaks it is rejected inside the gateway, which then asks the next
model in the plan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from magray_lsp.actions.answers import code_from_answer, doc_text_from_answer
from magray_lsp.actions.target import Target
from magray_lsp.actions.tasks import MAX_OUTPUT_TOKENS, PreparedTask, prepare
from magray_lsp.context.docstrings import docstring_edit
from magray_lsp.context.edits import TextEditSpec, diff_edits
from magray_lsp.context.positions import DEFAULT_ENCODING, PositionEncoding
from magray_lsp.context.syntax_check import is_acceptable_edit
from magray_lsp.errors import MagrayError
from magray_lsp.gateway import Accept, Gateway, GatewayEvent, Outcome
from magray_lsp.task import Action


class ActionError(MagrayError):
    """The action cannot run here (nothing to document, no usable answer, ...)."""


@dataclass(frozen=True, slots=True)
class ActionResult:
    action: Action
    outcome: Outcome
    prepared: PreparedTask
    markdown: str = ""  # explain
    edits: tuple[TextEditSpec, ...] = ()  # document / refactor, against the target's version
    new_text: str = ""  # the whole document after the edits


def _document_accept(target: Target) -> Callable[[str], str | None]:
    """answer → the new document text, or None when the answer is unusable."""
    unit = target.unit()
    if unit is None or unit.kind == "region":
        raise ActionError("put the cursor in a function, method or class to document it")

    signature = unit.signature.strip().splitlines()[0] if unit.signature.strip() else None

    def apply(answer: str) -> str | None:
        text = doc_text_from_answer(answer)
        if signature and signature in text:
            return None  # the model echoed the code instead of documenting it
        edit = docstring_edit(target.doc, unit, text)
        if edit is None or not is_acceptable_edit(
            target.doc, edit.start_byte, edit.end_byte, edit.new_text
        ):
            return None
        return edit.document

    return apply


def _refactor_accept(target: Target, prepared: PreparedTask) -> Callable[[str], str | None]:
    start, end = prepared.context.byte_span
    data = target.doc.data

    def apply(answer: str) -> str | None:
        code = code_from_answer(answer)
        if not code.strip():
            return None
        old = data[start:end].decode("utf-8", "replace")
        # keep the original's trailing newline and indentation of the first line
        if old.endswith("\n") and not code.endswith("\n"):
            code += "\r\n" if old.endswith("\r\n") else "\n"
        if "\r\n" in old and "\r\n" not in code:
            code = code.replace("\n", "\r\n")
        if not is_acceptable_edit(target.doc, start, end, code):
            return None
        return (data[:start] + code.encode() + data[end:]).decode("utf-8", "replace")

    return apply


def _refusal_of(convert: Callable[[str], str | None]) -> Accept:
    def accept(answer: str) -> str | None:
        return None if convert(answer) is not None else "the edit does not fit the code"

    return accept


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
    convert: Callable[[str], str | None] | None = None
    if action == "document":
        convert = _document_accept(target)
    elif action == "refactor":
        convert = _refactor_accept(target, prepared)
    accept = _refusal_of(convert) if convert is not None else None
    outcome: Outcome | None = None
    events: AsyncIterator[GatewayEvent] = gateway.stream(prepared.task, accept=accept)
    async for event in events:
        if on_event is not None:
            on_event(event)
        if isinstance(event, Outcome):
            outcome = event
    if outcome is None:  # pragma: no cover - stream() always ends with an Outcome
        raise ActionError("no answer")
    if convert is None:
        return ActionResult(action, outcome, prepared, markdown=outcome.text.strip())
    new_text = convert(outcome.text)
    if new_text is None:  # a cached answer from before a template change, say
        raise ActionError(f"the {action} answer from {outcome.ref.label} does not fit the code")
    edits = diff_edits(target.doc.text, new_text, encoding)
    return ActionResult(action, outcome, prepared, edits=tuple(edits), new_text=new_text)
