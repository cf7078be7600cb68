"""`workspace/executeCommand`: `magray.explain|document|refactor` and `magray.run` (an action
applied at once, for clients without code-action resolve), `magray.listActions`,
`magray.showUsage` (report or dashboard) and `magray.clearCache`."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from magray_lsp.actions.perform import ActionError
from magray_lsp.context.document import valid_text
from magray_lsp.errors import MagrayError
from magray_lsp.lsp import reports
from magray_lsp.lsp.code_actions import action_target
from magray_lsp.lsp.custom_actions import Cancelled, listed_actions, run_defined_action, summary
from magray_lsp.lsp.explanations import remember_explanation, show_explanation
from magray_lsp.lsp.rebasing import relocate
from magray_lsp.lsp.running import run

if TYPE_CHECKING:
    from magray_lsp.lsp.core import MagrayServer
    from magray_lsp.lsp.workspaces import WorkspaceRuntime
    from magray_lsp.task import Action


async def run_builtin(ls: MagrayServer, action: Action, args: tuple[Any, ...]) -> dict[str, Any]:
    """`magray.explain|document|refactor [{uri, range, instruction?}]`: the explanation is
    shown, an edit applied; the result says which, or why nothing happened."""
    try:
        uri, rng, instruction = command_args(ls, args)
        rng, unit = relocate(ls.parses, uri, rng, args[0], ls.encoding)
        ran = await run(ls, action, uri, rng, instruction, unit=unit)
    except (MagrayError, ActionError) as exc:
        ls.show_error(exc)
        return {"ok": False, "error": str(exc)}
    if action == "explain":
        markdown = remember_explanation(ls, ran, uri)
        await show_explanation(ls, markdown, ran.result.prepared.context.unit)
        # the ledger row's id: sent only after that row is committed (the gateway waits)
        return {"ok": True, "markdown": markdown, "requestId": ran.result.outcome.request_id}
    assert ran.edit is not None
    applied = await ls.workspace_apply_edit_async(
        lsp.ApplyWorkspaceEditParams(edit=ran.edit, label=f"magray: {action}")
    )
    return {"ok": bool(applied.applied), "edits": len(ran.result.edits)}


def command_args(ls: MagrayServer, args: tuple[Any, ...]) -> tuple[str, lsp.Range, str | None]:
    if not args or not isinstance(args[0], dict):
        raise MagrayError("expected arguments [{uri, range, instruction?}]")
    uri, rng, instruction = action_target(ls, args[0])
    if instruction is None and len(args) > 1 and isinstance(args[1], str):
        instruction = valid_text(args[1])
    return uri, rng, instruction


async def run_defined(ls: MagrayServer, args: tuple[Any, ...]) -> dict[str, Any]:
    """`magray.run [{action: NAME, uri, range, input?}]`: a defined action (Fix, Write tests,
    custom), its text shown or its edit applied."""
    try:
        if not args or not isinstance(args[0], dict):
            raise MagrayError('expected arguments [{"action": NAME, "uri", "range"}]')
        ran, _definition = await run_defined_action(ls, args[0])
    except Cancelled:
        return {"ok": False, "cancelled": True}
    except (MagrayError, ActionError) as exc:
        ls.show_error(exc)
        return {"ok": False, "error": str(exc)}
    out = {"ok": True, **summary(ran)}
    if ran.result.markdown:
        await show_explanation(ls, ran.result.markdown, ran.result.prepared.context.unit)
    elif ran.edit is not None:
        applied = await ls.workspace_apply_edit_async(
            lsp.ApplyWorkspaceEditParams(edit=ran.edit, label=f"magray: {ran.result.label}")
        )
        out["ok"] = bool(applied.applied)
    return out


def list_actions(ls: MagrayServer, args: tuple[Any, ...]) -> list[dict[str, Any]]:
    """`magray.listActions [{uri?}]`: the actions defined for that document's folder."""
    uri = args[0].get("uri") if args and isinstance(args[0], dict) else None
    return listed_actions(ls, uri if isinstance(uri, str) else None)


async def show_usage(ls: MagrayServer, args: tuple[Any, ...]) -> dict[str, Any]:
    """`magray.showUsage [{dashboard?}]`: the usage report shown, or the dashboard opened."""
    runtime = next(iter(ls.workspaces.folders.values()), None) or ls.workspaces.add(None)
    markdown = await asyncio.to_thread(reports.usage_markdown, runtime.gateway)
    if args and isinstance(args[0], dict) and args[0].get("dashboard"):
        return {"markdown": markdown, "url": await open_dashboard(ls, runtime)}
    await show_explanation(ls, markdown, "usage")
    return {"markdown": markdown}


async def open_dashboard(ls: MagrayServer, runtime: WorkspaceRuntime) -> str:
    """Serve the usage dashboard in this process (loopback, a free port; once) and ask the
    client to open it in a browser."""
    if ls.dashboard is None:
        from magray_lsp.dashboard.server import start_dashboard  # aiohttp.web: only when asked

        ls.dashboard = await start_dashboard(
            runtime.gateway.ledger.path,
            lambda: runtime.gateway.config.budget,
            team=lambda: runtime.gateway.config.team,
        )
    url = ls.dashboard.url
    caps = ls.client_capabilities.window
    if caps and caps.show_document and caps.show_document.support:
        await ls.window_show_document_async(lsp.ShowDocumentParams(uri=url, external=True))
    else:
        ls.window_show_message(
            lsp.ShowMessageParams(lsp.MessageType.Info, f"magray usage dashboard: {url}")
        )
    return url


async def clear_cache(ls: MagrayServer) -> dict[str, Any]:
    """`magray.clearCache`: every folder's cached answers and the hover memory."""
    removed = 0
    for runtime in list(ls.workspaces.folders.values()):
        if runtime.gateway.cache is not None:
            removed += await runtime.gateway.cache.clear()
    ls.explanations.clear()
    ls.window_show_message(
        lsp.ShowMessageParams(lsp.MessageType.Info, f"magray: cleared {removed} cached answers")
    )
    return {"removed": removed}
