"""Configuration in the editor: settings pulled and pushed, `.magray.toml` and prompt files
watched, folders added and removed; each change reloads the folder's runtime and publishes
its problems as diagnostics on the files they are in."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from magray_lsp.config.loader import WORKSPACE_FILE
from magray_lsp.lsp.paths import config_root, fs_path
from magray_lsp.lsp.workspaces import diagnostics_by_file

if TYPE_CHECKING:
    from magray_lsp.lsp.core import MagrayServer
    from magray_lsp.lsp.workspaces import WorkspaceRuntime


async def initialized(ls: MagrayServer, params: lsp.InitializedParams) -> None:
    """Watch the config files (when the client can), pull `workspace/configuration`, and show
    the problems of the folders' configurations."""
    caps = ls.client_capabilities.workspace
    watched = caps.did_change_watched_files if caps else None
    if watched and watched.dynamic_registration:
        watchers = [
            lsp.FileSystemWatcher(glob_pattern=f"**/{WORKSPACE_FILE}"),
            lsp.FileSystemWatcher(glob_pattern="**/.magray/actions/*.md"),
        ]
        await ls.client_register_capability_async(
            lsp.RegistrationParams(
                [
                    lsp.Registration(
                        id="magray-config",
                        method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                        register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers),
                    )
                ]
            )
        )
    if caps and caps.configuration:
        await pull_configuration(ls)
    for runtime in ls.workspaces.folders.values():
        publish_config_problems(ls, runtime)


async def pull_configuration(ls: MagrayServer) -> None:
    try:
        items = await ls.workspace_configuration_async(
            lsp.ConfigurationParams([lsp.ConfigurationItem(section="magray")])
        )
    except Exception as exc:  # the client may not answer; initializationOptions still apply
        ls.log(f"magray: workspace/configuration failed: {exc}")
        return
    if items and isinstance(items[0], dict) and items[0]:
        ls.settings = {**ls.settings, **items[0]}
        for root in [rt.root for rt in ls.workspaces.folders.values()]:
            await reload(ls, root)


async def did_change_configuration(
    ls: MagrayServer, params: lsp.DidChangeConfigurationParams
) -> None:
    settings = params.settings
    if isinstance(settings, dict) and isinstance(settings.get("magray"), dict):
        ls.settings = dict(settings["magray"])
        for root in [rt.root for rt in ls.workspaces.folders.values()]:
            await reload(ls, root)
    else:
        await pull_configuration(ls)


async def did_change_watched(ls: MagrayServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    roots = {root for c in params.changes if (root := config_root(c.uri)) is not None}
    for root in roots:
        if str(root) in ls.workspaces.folders:
            await reload(ls, root)


async def did_save(ls: MagrayServer, params: lsp.DidSaveTextDocumentParams) -> None:
    root = config_root(params.text_document.uri)
    if root is not None and str(root) in ls.workspaces.folders:
        await reload(ls, root)


def did_change_folders(ls: MagrayServer, params: lsp.DidChangeWorkspaceFoldersParams) -> None:
    for folder in params.event.removed:
        runtime = ls.workspaces.remove(fs_path(folder.uri))
        if runtime is not None:
            retire(ls, runtime)
    for folder in params.event.added:
        publish_config_problems(ls, ls.workspaces.add(fs_path(folder.uri)))


def publish_config_problems(ls: MagrayServer, runtime: WorkspaceRuntime) -> None:
    """Each config problem as a diagnostic on the file it is in (`.magray.toml`, a prompt
    file of a custom action); files whose problems are gone are cleared."""
    key = str(runtime.root or "")
    now = diagnostics_by_file(runtime)
    for path in ls.problem_files.get(key, set()) - set(now):
        now.setdefault(path, [])
    for path, diagnostics in now.items():
        ls.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=path.as_uri(), diagnostics=diagnostics)
        )
    ls.problem_files[key] = {path for path, found in now.items() if found}
    if runtime.error and not any(now.values()):
        ls.warn(f"configuration error: {runtime.error}")
    for message in runtime.unlocated:
        ls.warn(message)


async def reload(ls: MagrayServer, root: Path | None) -> None:
    runtime, replaced = ls.workspaces.reload(root)
    publish_config_problems(ls, runtime)
    if replaced is not None:
        retire(ls, replaced)
    ls.log(f"magray: configuration reloaded for {root or 'files outside workspace folders'}")


def retire(ls: MagrayServer, runtime: WorkspaceRuntime) -> None:
    """Close a replaced or removed folder's gateway once the requests still running on it
    have finished (closing it under them would fail them, or worse, close the ledger
    connection another thread is writing with)."""
    ls.keep(asyncio.ensure_future(runtime.retire()))
