"""Code actions: listed at once for a range (built-in and defined ones), resolved lazily.

A listing never calls a provider and never waits on a parse (`offers.py` titles each action with
its model and estimate); it bookmarks the snapshot, so `resolve` can relocate the range through
the user's typing since (`rebasing.py`) and run the action on the same unit, or refuse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams

from magray_lsp.actions.perform import ActionError
from magray_lsp.context.document import valid_text
from magray_lsp.errors import MagrayError
from magray_lsp.lsp.custom_actions import Cancelled, defined_offers, run_defined_action
from magray_lsp.lsp.explanations import remember_explanation, show_explanation
from magray_lsp.lsp.offers import offers
from magray_lsp.lsp.rebasing import listing_data, relocate
from magray_lsp.lsp.running import run
from magray_lsp.privacy.policy import is_private
from magray_lsp.task import Action

if TYPE_CHECKING:
    from magray_lsp.lsp.core import MagrayServer

#: the built-in code actions (hover is not one: it has its own request)
ACTIONS: tuple[Action, ...] = ("explain", "document", "refactor")


def code_actions(ls: MagrayServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    """The actions for a range, at once: no provider call, no waiting on a parse. A client that
    resolves edits gets each action's data to resolve; others get a command to run."""
    uri = params.text_document.uri
    doc = ls.parses.peek(uri)
    if doc is None:
        return []
    runtime, path = ls.runtime_for(uri)
    caps = ls.client_capabilities.text_document
    if (reason := ls.too_large(doc, runtime)) is not None:
        # one visible, disabled entry says why instead of a menu that silently lacks magray
        if caps and caps.code_action and caps.code_action.disabled_support:
            note = lsp.CodeAction(f"magray: {reason}", kind="refactor.magray")
            note.disabled = lsp.CodeActionDisabled(reason=reason)
            return [note]
        return []
    private = is_private(path, runtime.root, runtime.gateway.config.privacy)
    start, end = ls.offsets(doc, params.range)
    only = [k for k in params.context.only or [] if isinstance(k, str)]
    resolves = bool(
        caps
        and caps.code_action
        and caps.code_action.resolve_support
        and "edit" in caps.code_action.resolve_support.properties
    )
    out = []
    listed: dict[str, Any] | None = None
    every = offers(runtime.gateway, doc, start, end, private=private)
    every += defined_offers(
        runtime.gateway,
        doc,
        (start, end),
        params.range,
        params.context.diagnostics,
        private=private,
        path=path,
        root=runtime.root,
    )
    for offer in every:
        if only and not any(offer.kind == k or offer.kind.startswith(k + ".") for k in only):
            continue
        if listed is None:  # this snapshot's changes are kept while the menu may be used
            listed = {"mark": ls.parses.bookmark(uri), "offsets": (start, end)}
        identity = (offer.unit_kind, offer.unit) if offer.unit_kind else None
        args = [
            {
                "uri": uri,
                "range": ls.protocol._converter.unstructure(params.range),
                **listing_data(listed["mark"], listed["offsets"], identity),
                **(offer.extra or {}),
                **({"action": offer.action} if offer.defined else {}),
            }
        ]
        action = lsp.CodeAction(title=offer.title, kind=offer.kind)
        if not resolves:
            action.command = lsp.Command(offer.title, offer.command, arguments=args)
        else:
            action.data = {**args[0], "action": offer.action, "version": doc.version}
        out.append(action)
    return out


async def resolve(ls: MagrayServer, action: lsp.CodeAction) -> lsp.CodeAction:
    """Run the chosen action: an edit comes back in `action.edit`; an explanation is shown."""
    data = action.data if isinstance(action.data, dict) else {}
    kind = data.get("action")
    if kind not in ACTIONS:
        if isinstance(kind, str) and kind:  # a defined action: Fix, Write tests, custom
            return await resolve_defined(ls, action, data)
        return action
    try:
        uri, rng, instruction = action_target(ls, data)
    except MagrayError as exc:  # not data this server made: the client's mistake
        raise JsonRpcInvalidParams(f"codeAction/resolve: {exc}") from None
    try:
        rng, unit = relocate(ls.parses, uri, rng, data, ls.encoding)
        ran = await run(ls, kind, uri, rng, instruction, unit=unit)
    except (MagrayError, ActionError) as exc:
        ls.show_error(exc)
        return action
    if kind == "explain":  # nothing to edit: choosing the action shows the explanation
        markdown = remember_explanation(ls, ran, data["uri"])
        await show_explanation(ls, markdown, ran.result.prepared.context.unit)
        return action
    action.edit = ran.edit
    return action


async def resolve_defined(
    ls: MagrayServer, action: lsp.CodeAction, data: dict[str, Any]
) -> lsp.CodeAction:
    try:
        ran, _definition = await run_defined_action(ls, data)
    except Cancelled:
        return action
    except (MagrayError, ActionError) as exc:
        ls.show_error(exc)
        return action
    if ran.result.markdown:
        await show_explanation(ls, ran.result.markdown, ran.result.prepared.context.unit)
    action.edit = ran.edit
    return action


def action_target(ls: MagrayServer, data: dict[str, Any]) -> tuple[str, lsp.Range, str | None]:
    """`{uri, range?, instruction?}` checked: a MagrayError names what is wrong."""
    uri, raw_range, instruction = data.get("uri"), data.get("range"), data.get("instruction")
    if not isinstance(uri, str) or not uri:
        raise MagrayError("expected arguments [{uri, range, instruction?}]")
    if instruction is not None and not isinstance(instruction, str):
        raise MagrayError("instruction must be a string")
    try:
        origin = {"line": 0, "character": 0}
        rng = ls.protocol._converter.structure(
            raw_range or {"start": origin, "end": origin}, lsp.Range
        )
    except Exception:
        raise MagrayError(f"not an LSP range: {str(raw_range)[:100]}") from None
    return uri, rng, valid_text(instruction) if instruction else None
