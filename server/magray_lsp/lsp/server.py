"""The pygls language server: one short handler per LSP feature, each delegating to a module.

Listing code actions is instant (no provider call, no waiting on a parse). Running one reports
`$/progress`, streams text as `magray/stream`, and ends with a `magray/status` notification
carrying what it cost. Config lives per workspace folder and reloads on change.

Start-up: `initialize` is answered after importing little more than pygls (this module, `core`,
`startup`); the feature modules, and through them the rest of magray, are imported by the set-up
task that runs right after the reply (`startup.py`). Every other handler is `@after_setup` and
imports its module when it runs, which by then costs nothing.

| LSP                                   | module                             |
|---------------------------------------|------------------------------------|
| initialize, gating of every handler   | startup.py                         |
| initialized, configuration, watched   | configuration.py                   |
| files, folders, didSave               |                                    |
| didOpen, didChange, didClose          | documents.py                       |
| codeAction, codeAction/resolve        | code_actions.py (+ custom_actions) |
| executeCommand magray.*               | commands.py                        |
| hover                                 | explanations.py                    |
| shutdown (exit: stdio.py)             | core.py                            |
"""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types as lsp

from magray_lsp.lsp.core import MagrayServer
from magray_lsp.lsp.startup import after_setup, initialize, notification_after_setup

CODE_ACTION_OPTIONS = lsp.CodeActionOptions(
    code_action_kinds=["refactor.magray", "refactor.rewrite.magray", "quickfix.magray"],
    resolve_provider=True,
)


def create_server() -> MagrayServer:
    server = MagrayServer()
    server.feature(lsp.INITIALIZE)(initialize)

    # -- configuration and folders ------------------------------------------

    @server.feature(lsp.INITIALIZED)
    @notification_after_setup
    async def initialized(ls: MagrayServer, params: lsp.InitializedParams) -> None:
        from magray_lsp.lsp import configuration

        await configuration.initialized(ls, params)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @notification_after_setup
    async def did_change_configuration(
        ls: MagrayServer, params: lsp.DidChangeConfigurationParams
    ) -> None:
        from magray_lsp.lsp import configuration

        await configuration.did_change_configuration(ls, params)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    @notification_after_setup
    async def did_change_watched(ls: MagrayServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        from magray_lsp.lsp import configuration

        await configuration.did_change_watched(ls, params)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    @notification_after_setup
    def did_change_folders(ls: MagrayServer, params: lsp.DidChangeWorkspaceFoldersParams) -> None:
        from magray_lsp.lsp import configuration

        configuration.did_change_folders(ls, params)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    @notification_after_setup
    async def did_save(ls: MagrayServer, params: lsp.DidSaveTextDocumentParams) -> None:
        from magray_lsp.lsp import configuration

        await configuration.did_save(ls, params)

    # -- document sync ------------------------------------------------------

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    @notification_after_setup
    def did_open(ls: MagrayServer, params: lsp.DidOpenTextDocumentParams) -> None:
        from magray_lsp.lsp import documents

        documents.did_open(ls, params)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    @notification_after_setup
    def did_change(ls: MagrayServer, params: lsp.DidChangeTextDocumentParams) -> None:
        from magray_lsp.lsp import documents

        documents.did_change(ls, params)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @notification_after_setup
    def did_close(ls: MagrayServer, params: lsp.DidCloseTextDocumentParams) -> None:
        from magray_lsp.lsp import documents

        documents.did_close(ls, params)

    # -- code actions, commands, hover --------------------------------------

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, CODE_ACTION_OPTIONS)
    @after_setup
    def code_action(ls: MagrayServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        from magray_lsp.lsp import code_actions

        return code_actions.code_actions(ls, params)

    @server.feature(lsp.CODE_ACTION_RESOLVE)
    @after_setup
    async def resolve(ls: MagrayServer, action: lsp.CodeAction) -> lsp.CodeAction:
        from magray_lsp.lsp import code_actions

        return await code_actions.resolve(ls, action)

    @server.command("magray.explain")
    @after_setup
    async def explain_cmd(ls: MagrayServer, *args: Any) -> dict[str, Any]:
        from magray_lsp.lsp import commands

        return await commands.run_builtin(ls, "explain", args)

    @server.command("magray.document")
    @after_setup
    async def document_cmd(ls: MagrayServer, *args: Any) -> dict[str, Any]:
        from magray_lsp.lsp import commands

        return await commands.run_builtin(ls, "document", args)

    @server.command("magray.refactor")
    @after_setup
    async def refactor_cmd(ls: MagrayServer, *args: Any) -> dict[str, Any]:
        from magray_lsp.lsp import commands

        return await commands.run_builtin(ls, "refactor", args)

    @server.command("magray.run")
    @after_setup
    async def run_defined_cmd(ls: MagrayServer, *args: Any) -> dict[str, Any]:
        from magray_lsp.lsp import commands

        return await commands.run_defined(ls, args)

    @server.command("magray.listActions")
    @after_setup
    def list_actions(ls: MagrayServer, *args: Any) -> list[dict[str, Any]]:
        from magray_lsp.lsp import commands

        return commands.list_actions(ls, args)

    @server.command("magray.showUsage")
    @after_setup
    async def show_usage(ls: MagrayServer, *args: Any) -> dict[str, Any]:
        from magray_lsp.lsp import commands

        return await commands.show_usage(ls, args)

    @server.command("magray.clearCache")
    @after_setup
    async def clear_cache(ls: MagrayServer, *args: Any) -> dict[str, Any]:
        from magray_lsp.lsp import commands

        return await commands.clear_cache(ls)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @after_setup
    async def hover(ls: MagrayServer, params: lsp.HoverParams) -> lsp.Hover | None:
        from magray_lsp.lsp import explanations

        return await explanations.hover(ls, params)

    # -- leaving ------------------------------------------------------------

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls: MagrayServer, *args: Any) -> None:
        # Synchronous on purpose: pygls marks the server shut down only after this returns.
        # In-flight requests are cancelled here (their ledger rows say "cancelled"), not by
        # pygls: its loop over them breaks on a command in flight (see `cancel_requests`).
        ls.cancel_requests()
        ls.closing = asyncio.ensure_future(ls.close_all())

    return server
