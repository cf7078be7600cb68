"""The pygls language server: every feature is a short handler that delegates.

Listing code actions is instant (no provider call, no waiting on a parse). Running one reports
`$/progress`, streams text as `magray/stream`, and ends with a `magray/status` notification
carrying what it cost. Config lives per workspace folder and reloads on change.

Start-up: `initialize` is answered after importing little more than pygls; the rest of magray
(config, gateway, context, actions: as long again) is imported and each folder's runtime built by
a task started right after (`MagrayServer.start_setup`). Every other handler is `@after_setup`:
it waits for that task, so none sees a half-built server. Hence the imports inside functions.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from magray_lsp import __version__
from magray_lsp.errors import MagrayError
from magray_lsp.lsp.protocol import MagrayProtocol
from magray_lsp.lsp.stdio import serve_stdio
from magray_lsp.task import Action

if TYPE_CHECKING:
    from magray_lsp.actions.perform import ActionResult
    from magray_lsp.actions.target import Target
    from magray_lsp.catalog import Catalog
    from magray_lsp.context.document import Document
    from magray_lsp.context.parse_cache import Mark, ParseCache
    from magray_lsp.context.positions import PositionEncoding
    from magray_lsp.context.units import Unit
    from magray_lsp.dashboard.server import RunningDashboard
    from magray_lsp.gateway import Gateway, GatewayEvent
    from magray_lsp.lsp.rebasing import UnitIdentity
    from magray_lsp.lsp.workspaces import WorkspaceRuntime, Workspaces

    #: runs an action on a target (a defined action's own pipeline); default: `run_action`
    Perform = Callable[[Gateway, Target, Callable[[GatewayEvent], None]], Awaitable[ActionResult]]

log = logging.getLogger(__name__)
ACTIONS: tuple[Action, ...] = ("explain", "document", "refactor")
EDIT_ACTIONS: tuple[Action, ...] = ("document", "refactor")


@dataclass(frozen=True, slots=True)
class Ran:
    """An action's result, the snapshot it was computed on (`target.doc`) and, for edits, the
    edit carried onto the newest version of the document (stamped with that version)."""

    result: ActionResult
    target: Target
    edit: lsp.WorkspaceEdit | None = None


def fs_path(uri: str) -> Path:
    path = to_fs_path(uri)
    if path is None:
        raise MagrayError(f"not a file URI: {uri}")
    return Path(path)


def document_path(uri: str) -> Path | None:
    """The file a document is, or is part of: a `file:` URI's path, a notebook cell's notebook;
    None for documents that have no file (untitled buffers and other virtual documents)."""
    if uri.startswith("file:"):
        return fs_path(uri)
    if uri.startswith("vscode-notebook-cell:"):
        notebook = "file:" + uri.split(":", 1)[1].split("#", 1)[0].split("?", 1)[0]
        path = to_fs_path(notebook)
        return Path(path) if path and Path(path).is_absolute() else None
    return None


class MagrayServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("magray-lsp", __version__, protocol_cls=MagrayProtocol)
        #: built by `start_setup` (after `initialize` is answered); handlers wait for it
        self.parses: ParseCache
        self.workspaces: Workspaces
        self._setup: asyncio.Future[None] | None = None
        self._setup_done = asyncio.Event()
        self._setup_error: str | None = None
        self.settings: dict[str, Any] = {}
        #: hover memory: (uri, unit kind, qualified name, normalized unit key) → markdown
        self.explanations: dict[tuple[str, str, str, str], str] = {}
        self.encoding: PositionEncoding = "utf-16"
        self.closing: asyncio.Future[Any] | None = None
        self._reparse_timers: dict[str, asyncio.TimerHandle] = {}
        self._background: set[asyncio.Future[Any]] = set()
        #: the usage dashboard, started on the first `magray.showUsage {"dashboard": true}`
        self.dashboard: RunningDashboard | None = None
        #: per workspace folder, the files config problems were last published on
        self._problem_files: dict[str, set[Path]] = {}

    def _gateway(self, catalog: Catalog, workspace: str) -> Gateway:
        from magray_lsp.gateway import Gateway

        return Gateway.open(catalog, workspace=workspace, on_warning=self.warn)

    # -- deferred start-up --------------------------------------------------

    def start_setup(self, folders: list[Path]) -> None:
        """Import the rest of magray and build the folders' runtimes in a task of its own, so the
        `initialize` result (sent synchronously once its handler returns) goes out first."""
        if self._setup is not None:
            log.warning("start-up already under way; ignoring folders %s", folders)
            return
        self._setup = asyncio.ensure_future(self._set_up(folders))

    async def _set_up(self, folders: list[Path]) -> None:
        try:
            # what the first request needs too, imported now rather than while it waits
            import magray_lsp.actions.perform
            import magray_lsp.lsp.offers
            import magray_lsp.lsp.reports
            import magray_lsp.lsp.status
            import magray_lsp.privacy.policy  # noqa: F401
            from magray_lsp.context.parse_cache import ParseCache
            from magray_lsp.lsp.workspaces import Workspaces

            self.parses = ParseCache(encoding=self.encoding)  # negotiated by `initialize`
            self.workspaces = Workspaces(settings=lambda: self.settings, make_gateway=self._gateway)
            for folder in folders:
                self.workspaces.add(folder)
        except Exception as exc:  # reported once here; every request then fails with it
            log.exception("magray start-up failed")
            self._setup_error = f"{type(exc).__name__}: {exc}"
            self.window_show_message(
                lsp.ShowMessageParams(
                    lsp.MessageType.Error, f"magray: start-up failed: {self._setup_error}"
                )
            )
        finally:
            self._setup_done.set()

    async def setup_finished(self) -> None:
        """Wait for `_set_up` (starting it, folder-less, for a client that skipped
        `initialize`); raise MagrayError if it failed."""
        if self._setup is None:
            self.start_setup([])
        await self._setup_done.wait()
        if self._setup_error is not None:
            raise MagrayError(f"magray could not start: {self._setup_error}")

    async def close_all(self) -> None:
        """Close every gateway, the dashboard and background work (`shutdown`); a start-up still
        under way is finished first, so nothing it opens is left open."""
        closers: list[Awaitable[Any]] = []
        if self._setup is not None:
            await self._setup_done.wait()
        # `shutdown` cancelled the requests in flight; each records its row ("cancelled") as it
        # unwinds, through the ledger writer that is about to close: let them finish first.
        futures: list[Any] = list(self.protocol._request_futures.values())
        if unwinding := [f for f in futures if isinstance(f, asyncio.Future) and not f.done()]:
            await asyncio.wait(unwinding)
        workspaces: Workspaces | None = getattr(self, "workspaces", None)  # None: never built
        if workspaces is not None:  # also after a failed start-up: close what it did open
            closers.extend(rt.gateway.aclose() for rt in workspaces.folders.values())
        if self.dashboard is not None:
            closers.append(self.dashboard.aclose())
        closers.extend(self._background)  # reparses and gateways replaced by a reload, retiring
        await asyncio.gather(*closers)

    def cancel_requests(self) -> None:
        """Cancel every request in flight but the one being handled (`shutdown`). Over a copy:
        cancelling a command's future runs the callback that removes it from the dict, which
        makes pygls' own loop (over the live dict) fail and leave the server not shut down."""
        current = self.protocol.msg_id
        for msg_id, future in list(self.protocol._request_futures.items()):
            if msg_id != current:
                future.cancel()

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
        # bounded, self-resynchronising framing and a lossless exit (lsp/stdio.py); the exit code
        return serve_stdio(self, stdin, stdout)

    # -- small helpers ------------------------------------------------------

    def warn(self, message: str) -> None:
        self.window_show_message(
            lsp.ShowMessageParams(lsp.MessageType.Warning, f"magray: {message}")
        )

    def log(self, message: str) -> None:
        self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Info, message))

    def runtime_for(self, uri: str) -> tuple[WorkspaceRuntime, Path | None]:
        """The runtime of the workspace folder `uri` belongs to, and its file path. A document
        without a path (untitled:, a diff view...) gets the strictest open folder's runtime,
        so a local-only folder's configuration and privacy apply to it."""
        path = document_path(uri)
        return self.workspaces.for_path(path), path

    def too_large(self, doc: Document, runtime: WorkspaceRuntime) -> str | None:
        """Why `doc` is over `[limits]` (it stays in sync, but magray leaves it alone), or None."""
        limits = runtime.gateway.config.limits
        if len(doc.data) > limits.max_document_bytes:
            size, cap = len(doc.data) / 2**20, limits.max_document_bytes / 2**20
            return f"file too large for magray ({size:.1f} MB > {cap:.1f} MB limit)"
        if (lines := doc.line_index.line_count) > limits.max_document_lines:
            return f"file too large for magray ({lines} lines > limits.max_document_lines)"
        return None

    def document(self, uri: str) -> Document:
        doc = self.parses.peek(uri)
        if doc is None:
            raise MagrayError(f"{uri} is not open in the editor")
        return doc

    def offsets(self, doc: Document, rng: lsp.Range) -> tuple[int, int]:
        from magray_lsp.context.positions import Position, Range

        ours = Range(
            Position(rng.start.line, rng.start.character), Position(rng.end.line, rng.end.character)
        )
        return doc.line_index.range_to_offsets(ours, self.encoding)

    def refresh_tree_soon(self, uri: str) -> None:
        """Big documents are not re-parsed on every keystroke; once typing pauses, bring the
        tree up to date in the background so listing (which never waits) names the unit."""
        doc = self.parses.peek(uri)
        if doc is None or doc.tree is not None:
            return
        if (timer := self._reparse_timers.pop(uri, None)) is not None:
            timer.cancel()

        def reparse() -> None:
            self._reparse_timers.pop(uri, None)
            task = asyncio.ensure_future(self.parses.get_document(uri))
            self._background.add(task)  # keep a reference until it is done
            task.add_done_callback(self._background.discard)

        self._reparse_timers[uri] = asyncio.get_running_loop().call_later(0.25, reparse)

    def publish_config_problems(self, runtime: WorkspaceRuntime) -> None:
        """Each config problem as a diagnostic on the file it is in (`.magray.toml`, a prompt
        file of a custom action); files whose problems are gone are cleared."""
        from magray_lsp.lsp.workspaces import diagnostics_by_file

        key = str(runtime.root or "")
        now = diagnostics_by_file(runtime)
        for path in self._problem_files.get(key, set()) - set(now):
            now.setdefault(path, [])
        for path, diagnostics in now.items():
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=path.as_uri(), diagnostics=diagnostics)
            )
        self._problem_files[key] = {path for path, found in now.items() if found}
        if runtime.error and not any(now.values()):
            self.warn(f"configuration error: {runtime.error}")
        for message in runtime.unlocated:
            self.warn(message)

    async def reload(self, root: Path | None) -> None:
        runtime, replaced = self.workspaces.reload(root)
        self.publish_config_problems(runtime)
        if replaced is not None:
            self.retire(replaced)
        self.log(f"magray: configuration reloaded for {root or 'files outside workspace folders'}")

    def retire(self, runtime: WorkspaceRuntime) -> None:
        """Close a replaced or removed folder's gateway once the requests still running on it
        have finished (closing it under them would fail them, or worse, close the ledger
        connection another thread is writing with)."""
        retiring = asyncio.ensure_future(runtime.retire())
        self._background.add(retiring)
        retiring.add_done_callback(self._background.discard)

    # -- running actions ----------------------------------------------------

    async def run(
        self,
        action: str,
        uri: str,
        rng: lsp.Range,
        instruction: str | None,
        work_done_token: lsp.ProgressToken | None = None,
        *,
        unit: UnitIdentity | None = None,
        perform: Perform | None = None,
    ) -> Ran:
        """Run `action` on `rng` of the newest version of `uri` (on `unit`, when given: the
        unit a listed action was offered for must still be there); `perform` runs a defined
        action (named `action`) instead of a built-in one."""
        from magray_lsp.actions.target import Target
        from magray_lsp.privacy.policy import is_private

        doc = self.document(uri)
        runtime, path = self.runtime_for(uri)
        if (reason := self.too_large(doc, runtime)) is not None:
            raise MagrayError(reason)
        private = is_private(path, runtime.root, runtime.gateway.config.privacy)
        start, end = self.offsets(doc, rng)
        first = self.parses.hold(uri)  # the version `rng` is in, until the tree is ready
        assert first is not None  # `doc` is the newest snapshot of an open document
        try:
            tree_doc = await self.parses.get_document(uri)  # waits for a big file's parse
            if tree_doc is None or self.parses.mark_of(uri, tree_doc) != self.parses.mark_of(uri):
                raise MagrayError("the document changed; try again")
            start, end = self._moved(uri, first, (start, end))  # typed while it parsed
            held = self.parses.hold(uri)  # the snapshot the edit will be computed on
            assert held is not None
        finally:
            self.parses.release(uri, first)
        target = Target(tree_doc, start, end, path, private)
        try:
            return await self._answer(
                action, uri, target, held, runtime, instruction, work_done_token, unit, perform
            )
        finally:
            self.parses.release(uri, held)

    def _moved(self, uri: str, mark: Mark, span: tuple[int, int]) -> tuple[int, int]:
        from magray_lsp.context.rebase import map_span

        history = self.parses.changes_since(uri, mark)
        if history is None:
            raise MagrayError("the document changed; try again")
        start, end, touched = map_span(history.changes, span)
        if touched:
            raise MagrayError("the document changed; try again")
        return start, end

    async def _answer(
        self,
        action: str,
        uri: str,
        target: Target,
        held: Mark,
        runtime: WorkspaceRuntime,
        instruction: str | None,
        work_done_token: lsp.ProgressToken | None,
        unit: UnitIdentity | None,
        perform: Perform | None,
    ) -> Ran:
        """Ask the gateway (streaming to the client), report the status, and carry an edit
        from the held snapshot `target.doc` onto the newest version."""
        from magray_lsp.actions.perform import run_action
        from magray_lsp.gateway import Fallback
        from magray_lsp.lsp.rebasing import ListingOutdated, rebased_edit
        from magray_lsp.lsp.status import STATUS_METHOD, STREAM_METHOD, status_payload
        from magray_lsp.providers.base import TextDelta

        if unit is not None:
            found = target.unit()
            if found is None or (found.kind, found.qualified_name) != unit:
                raise ListingOutdated(
                    f"the code changed since the code actions were listed: `{unit[1]}` is no "
                    "longer there; list them again"
                )
        request_id = uuid.uuid4().hex[:12]
        progress = await self._progress_begin(action, work_done_token)
        chunks = 0

        def on_event(event: GatewayEvent) -> None:
            nonlocal chunks
            if isinstance(event, TextDelta):
                chunks += 1
                self.protocol.notify(
                    STREAM_METHOD,
                    {
                        "id": request_id,
                        "action": action,
                        "uri": uri,
                        "delta": event.text,
                        "done": False,
                    },
                )
                if progress and chunks % 8 == 1:
                    self.work_done_progress.report(
                        progress, lsp.WorkDoneProgressReport(message=f"{chunks} chunks received")
                    )
            elif isinstance(event, Fallback):
                self.log(f"magray: {event.failed} failed ({event.error}); trying {event.next}")

        runtime.enter()
        try:
            if perform is not None:
                result = await perform(runtime.gateway, target, on_event)
            else:
                result = await run_action(
                    runtime.gateway,
                    cast("Action", action),
                    target,
                    instruction=instruction,
                    encoding=self.encoding,
                    on_event=on_event,
                )
        finally:
            runtime.leave()
            self.protocol.notify(
                STREAM_METHOD,
                {"id": request_id, "action": action, "uri": uri, "delta": "", "done": True},
            )
            if progress:
                self.work_done_progress.end(progress, lsp.WorkDoneProgressEnd(message="done"))
        outcome = result.outcome
        self.log(f"magray: {action} → {outcome.ref.label} ({outcome.route})")
        status = status_payload(outcome, action=action, local_only=target.private)
        self.protocol.notify(STATUS_METHOD, status)
        if outcome.fallback_from:
            self.warn(f"{outcome.fallback_from} failed; answered by {outcome.ref.label}")
        budget = runtime.gateway.budget_status()
        if budget.warn and outcome.cost_usd:
            self.warn(f"monthly spend {status['monthUsd']} of {status['budgetUsd']} USD budget")
        if action not in EDIT_ACTIONS and not result.edits:
            return Ran(result, target)
        # Right before it is sent: the newest version, and the edit carried onto it (or refused)
        guard = result.prepared.context.byte_span  # the unit's lines; and what was replaced:
        if result.edited_span is not None:
            guard = (min(guard[0], result.edited_span[0]), max(guard[1], result.edited_span[1]))
        edit = rebased_edit(self.parses, uri, held, target.doc, result.edits, guard, self.encoding)
        return Ran(result, target, edit)

    async def _progress_begin(
        self, action: str, token: lsp.ProgressToken | None
    ) -> lsp.ProgressToken | None:
        caps = self.client_capabilities.window
        if token is None:
            if not (caps and caps.work_done_progress):
                return None
            token = f"magray-{uuid.uuid4().hex[:8]}"
            try:
                await self.work_done_progress.create_async(token)
            except Exception:  # a client that refuses progress still gets the answer
                return None
        self.work_done_progress.begin(
            token,
            lsp.WorkDoneProgressBegin(
                title=f"magray: {action}", cancellable=True, message="routing…"
            ),
        )
        return token

    def remember_explanation(self, ran: Ran, uri: str) -> str:
        """The explanation's markdown, remembered for hover under the identity of the unit it
        explains in the snapshot it was computed on (not a byte span: the text moves)."""
        from magray_lsp.lsp.status import status_text

        result = ran.result
        ctx = result.prepared.context
        header = f"### `{ctx.unit}`\n\n" if ctx.unit else ""
        footer = status_text(result.outcome)
        markdown = f"{header}{result.markdown}\n\n---\n*{footer}*"
        unit = ran.target.unit()
        if unit is not None:
            self.explanations[explanation_key(uri, ran.target.doc, unit)] = markdown
        return markdown

    async def open_dashboard(self, runtime: WorkspaceRuntime) -> str:
        """Serve the usage dashboard in this process (loopback, a free port; once) and ask the
        client to open it in a browser."""
        if self.dashboard is None:
            from magray_lsp.dashboard.server import start_dashboard

            self.dashboard = await start_dashboard(
                runtime.gateway.ledger.path,
                lambda: runtime.gateway.config.budget,
                team=lambda: runtime.gateway.config.team,
            )
        url = self.dashboard.url
        caps = self.client_capabilities.window
        if caps and caps.show_document and caps.show_document.support:
            await self.window_show_document_async(lsp.ShowDocumentParams(uri=url, external=True))
        else:
            self.window_show_message(
                lsp.ShowMessageParams(lsp.MessageType.Info, f"magray usage dashboard: {url}")
            )
        return url

    async def show_explanation(self, markdown: str, unit: str) -> None:
        from magray_lsp.lsp import reports

        caps = self.client_capabilities.window
        if caps and caps.show_document and caps.show_document.support:
            folder = reports.output_dir()
            path = folder / f"explain-{(unit or 'selection').replace('/', '_')[:60]}.md"
            path.write_text(markdown, encoding="utf-8")
            await self.window_show_document_async(
                lsp.ShowDocumentParams(uri=path.as_uri(), take_focus=False)
            )
        else:
            self.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Info, markdown))


def config_root(uri: str) -> Path | None:
    """The folder whose configuration `uri` belongs to: `.magray.toml` or a prompt file
    `.magray/actions/NAME.md`; None for any other file."""
    if not uri.startswith("file:"):
        return None
    path = fs_path(uri)
    if path.name == ".magray.toml":
        return path.parent
    if (
        path.suffix == ".md"
        and path.parent.name == "actions"
        and path.parent.parent.name == (".magray")
    ):
        return path.parent.parent.parent
    return None


def explanation_key(uri: str, doc: Document, unit: Unit) -> tuple[str, str, str, str]:
    """Hover memory key: the unit's kind, qualified name and content (comment- and
    whitespace-insensitive), so an explanation never attaches to another unit."""
    from magray_lsp.context.normalize import normalized_unit_key

    return (uri, unit.kind, unit.qualified_name, normalized_unit_key(doc, unit))


def after_setup(handler: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """A request `handler` run once start-up has finished (`MagrayServer.setup_finished`); a
    request that arrives earlier waits, and fails with the reason if start-up failed."""
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
            await ls.setup_finished()
        except MagrayError:
            if notification:
                return None
            raise
        result = handler(ls, *args)
        return await result if inspect.isawaitable(result) else result

    return gated


def create_server() -> MagrayServer:
    server = MagrayServer()

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: MagrayServer, params: lsp.InitializeParams) -> None:
        # Only cheap work here: the result goes out when this returns; `start_setup` does the rest.
        options = params.initialization_options
        if isinstance(options, dict):
            ls.settings = dict(options.get("magray", options))
        negotiated = str(ls.workspace.position_encoding or "utf-16")
        ls.encoding = negotiated if negotiated in ("utf-8", "utf-32") else "utf-16"  # type: ignore[assignment]
        folders = [fs_path(f.uri) for f in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [fs_path(params.root_uri)]
        ls.start_setup(folders)

    @server.feature(lsp.INITIALIZED)
    @notification_after_setup
    async def initialized(ls: MagrayServer, params: lsp.InitializedParams) -> None:
        from magray_lsp.config.loader import WORKSPACE_FILE

        caps = ls.client_capabilities.workspace
        if (
            caps
            and caps.did_change_watched_files
            and caps.did_change_watched_files.dynamic_registration
        ):
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
            ls.publish_config_problems(runtime)

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
                await ls.reload(root)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @notification_after_setup
    async def did_change_configuration(
        ls: MagrayServer, params: lsp.DidChangeConfigurationParams
    ) -> None:
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get("magray"), dict):
            ls.settings = dict(settings["magray"])
            for root in [rt.root for rt in ls.workspaces.folders.values()]:
                await ls.reload(root)
        else:
            await pull_configuration(ls)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    @notification_after_setup
    async def did_change_watched(ls: MagrayServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        roots = {root for c in params.changes if (root := config_root(c.uri)) is not None}
        for root in roots:
            if str(root) in ls.workspaces.folders:
                await ls.reload(root)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    @notification_after_setup
    async def did_change_folders(
        ls: MagrayServer, params: lsp.DidChangeWorkspaceFoldersParams
    ) -> None:
        for folder in params.event.removed:
            runtime = ls.workspaces.remove(fs_path(folder.uri))
            if runtime is not None:
                ls.retire(runtime)
        for folder in params.event.added:
            ls.publish_config_problems(ls.workspaces.add(fs_path(folder.uri)))

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    @notification_after_setup
    def did_open(ls: MagrayServer, params: lsp.DidOpenTextDocumentParams) -> None:
        from magray_lsp.context.document import valid_text

        item = params.text_document
        text = valid_text(item.text)
        doc = ls.parses.open(item.uri, text, language_id=item.language_id, version=item.version)
        if (reason := ls.too_large(doc, ls.runtime_for(item.uri)[0])) is not None:
            ls.log(f"magray: {item.uri}: {reason}")

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    @notification_after_setup
    def did_change(ls: MagrayServer, params: lsp.DidChangeTextDocumentParams) -> None:
        from magray_lsp.context.document import valid_text
        from magray_lsp.context.positions import Position, Range

        uri, version = params.text_document.uri, params.text_document.version
        for change in params.content_changes:
            rng = None
            if isinstance(change, lsp.TextDocumentContentChangePartial):
                r = change.range
                rng = Range(
                    Position(r.start.line, r.start.character), Position(r.end.line, r.end.character)
                )
            ls.parses.apply_change(uri, rng, valid_text(change.text), version)
        ls.refresh_tree_soon(uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    @notification_after_setup
    async def did_save(ls: MagrayServer, params: lsp.DidSaveTextDocumentParams) -> None:
        root = config_root(params.text_document.uri)
        if root is not None and str(root) in ls.workspaces.folders:
            await ls.reload(root)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @notification_after_setup
    def did_close(ls: MagrayServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.parses.close(params.text_document.uri)

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(
            code_action_kinds=["refactor.magray", "refactor.rewrite.magray", "quickfix.magray"],
            resolve_provider=True,
        ),
    )
    @after_setup
    def code_action(ls: MagrayServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        from magray_lsp.lsp.custom_actions import defined_offers
        from magray_lsp.lsp.offers import offers
        from magray_lsp.lsp.rebasing import listing_data
        from magray_lsp.privacy.policy import is_private

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

    @server.feature(lsp.CODE_ACTION_RESOLVE)
    @after_setup
    async def resolve(ls: MagrayServer, action: lsp.CodeAction) -> lsp.CodeAction:
        from magray_lsp.actions.perform import ActionError
        from magray_lsp.lsp.rebasing import relocate

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
            ran = await ls.run(kind, uri, rng, instruction, unit=unit)
        except (MagrayError, ActionError) as exc:
            ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Error, f"magray: {exc}"))
            return action
        if kind == "explain":  # nothing to edit: choosing the action shows the explanation
            markdown = ls.remember_explanation(ran, data["uri"])
            await ls.show_explanation(markdown, ran.result.prepared.context.unit)
            return action
        action.edit = ran.edit
        return action

    async def resolve_defined(
        ls: MagrayServer, action: lsp.CodeAction, data: dict[str, Any]
    ) -> lsp.CodeAction:
        from magray_lsp.actions.perform import ActionError
        from magray_lsp.lsp.custom_actions import Cancelled, run_defined_action

        try:
            ran, _definition = await run_defined_action(ls, data)
        except Cancelled:
            return action
        except (MagrayError, ActionError) as exc:
            ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Error, f"magray: {exc}"))
            return action
        if ran.result.markdown:
            await ls.show_explanation(ran.result.markdown, ran.result.prepared.context.unit)
        action.edit = ran.edit
        return action

    @server.command("magray.run")
    @after_setup
    async def run_defined_cmd(ls: MagrayServer, *args: Any) -> dict[str, Any]:
        from magray_lsp.actions.perform import ActionError
        from magray_lsp.lsp.custom_actions import Cancelled, run_defined_action, summary

        try:
            if not args or not isinstance(args[0], dict):
                raise MagrayError('expected arguments [{"action": NAME, "uri", "range"}]')
            ran, _definition = await run_defined_action(ls, args[0])
        except Cancelled:
            return {"ok": False, "cancelled": True}
        except (MagrayError, ActionError) as exc:
            ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Error, f"magray: {exc}"))
            return {"ok": False, "error": str(exc)}
        out = {"ok": True, **summary(ran)}
        if ran.result.markdown:
            await ls.show_explanation(ran.result.markdown, ran.result.prepared.context.unit)
        elif ran.edit is not None:
            applied = await ls.workspace_apply_edit_async(
                lsp.ApplyWorkspaceEditParams(edit=ran.edit, label=f"magray: {ran.result.label}")
            )
            out["ok"] = bool(applied.applied)
        return out

    @server.command("magray.listActions")
    @after_setup
    def list_actions(ls: MagrayServer, *args: Any) -> list[dict[str, Any]]:
        from magray_lsp.lsp.custom_actions import listed_actions

        uri = args[0].get("uri") if args and isinstance(args[0], dict) else None
        return listed_actions(ls, uri if isinstance(uri, str) else None)

    def action_target(ls: MagrayServer, data: dict[str, Any]) -> tuple[str, lsp.Range, str | None]:
        """`{uri, range?, instruction?}` checked: a MagrayError names what is wrong."""
        from magray_lsp.context.document import valid_text

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

    def command_args(ls: MagrayServer, args: tuple[Any, ...]) -> tuple[str, lsp.Range, str | None]:
        if not args or not isinstance(args[0], dict):
            raise MagrayError("expected arguments [{uri, range, instruction?}]")
        uri, rng, instruction = action_target(ls, args[0])
        if instruction is None and len(args) > 1 and isinstance(args[1], str):
            from magray_lsp.context.document import valid_text

            instruction = valid_text(args[1])
        return uri, rng, instruction

    async def run_command(
        ls: MagrayServer, action: Action, args: tuple[Any, ...]
    ) -> dict[str, Any]:
        from magray_lsp.actions.perform import ActionError
        from magray_lsp.lsp.rebasing import relocate

        try:
            uri, rng, instruction = command_args(ls, args)
            rng, unit = relocate(ls.parses, uri, rng, args[0], ls.encoding)
            ran = await ls.run(action, uri, rng, instruction, unit=unit)
        except (MagrayError, ActionError) as exc:
            ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Error, f"magray: {exc}"))
            return {"ok": False, "error": str(exc)}
        if action == "explain":
            markdown = ls.remember_explanation(ran, uri)
            await ls.show_explanation(markdown, ran.result.prepared.context.unit)
            # the ledger row's id: sent only after that row is committed (the gateway waits)
            return {"ok": True, "markdown": markdown, "requestId": ran.result.outcome.request_id}
        assert ran.edit is not None
        applied = await ls.workspace_apply_edit_async(
            lsp.ApplyWorkspaceEditParams(edit=ran.edit, label=f"magray: {action}")
        )
        return {"ok": bool(applied.applied), "edits": len(ran.result.edits)}

    @server.command("magray.explain")
    @after_setup
    async def explain_cmd(ls: MagrayServer, *args: Any) -> dict[str, Any]:
        return await run_command(ls, "explain", args)

    @server.command("magray.document")
    @after_setup
    async def document_cmd(ls: MagrayServer, *args: Any) -> dict[str, Any]:
        return await run_command(ls, "document", args)

    @server.command("magray.refactor")
    @after_setup
    async def refactor_cmd(ls: MagrayServer, *args: Any) -> dict[str, Any]:
        return await run_command(ls, "refactor", args)

    @server.command("magray.showUsage")
    @after_setup
    async def show_usage(ls: MagrayServer, *args: Any) -> dict[str, Any]:
        from magray_lsp.lsp import reports

        runtime = next(iter(ls.workspaces.folders.values()), None) or ls.workspaces.add(None)
        markdown = await asyncio.to_thread(reports.usage_markdown, runtime.gateway)
        if args and isinstance(args[0], dict) and args[0].get("dashboard"):
            return {"markdown": markdown, "url": await ls.open_dashboard(runtime)}
        await ls.show_explanation(markdown, "usage")
        return {"markdown": markdown}

    @server.command("magray.clearCache")
    @after_setup
    async def clear_cache(ls: MagrayServer, *args: Any) -> dict[str, Any]:
        removed = 0
        for runtime in list(ls.workspaces.folders.values()):
            if runtime.gateway.cache is not None:
                removed += await runtime.gateway.cache.clear()
        ls.explanations.clear()
        ls.window_show_message(
            lsp.ShowMessageParams(lsp.MessageType.Info, f"magray: cleared {removed} cached answers")
        )
        return {"removed": removed}

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @after_setup
    async def hover(ls: MagrayServer, params: lsp.HoverParams) -> lsp.Hover | None:
        from magray_lsp.lsp.offers import unit_at

        uri = params.text_document.uri
        doc = ls.parses.peek(uri)
        if doc is None or doc.tree is None:
            return None
        offset = ls.offsets(doc, lsp.Range(params.position, params.position))[0]
        unit = unit_at(doc, offset, offset)
        if unit is None:
            return None
        known = ls.explanations.get(explanation_key(uri, doc, unit))
        if known is None:
            runtime, _ = ls.runtime_for(uri)
            if not runtime.gateway.config.hover.auto:
                return None  # never spend money on hover unless asked to
            known = await auto_hover(ls, uri, doc, unit.byte_span)
            if known is None:
                return None
        return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, known))

    async def auto_hover(
        ls: MagrayServer, uri: str, doc: Document, span: tuple[int, int]
    ) -> str | None:
        from magray_lsp.actions.perform import ActionError

        hovered = ls.parses.mark_of(uri, doc)
        await asyncio.sleep(0.3)  # debounce: a newer hover request cancels this one meanwhile
        if hovered is None or ls.parses.mark_of(uri) != hovered:
            return None  # typed meanwhile: `span` is of an older version
        start = doc.line_index.position_at(span[0], ls.encoding)
        cursor = lsp.Position(start.line, start.character)
        try:
            ran = await ls.run("hover", uri, lsp.Range(cursor, cursor), None)
        except (MagrayError, ActionError):
            return None
        return ls.remember_explanation(ran, uri)

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls: MagrayServer, *args: Any) -> None:
        # Synchronous on purpose: pygls marks the server shut down only after this returns.
        # In-flight requests are cancelled here (their ledger rows say "cancelled"), not by
        # pygls: its loop over them breaks on a command in flight (see `cancel_requests`).
        ls.cancel_requests()
        ls.closing = asyncio.ensure_future(ls.close_all())

    return server
