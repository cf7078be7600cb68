"""Defined actions in the editor (custom ones, Fix, Write tests): listed with the built-ins,
run by `codeAction/resolve` or the `magray.run` command through `running.run` — the same
progress, stream, status and rebasing path as the built-ins.

Fix is listed only when the request's `context.diagnostics` hold a warning or an error that
overlaps the range. An action using `{input}` asks the client with a `magray/input` request
(`{action, title, prompt}` → a string, or null when the user cancelled). Code for another file
(`new_file`, Write tests) becomes a `CreateFile` (when the file is missing) and a `TextEdit`
appending to it; a destination open in the editor is edited at its current version, carried
through the user's typing like every other edit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcException, JsonRpcMethodNotFound

from magray_lsp.actions.defined import Diagnostic, Inputs, listing_values, read_from_disk
from magray_lsp.actions.definitions import ActionDef, action_set
from magray_lsp.actions.perform import FileEdit
from magray_lsp.actions.tasks import MAX_OUTPUT_TOKENS
from magray_lsp.config.templates import uses
from magray_lsp.context.document import Document, valid_text
from magray_lsp.context.edits import TextEditSpec
from magray_lsp.errors import MagrayError
from magray_lsp.gateway import Gateway
from magray_lsp.lsp.offers import Offer, cost_suffix, spot
from magray_lsp.lsp.rebasing import rebased_edit, relocate, workspace_edit
from magray_lsp.lsp.running import Ran, run
from magray_lsp.task import Task

if TYPE_CHECKING:
    from magray_lsp.actions.perform import ActionResult
    from magray_lsp.actions.target import Target
    from magray_lsp.context.parse_cache import Mark
    from magray_lsp.gateway import GatewayEvent
    from magray_lsp.lsp.core import MagrayServer

INPUT_METHOD = "magray/input"
NO_INPUT = (
    "this editor does not answer magray/input requests, which `{name}` needs for its "
    "{{input}}: use the magray VS Code extension or Neovim plugin, or pass the input in the "
    'command\'s arguments (`magray.run` with {{"action": "{name}", "input": "..."}})'
)
_SEVERITY = {1: "error", 2: "warning", 3: "information", 4: "hint"}
_converter = get_converter()


class Cancelled(MagrayError):
    """The user dismissed the input box: nothing to do, nothing to report."""


# --- listing -------------------------------------------------------------------------------


def defined_offers(
    gateway: Gateway,
    doc: Document,
    span: tuple[int, int],
    rng: lsp.Range,
    diagnostics: Sequence[lsp.Diagnostic],
    *,
    private: bool,
    path: Path | None,
    root: Path | None,
) -> list[Offer]:
    """The defined actions that apply at `span` (no provider call, no parse awaited)."""
    start, end = span
    here = spot(doc, start, end)
    unit = here.unit if here.unit is not None and here.unit.kind != "region" else None
    values = listing_values(doc, unit, path, root)
    in_range = [
        d for d in diagnostics if _overlaps(d.range, rng) and _severity(d) in ("error", "warning")
    ]
    out = []
    rules = gateway.config.routing.rules
    suffixes: dict[tuple[object, ...], str] = {}  # actions routed alike share one plan
    for definition in action_set(gateway.catalog).actions.values():
        config = definition.config
        if not definition.offered_for(here.language):
            continue
        if (config.requires == "unit" and unit is None) or (
            config.requires == "selection" and end <= start
        ):
            continue
        if config.requires == "diagnostics" and not in_range:
            continue
        if config.output == "new_file" and path is None:
            continue  # nowhere to put the file (an untitled buffer)
        task = Task(
            action=definition.task,
            name=definition.name,
            system="",
            prompt="",
            language=here.language,
            context_tokens=here.tokens,
            max_output_tokens=config.max_tokens or MAX_OUTPUT_TOKENS[definition.task],
            private=private,
            model_pin=config.model,
        )
        own_rule = task.name if task.name in rules else ""
        routed = (task.action, task.max_output_tokens, task.model_pin, own_rule)
        if routed not in suffixes:
            suffixes[routed] = cost_suffix(gateway, task)
        extra: dict[str, object] | None = None
        if config.requires == "diagnostics" or uses(config.prompt, "diagnostics"):
            extra = {"diagnostics": [_converter.unstructure(d) for d in in_range]}
        title = definition.title(values, here.label)
        out.append(
            Offer(
                definition.name,
                f"{title} — {suffixes[routed]}",
                definition.kind,
                here.unit.qualified_name if here.unit else "",
                here.unit.kind if here.unit is not None and here.unit.name else "",
                defined=True,
                extra=extra,
            )
        )
    return out


def _overlaps(a: lsp.Range, b: lsp.Range) -> bool:
    def pos(p: lsp.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return pos(a.start) <= pos(b.end) and pos(b.start) <= pos(a.end)


def _severity(d: lsp.Diagnostic) -> str:
    # no severity: the client decides, and clients show it as an error
    return _SEVERITY.get(int(d.severity), "error") if d.severity is not None else "error"


def listed_actions(ls: MagrayServer, uri: str | None) -> list[dict[str, Any]]:
    """`magray.listActions`: the actions of `uri`'s workspace folder (the first folder's
    without one), for a client's picker or completion."""
    runtime = ls.runtime_for(uri)[0] if uri else ls.workspaces.for_path(None)
    if uri is None and ls.workspaces.folders:
        runtime = next(iter(ls.workspaces.folders.values()))
    doc = ls.parses.peek(uri) if uri else None
    language = doc.language.name if doc is not None and doc.language else None
    return [
        {
            "name": a.name,
            "title": a.config.title or "",
            "output": a.output,
            "requires": a.config.requires,
            "kind": a.kind,
            "origin": a.origin,
            "builtin": a.builtin,
            "input": a.needs_input,
        }
        for a in action_set(runtime.gateway.catalog).actions.values()
        if language is None or a.offered_for(language)
    ]


# --- running -------------------------------------------------------------------------------


def diagnostics_from(raw: object) -> tuple[Diagnostic, ...]:
    """LSP diagnostics (as JSON) from an action's data or a command's arguments."""
    if not isinstance(raw, list):
        return ()
    out = []
    for item in raw[:50]:
        try:
            d = _converter.structure(item, lsp.Diagnostic)
        except Exception:  # not a diagnostic: ignore it rather than refuse the whole action
            continue
        code = "" if d.code is None else str(d.code)
        out.append(
            Diagnostic(
                valid_text(d.message)[:2000],
                d.range.start.line,
                _severity(d),  # type: ignore[arg-type]
                code[:100],
                valid_text(d.source or "")[:100],
            )
        )
    return tuple(out)


@dataclass
class EditorFiles:
    """Reads a destination file from the editor when it is open there (holding that snapshot
    until the edit is sent), else from disk."""

    ls: MagrayServer
    held: dict[str, tuple[Mark, Document]] = field(default_factory=dict)

    def read(self, path: Path) -> Document | None:
        for uri in dict.fromkeys((path.as_uri(), path.resolve().as_uri())):
            doc = self.ls.parses.peek(uri)
            if doc is not None:
                mark = self.ls.parses.hold(uri, doc)
                if mark is not None:
                    self.held[str(path)] = (mark, doc)
                return doc
        return read_from_disk(path)

    def release(self) -> None:
        for mark, doc in self.held.values():
            self.ls.parses.release(doc.uri, mark)
        self.held.clear()


async def run_defined_action(ls: MagrayServer, data: dict[str, Any]) -> tuple[Ran, ActionDef]:
    """Run the defined action `data["action"]` on `{uri, range}` (with the listing's mark,
    diagnostics and input when given); MagrayError or ActionError say why not."""
    from magray_lsp.actions.defined import run_defined

    name, uri, rng = _target(ls, data)
    runtime, _path = ls.runtime_for(uri)
    definition = action_set(runtime.gateway.catalog).get(name)
    if definition is None:
        known = ", ".join(action_set(runtime.gateway.catalog).actions)
        raise MagrayError(f"no action named `{name}` here (defined: {known})")
    given = data.get("input")
    text = valid_text(given) if isinstance(given, str) else None
    if text is None and definition.needs_input:
        text = await ask_input(ls, definition)
    inputs = Inputs(diagnostics_from(data.get("diagnostics")), text, runtime.root)
    rng, unit = relocate(ls.parses, uri, rng, data, ls.encoding)
    files = EditorFiles(ls)

    async def perform(
        gateway: Gateway, target: Target, on_event: Callable[[GatewayEvent], None]
    ) -> ActionResult:
        return await run_defined(
            gateway,
            definition,
            target,
            inputs,
            encoding=ls.encoding,
            on_event=on_event,
            read_file=files.read,
        )

    try:
        ran = await run(ls, name, uri, rng, None, unit=unit, perform=perform)
        if ran.result.file_edit is not None:
            ran = _with_file_edit(ls, ran, ran.result.file_edit, files)
    finally:
        files.release()
    return ran, definition


def _target(ls: MagrayServer, data: dict[str, Any]) -> tuple[str, str, lsp.Range]:
    name, uri, raw_range = data.get("action"), data.get("uri"), data.get("range")
    if not isinstance(name, str) or not name:
        raise MagrayError('expected arguments [{"action": NAME, "uri": ..., "range": ...}]')
    if not isinstance(uri, str) or not uri:
        raise MagrayError(f'`{name}`: expected arguments [{{"action", "uri", "range"}}]')
    try:
        origin = {"line": 0, "character": 0}
        rng = _converter.structure(raw_range or {"start": origin, "end": origin}, lsp.Range)
    except Exception:
        raise MagrayError(f"not an LSP range: {str(raw_range)[:100]}") from None
    return name, uri, rng


async def ask_input(ls: MagrayServer, definition: ActionDef) -> str:
    """The user's `{input}`, asked with a `magray/input` request."""
    title = definition.config.title or definition.name
    params = {
        "action": definition.name,
        "title": f"magray: {title.replace('{unit}', '').strip() or definition.name}",
        "prompt": f"Input for `{definition.name}`",
    }
    try:
        answer = await ls.protocol.send_request_async(INPUT_METHOD, params)
    except JsonRpcMethodNotFound:
        raise MagrayError(NO_INPUT.format(name=definition.name)) from None
    except JsonRpcException as exc:
        raise MagrayError(f"{INPUT_METHOD} failed: {exc}") from None
    if answer is None:
        raise Cancelled(f"`{definition.name}` cancelled")
    if not isinstance(answer, str):
        raise MagrayError(f"{INPUT_METHOD}: expected text or null, got {type(answer).__name__}")
    return valid_text(answer)


def _with_file_edit(ls: MagrayServer, ran: Ran, edit: FileEdit, files: EditorFiles) -> Ran:
    """`ran` with the new file's changes (and the source's, if any) as one WorkspaceEdit."""
    uri = edit.snapshot.uri or edit.path.resolve().as_uri()
    changes: list[lsp.TextDocumentEdit | lsp.CreateFile | lsp.RenameFile | lsp.DeleteFile] = []
    held = files.held.get(str(edit.path))
    if held is not None:  # open in the editor: at its newest version, or refused
        mark, doc = held
        end = len(doc.data)
        opened = rebased_edit(ls.parses, doc.uri, mark, doc, edit.edits, (end, end), ls.encoding)
        changes.extend(opened.document_changes or ())
    else:
        if not edit.exists:
            _require_create(ls, edit.path)
            changes.append(
                lsp.CreateFile(uri=uri, options=lsp.CreateFileOptions(ignore_if_exists=True))
            )
        changes.extend(_unversioned(uri, edit.edits))
    if ran.edit is not None and ran.edit.document_changes:
        changes.extend(ran.edit.document_changes)
    return Ran(ran.result, ran.target, lsp.WorkspaceEdit(document_changes=changes))


def _unversioned(uri: str, edits: Sequence[TextEditSpec]) -> list[lsp.TextDocumentEdit]:
    """Edits of a file the editor does not have open (version null: the file on disk)."""
    made = workspace_edit(uri, 0, edits).document_changes or []
    out = []
    for change in made:
        if isinstance(change, lsp.TextDocumentEdit):
            doc_id = lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None)
            out.append(lsp.TextDocumentEdit(text_document=doc_id, edits=change.edits))
    return out


def _require_create(ls: MagrayServer, path: Path) -> None:
    caps = ls.client_capabilities.workspace
    edit_caps = caps.workspace_edit if caps else None
    operations = edit_caps.resource_operations or [] if edit_caps else []
    if not (edit_caps and edit_caps.document_changes) or lsp.ResourceOperationKind.Create not in (
        operations
    ):
        raise MagrayError(
            f"this editor cannot create files through LSP (workspaceEdit.resourceOperations "
            f"has no 'create'); create {path} and run the action again to append to it"
        )


def summary(ran: Ran) -> dict[str, Any]:
    """What `magray.run` answers besides applying the edit."""
    result = ran.result
    edits = len(result.edits) + (len(result.file_edit.edits) if result.file_edit else 0)
    out: dict[str, Any] = {"action": result.label, "requestId": result.outcome.request_id}
    if result.markdown:
        out["markdown"] = result.markdown
    else:
        out["edits"] = edits
    if result.file_edit is not None:
        out["file"] = str(result.file_edit.path)
        out["created"] = not result.file_edit.exists
    return out
