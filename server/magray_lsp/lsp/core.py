"""The language server object: what every feature shares (documents, folders, settings) and
how the process leaves.

Imported before `initialize` is answered, so it names the rest of magray only for the type
checker; `startup.py` builds `parses` and `workspaces` right after the reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from magray_lsp import __version__
from magray_lsp.errors import MagrayError
from magray_lsp.lsp.paths import document_path
from magray_lsp.lsp.protocol import MagrayProtocol
from magray_lsp.lsp.stdio import serve_stdio

if TYPE_CHECKING:
    from magray_lsp.context.document import Document
    from magray_lsp.context.parse_cache import ParseCache
    from magray_lsp.context.positions import PositionEncoding
    from magray_lsp.dashboard.server import RunningDashboard
    from magray_lsp.lsp.workspaces import WorkspaceRuntime, Workspaces


class MagrayServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("magray-lsp", __version__, protocol_cls=MagrayProtocol)
        #: built by `startup.start_setup` (after `initialize` is answered); handlers wait for it
        self.parses: ParseCache
        self.workspaces: Workspaces
        #: the start-up task, set when it finishes, and why it failed (None: it did not)
        self.setup_task: asyncio.Future[None] | None = None
        self.setup_done = asyncio.Event()
        self.setup_error: str | None = None
        self.settings: dict[str, Any] = {}
        #: hover memory: (uri, unit kind, qualified name, normalized unit key) → markdown
        self.explanations: dict[tuple[str, str, str, str], str] = {}
        self.encoding: PositionEncoding = "utf-16"
        self.closing: asyncio.Future[Any] | None = None
        #: per document, the pending re-parse of a big file once typing pauses (documents.py)
        self.reparse_timers: dict[str, asyncio.TimerHandle] = {}
        #: re-parses and retiring gateways, awaited by `close_all`
        self.background: set[asyncio.Future[Any]] = set()
        #: the usage dashboard, started on the first `magray.showUsage {"dashboard": true}`
        self.dashboard: RunningDashboard | None = None
        #: per workspace folder, the files config problems were last published on
        self.problem_files: dict[str, set[Path]] = {}

    # -- leaving --------------------------------------------------------------

    async def close_all(self) -> None:
        """Close every gateway, the dashboard and background work (`shutdown`); a start-up still
        under way is finished first, so nothing it opens is left open."""
        closers: list[Awaitable[Any]] = []
        if self.setup_task is not None:
            await self.setup_done.wait()
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
        closers.extend(self.background)  # reparses and gateways replaced by a reload, retiring
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

    def keep(self, future: asyncio.Future[Any]) -> None:
        """Hold a reference to background work until it is done (`close_all` awaits it)."""
        self.background.add(future)
        future.add_done_callback(self.background.discard)

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

    def show_error(self, exc: Exception) -> None:
        self.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Error, f"magray: {exc}"))
