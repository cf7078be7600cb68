"""Run a defined action (a custom one, Fix, Write tests) through the same pipeline as the
built-ins: context under a budget, a Task routed like its `task`, the gateway (cache, budget,
privacy, fallback, ledger row under the action's name), and an answer read by syntax and
checked by the named acceptance checks before it becomes an edit.

| output | the answer becomes | checked like |
|---|---|---|
| show | markdown | (nothing to apply) |
| replace | the unit (or the selected lines) replaced | `task`: refactor, or document |
| insert_above / insert_below | code on its own lines next to the unit | insert |
| new_file | code appended to a file (created when missing) | insert |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Literal

from magray_lsp.actions.acceptance import Rules, Scope
from magray_lsp.actions.definitions import ActionDef
from magray_lsp.actions.perform import (
    ActionError,
    ActionResult,
    FileEdit,
    accepted,
    ask,
)
from magray_lsp.actions.placing import (
    Place,
    PlacedReader,
    append,
    file_scope,
    insert_scope,
    next_to_unit,
)
from magray_lsp.actions.reading import EditReader, edit_scope
from magray_lsp.actions.source import SourceError, read_source
from magray_lsp.actions.target import Target
from magray_lsp.actions.tasks import PreparedTask, content_key, output_budget
from magray_lsp.actions.testfiles import NoTestConvention, tests_plan
from magray_lsp.config.templates import fill, stable_head, uses
from magray_lsp.context.assemble import CodeContext, build_context
from magray_lsp.context.document import Document
from magray_lsp.context.edits import diff_edits
from magray_lsp.context.normalize import normalized_code_key
from magray_lsp.context.positions import DEFAULT_ENCODING, PositionEncoding
from magray_lsp.context.rebase import line_end, line_start
from magray_lsp.context.tokens import estimate_tokens
from magray_lsp.context.units import Unit
from magray_lsp.gateway import Gateway, GatewayEvent
from magray_lsp.task import Task

Severity = Literal["error", "warning", "information", "hint"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem a tool reported (from the request's `context.diagnostics`), as Fix tells
    the model about it."""

    message: str
    line: int  # 0-based
    severity: Severity = "error"
    code: str = ""
    source: str = ""

    @property
    def fixable(self) -> bool:
        """Fix is offered for warnings and errors, not hints."""
        return self.severity in ("error", "warning")

    def render(self) -> str:
        origin = " ".join(part for part in (self.source, self.code) if part)
        return f"- line {self.line + 1}: {self.severity}{f' [{origin}]' if origin else ''}: " + (
            self.message.strip()
        )


@dataclass(frozen=True, slots=True)
class Inputs:
    """What a run needs besides the target: the diagnostics in range, the user's `{input}`,
    the workspace root (for `{file}` and new files), a model pinned on the command line."""

    diagnostics: tuple[Diagnostic, ...] = ()
    input: str | None = None
    root: Path | None = None
    model_pin: str | None = None


#: the destination file's current text (an editor's copy when it is open), None if missing
ReadFile = Callable[[Path], Document | None]


def read_from_disk(path: Path) -> Document | None:
    if not path.exists():
        return None
    try:
        text = read_source(path)
    except SourceError as exc:
        raise ActionError(str(exc)) from None
    return Document.from_text(text, path=str(path), uri=path.resolve().as_uri())


_SYSTEMS: dict[str, str] = {
    "show": "You are a senior {language} engineer helping a colleague inside their editor. "
    "Be accurate and concrete; answer in short Markdown.",
    "replace": "You are a senior {language} engineer editing code inside an editor. Keep "
    "the {kind}'s name, the style, the indentation and the comments that still apply; the "
    "result must be complete, valid {language}. Reply with ONLY the complete new version of "
    "the code, in one ```{language} fenced block, nothing before or after the block.",
    "insert_above": "You are a senior {language} engineer writing code inside an editor. "
    "Reply with ONLY the code to insert above the {kind} (not the {kind} itself), in one "
    "```{language} fenced block, nothing before or after the block.",
    "insert_below": "You are a senior {language} engineer writing code inside an editor. "
    "Reply with ONLY the code to insert below the {kind} (not the {kind} itself), in one "
    "```{language} fenced block, nothing before or after the block.",
    "new_file": "You are a senior {language} engineer writing code inside an editor. Reply "
    "with ONLY the code for the file, in one fenced block, nothing before or after it.",
}


def listing_values(
    doc: Document, unit: Unit | None, path: Path | None, root: Path | None
) -> dict[str, str]:
    """The variables known before anything is read: what titles and paths may use."""
    if path is not None:
        name = _relative(path, root)
        module = path.stem
    else:
        name = doc.uri.rsplit("/", 1)[-1] or "untitled"
        module = PurePosixPath(name).stem or "untitled"
    named = unit is not None and unit.kind != "region"
    return {
        "unit": unit.qualified_name if unit is not None and named else "",
        "kind": unit.kind if unit is not None else "code",
        "language": doc.language.name if doc.language else "text",
        "file": name,
        "module": module,
    }


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def check_applicable(action: ActionDef, target: Target, inputs: Inputs) -> None:
    """ActionError (saying what to do) when `action` cannot run on `target` with `inputs`."""
    config = action.config
    if not action.offered_for(target.language):
        languages = ", ".join(config.languages)
        raise ActionError(f"`{action.name}` is for {languages}; this is {target.language}")
    if config.requires == "unit":
        unit = target.unit()
        if unit is None or unit.kind == "region":
            raise ActionError(
                f"`{action.name}`: put the cursor in a function, method or class first"
            )
    elif config.requires == "selection" and target.end <= target.start:
        raise ActionError(f"`{action.name}` works on a selection: select the code first")
    elif config.requires == "diagnostics" and not any(d.fixable for d in inputs.diagnostics):
        raise ActionError(f"`{action.name}`: there is no warning or error here")
    if action.needs_input and inputs.input is None:
        raise ActionError(f"`{action.name}` asks for input; none was given")


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a `new_file` answer goes: the file and its text now (empty when missing)."""

    path: Path
    doc: Document
    exists: bool
    place: Place
    in_source: bool  # the target's own document (Rust tests)


def destination(
    action: ActionDef, target: Target, inputs: Inputs, read_file: ReadFile
) -> tuple[Destination, str]:
    """Where `action`'s new code goes, and what the prompt says about the convention."""
    if action.name == "tests":
        try:
            plan = tests_plan(target, inputs.root)
        except NoTestConvention as exc:
            raise ActionError(str(exc)) from None
        path, place, convention = plan.path, plan.place, plan.convention
    else:
        assert action.config.path is not None  # a new_file definition has one
        base = inputs.root or (target.path.parent if target.path else None)
        if base is None:
            raise ActionError(f"`{action.name}` writes a file: save the document first")
        values = listing_values(target.doc, target.unit(), target.path, inputs.root)
        path = base / fill(action.config.path, values)
        if not path.resolve().is_relative_to(base.resolve()):
            raise ActionError(f"`{action.name}`: {path} is outside the workspace")
        place, convention = append, ""
    if target.path is not None and path.resolve() == target.path.resolve():
        return Destination(path, target.doc, True, place, True), convention
    found = read_file(path)
    doc = found if found is not None else Document.from_text("", path=str(path))
    return Destination(path, doc, found is not None, place, False), convention


@dataclass(frozen=True, slots=True)
class PreparedRun:
    prepared: PreparedTask
    reader: EditReader | None
    destination: Destination | None


def prepare_defined(
    action: ActionDef,
    target: Target,
    inputs: Inputs,
    *,
    context_budget: int,
    read_file: ReadFile = read_from_disk,
) -> PreparedRun:
    """The Task for `action` on `target` and the reader its answers go through."""
    check_applicable(action, target, inputs)
    config = action.config
    span = _selected_lines(target) if config.requires == "selection" else None
    ctx = build_context(target.doc, span or (target.start, target.end), context_budget)
    dest, convention = (
        destination(action, target, inputs, read_file)
        if config.output == "new_file"
        else (None, "")
    )
    values = _values(target, ctx, inputs, span, convention)
    system = fill(config.system or _SYSTEMS[config.output], values)
    prompt = fill(config.prompt, values)
    # what comes before the template's first per-request variable repeats across requests
    # about this file: with the code context in it, worth the providers' prompt caches
    stable = stable_head(config.prompt)
    head = fill(stable, values) if uses(stable, "context") else ""
    code = values["code"]
    language = ctx.language
    pieces = [values["selection"], values["diagnostics"], inputs.input or ""]
    context_hash = ""
    if uses(config.prompt, "context") or uses(config.system or "", "context"):
        context_hash = normalized_code_key(language, ctx.text)[:32]
    if dest is not None and dest.in_source:  # tests inside the file: the file is the context
        context_hash = normalized_code_key(language, target.doc.text)[:32]
    task = Task(
        action=action.task,
        name=action.name,
        system=system,
        prompt=prompt,
        language=language,
        unit=ctx.unit,
        context_tokens=estimate_tokens(system + prompt, language),
        file_tokens=ctx.file_tokens,
        max_output_tokens=config.max_tokens or output_budget(action.task, ctx.target_tokens),
        private=target.private,
        cache_key=content_key(
            language, code, "\x00".join(pieces), comments=config.output != "show"
        ),
        model_pin=inputs.model_pin or config.model,
        source_path=str(target.path) if target.path else target.doc.uri,
        extra={"template": f"{action.name}@{action.version}", "context_hash": context_hash},
        prompt_prefix=len(head),
    )
    prepared = PreparedTask(task, ctx)
    return PreparedRun(prepared, _reader(action, target, ctx, inputs, span, dest), dest)


def _selected_lines(target: Target) -> tuple[int, int]:
    data = target.doc.data
    end = max(target.start, target.end - 1)  # a selection ending at a line start ends before it
    return line_start(data, target.start), line_end(data, end)


def _values(
    target: Target,
    ctx: CodeContext,
    inputs: Inputs,
    span: tuple[int, int] | None,
    convention: str,
) -> dict[str, str]:
    values = listing_values(target.doc, target.unit(), target.path, inputs.root)
    values["language"] = ctx.language
    selection = target.doc.data[target.start : target.end].decode("utf-8", "replace")
    code = ctx.target.rstrip("\r\n")
    if span is not None:
        code = target.doc.data[span[0] : span[1]].decode("utf-8", "replace").rstrip("\r\n")
    fixable = [d.render() for d in inputs.diagnostics if d.fixable]
    values.update(
        code=code,
        selection=selection,
        context=ctx.text if ctx.text != ctx.target else "(no other code in the file)",
        diagnostics="\n".join(fixable) or "(none)",
        input=inputs.input or "",
        convention=convention,  # built-in Write tests only
    )
    if not values["unit"]:
        values["unit"] = ctx.unit or "the code"
    return values


def _reader(
    action: ActionDef,
    target: Target,
    ctx: CodeContext,
    inputs: Inputs,
    span: tuple[int, int] | None,
    dest: Destination | None,
) -> EditReader | None:
    config = action.config
    output = config.output
    if output == "show":
        return None
    if dest is not None:
        return PlacedReader(file_scope(dest.doc, action.name), dest.place)
    check: Literal["document", "refactor"] = "document" if action.task == "document" else "refactor"
    instruction = None if action.builtin else _instruction(config.prompt, inputs)
    unit = target.unit()
    if span is not None:  # the selected lines, whatever unit they are in
        scope = Scope(check, target.doc, None, span, Rules.from_instruction(instruction))
    else:
        if check == "document" and (unit is None or unit.kind == "region"):
            raise ActionError("put the cursor in a function, method or class to document it")
        scope = edit_scope(check, target, ctx, instruction)
    scope = replace(scope, name=action.name)
    if output == "replace":
        return EditReader(scope)
    if unit is None:
        raise ActionError(f"`{action.name}` inserts next to a unit: put the cursor in one")
    where: Literal["above", "below"] = "above" if output == "insert_above" else "below"
    return PlacedReader(insert_scope(scope, unit, where), next_to_unit(where))


def _instruction(prompt: str, inputs: Inputs) -> str:
    """What the author asked for, for the refactor rules (may it rename? add helpers?): the
    prompt without its variables (which hold code), and the user's input."""
    return f"{fill(prompt, {})} {inputs.input or ''}".strip()


async def run_defined(
    gateway: Gateway,
    action: ActionDef,
    target: Target,
    inputs: Inputs = Inputs(),
    *,
    encoding: PositionEncoding = DEFAULT_ENCODING,
    on_event: Callable[[GatewayEvent], None] | None = None,
    read_file: ReadFile = read_from_disk,
) -> ActionResult:
    output_tokens = action.config.max_tokens or output_budget(action.task, 0)
    budget = gateway.context_budget(target.private, output_tokens)
    run = prepare_defined(action, target, inputs, context_budget=budget, read_file=read_file)
    outcome = await ask(gateway, run.prepared.task, run.reader, on_event)
    result = ActionResult(action.task, outcome, run.prepared, name=action.name)
    if run.reader is None:
        return replace(result, markdown=outcome.text.strip())
    edited = accepted(run.reader, outcome, action.name)
    dest = run.destination
    if dest is not None and not dest.in_source:
        edits = diff_edits(dest.doc.text, edited.text, encoding)
        file_edit = FileEdit(dest.path, dest.doc, dest.exists, tuple(edits), edited.text)
        return replace(result, file_edit=file_edit)
    edits = diff_edits(target.doc.text, edited.text, encoding)
    span = (edited.candidate.start, edited.candidate.end)
    return replace(result, edits=tuple(edits), new_text=edited.text, edited_span=span)
