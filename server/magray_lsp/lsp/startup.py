"""Start-up after `initialize`: the rest of magray imported and each folder's runtime built in a
task of its own, and the gate every other handler waits at until that task is done.

`initialize` is answered after importing little more than pygls; the config, gateway, context
and action stack (as long again) is imported by `start_setup`'s task, which runs right after the
reply. Every other handler is `@after_setup` (or `@notification_after_setup`): it waits for that
task, so none sees a half-built server, and a failed start-up is one error, not a hang.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from magray_lsp.errors import MagrayError
from magray_lsp.lsp.paths import fs_path

if TYPE_CHECKING:
    from pathlib import Path

    from magray_lsp.catalog import Catalog
    from magray_lsp.gateway import Gateway
    from magray_lsp.lsp.core import MagrayServer

log = logging.getLogger(__name__)


def initialize(ls: MagrayServer, params: lsp.InitializeParams) -> None:
    """Only cheap work: the result goes out when this returns; `start_setup` does the rest."""
    options = params.initialization_options
    if isinstance(options, dict):
        ls.settings = dict(options.get("magray", options))
    negotiated = str(ls.workspace.position_encoding or "utf-16")
    ls.encoding = negotiated if negotiated in ("utf-8", "utf-32") else "utf-16"  # type: ignore[assignment]
    folders = [fs_path(f.uri) for f in params.workspace_folders or []]
    if not folders and params.root_uri:
        folders = [fs_path(params.root_uri)]
    start_setup(ls, folders)


def start_setup(ls: MagrayServer, folders: list[Path]) -> None:
    """Import the rest of magray and build the folders' runtimes in a task of its own, so the
    `initialize` result (sent synchronously once its handler returns) goes out first."""
    if ls.setup_task is not None:
        log.warning("start-up already under way; ignoring folders %s", folders)
        return
    ls.setup_task = asyncio.ensure_future(_set_up(ls, folders))


async def _set_up(ls: MagrayServer, folders: list[Path]) -> None:
    try:
        # what the first requests need, imported now rather than while they wait
        import magray_lsp.lsp.code_actions
        import magray_lsp.lsp.commands
        import magray_lsp.lsp.configuration
        import magray_lsp.lsp.documents
        import magray_lsp.lsp.explanations  # noqa: F401
        from magray_lsp.context.parse_cache import ParseCache
        from magray_lsp.gateway import Gateway
        from magray_lsp.lsp.workspaces import Workspaces

        def open_gateway(catalog: Catalog, workspace: str) -> Gateway:
            return Gateway.open(catalog, workspace=workspace, on_warning=ls.warn)

        ls.parses = ParseCache(encoding=ls.encoding)  # negotiated by `initialize`
        ls.workspaces = Workspaces(settings=lambda: ls.settings, make_gateway=open_gateway)
        for folder in folders:
            ls.workspaces.add(folder)
    except Exception as exc:  # reported once here; every request then fails with it
        log.exception("magray start-up failed")
        ls.setup_error = f"{type(exc).__name__}: {exc}"
        ls.window_show_message(
            lsp.ShowMessageParams(
                lsp.MessageType.Error, f"magray: start-up failed: {ls.setup_error}"
            )
        )
    finally:
        ls.setup_done.set()


async def setup_finished(ls: MagrayServer) -> None:
    """Wait for the start-up task (starting it, folder-less, for a client that skipped
    `initialize`); raise MagrayError if it failed."""
    if ls.setup_task is None:
        start_setup(ls, [])
    await ls.setup_done.wait()
    if ls.setup_error is not None:
        raise MagrayError(f"magray could not start: {ls.setup_error}")


def after_setup(handler: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """A request `handler` run once start-up has finished (`setup_finished`); a request that
    arrives earlier waits, and fails with the reason if start-up failed."""
    return _gated(handler, notification=False)


def notification_after_setup(handler: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`after_setup` for a notification: if start-up failed it is dropped (the failure was
    shown once; an error per keystroke would only repeat it)."""
    return _gated(handler, notification=True)


def _gated(handler: Callable[..., Any], *, notification: bool) -> Callable[..., Awaitable[Any]]:
    # Always a coroutine: pygls runs each as a task, and tasks start in arrival order, so
    # notifications (didOpen, didChange…) are still applied in the order they were sent.
    @functools.wraps(handler)
    async def gated(ls: MagrayServer, *args: Any) -> Any:
        try:
            await setup_finished(ls)
        except MagrayError:
            if notification:
                return None
            raise
        result = handler(ls, *args)
        return await result if inspect.isawaitable(result) else result

    return gated
