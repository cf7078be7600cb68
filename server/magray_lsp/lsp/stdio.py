"""The stdio transport: Content-Length framing that no byte stream can take down.

pygls' own reader trusts its input: a huge declared length makes it allocate that much, an overlong
header line is buffered whole, an unparseable body gets no answer, and a header glued to junk is
missed, so every following message is lost. This loop differs in exactly those places:

- header lines are read at most ``MAX_HEADER_LINE`` bytes at a time (a longer line is junk);
- ``Content-Length`` is found anywhere in a line, so the stream re-synchronises on the next real
  header even when it follows junk without a newline;
- a body over ``MAX_MESSAGE_BYTES`` is read and thrown away in ``DISCARD_CHUNK`` pieces (memory
  stays bounded, the stream stays in sync) and answered with ``-32600`` and ``id: null``; stdio
  has no other way to refuse it, and dropping the connection would cost the user their session;
- a declared length bigger than what follows is read as declared, as the protocol says: the
  server waits for the rest (a client that lies about lengths desynchronises itself, not us);
- everything after framing (parse errors, envelope checks, dispatch) is ``MagrayProtocol``'s.

Leaving is bounded and loses no ledger row: on ``exit`` (or EOF) the loop waits up to
``EXIT_GRACE_SECONDS`` for ``close_all`` (started by ``shutdown``, or now) to finish, so the
gateways' ledger writers commit their last rows; then the process ends with the LSP exit code
(0 after ``shutdown``, 1 without). Stdin is read on a daemon thread of its own: a read still
blocked on a client that keeps stdin open cannot keep the process alive.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, cast

from pygls.io_ import StdoutWriter

from magray_lsp import event_loop

if TYPE_CHECKING:
    from pygls.protocol import JsonRPCProtocol

    from magray_lsp.lsp.protocol import MagrayProtocol

log = logging.getLogger(__name__)

#: The largest message read into memory. A `didOpen` carries the whole file (JSON-escaped), so
#: this stays well above `[limits] max_document_bytes`; bigger documents are skipped whole.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_HEADER_LINE = 8 * 1024
DISCARD_CHUNK = 1024 * 1024
#: how long `exit` waits for the gateways to close (their ledger writers' last commit)
EXIT_GRACE_SECONDS = 5.0
#: past this, the process ends even if something still holds it (a stuck worker thread)
EXIT_HARD_LIMIT_SECONDS = EXIT_GRACE_SECONDS + 10.0

_CONTENT_LENGTH = re.compile(rb"content-length:[ \t]*([^\r\n]*?)[ \t]*\r?\n\Z", re.IGNORECASE)


class Served(Protocol):
    """What this loop needs of the server it runs (`core.MagrayServer`), which passes itself
    in: its protocol, and how it shuts down and closes."""

    _stop_event: threading.Event | None
    closing: asyncio.Future[Any] | None

    @property
    def protocol(self) -> JsonRPCProtocol: ...

    def shutdown(self) -> None: ...

    def cancel_requests(self) -> None: ...

    def close_all(self) -> Coroutine[Any, Any, None]: ...


_Read = Callable[[int], bytes]
_Job = tuple[_Read, int, asyncio.AbstractEventLoop, "asyncio.Future[bytes]"]


class _BlockingReader:
    """Blocking reads of stdin on a daemon thread of its own, so the event loop never waits on
    them. Not an executor: its worker threads are joined at exit, and a read blocked on a client
    that keeps stdin open after `exit` would then hold the process forever."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def readline(self, limit: int) -> bytes:
        return await self._call(self._stream.readline, limit)

    async def read(self, n: int) -> bytes:
        return await self._call(self._stream.read, n)

    async def _call(self, op: _Read, arg: int) -> bytes:
        loop = asyncio.get_running_loop()
        result: asyncio.Future[bytes] = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="magray-stdin", daemon=True)
            self._thread.start()
        self._jobs.put((op, arg, loop, result))
        return await result

    def _work(self) -> None:
        while True:
            op, arg, loop, result = self._jobs.get()
            error: Exception | None = None
            try:
                data = op(arg)
            except Exception as exc:  # handed to the awaiting coroutine
                data, error = b"", exc
            if not data:
                self._thread = None  # EOF or an error: this thread ends; a later call starts one
            try:
                loop.call_soon_threadsafe(_settle, result, data, error)
            except RuntimeError:
                return  # the loop is closed: the server is exiting
            if not data:
                return


def _settle(result: asyncio.Future[bytes], data: bytes, error: Exception | None) -> None:
    if result.done():  # the awaiting read was cancelled
        return
    if error is not None:
        result.set_exception(error)
    else:
        result.set_result(data)


def content_length(line: bytes) -> int | None:
    """The length a header line declares; None for other headers, junk or a malformed value."""
    match = _CONTENT_LENGTH.search(line)
    if match is None:
        return None
    value = match.group(1)
    return int(value) if value.isdigit() and len(value) <= 18 else None


async def read_messages(
    reader: _BlockingReader,
    protocol: MagrayProtocol,
    stop: threading.Event,
    *,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> None:
    """Frame messages off ``reader`` until EOF or ``stop``; hand each body to the protocol."""
    length: int | None = None
    while not stop.is_set():
        line = await reader.readline(MAX_HEADER_LINE)
        if not line:
            return  # EOF: the client is gone
        if not line.endswith(b"\n"):
            continue  # a piece of an overlong line: junk (its tail may still end in a header)
        if line.strip():
            declared = content_length(line)
            if declared is not None:
                length = declared
            elif b"content-length" in line.lower():
                log.warning("ignoring a malformed header: %r", line[:100])
                length = None
            continue
        if length is None:
            continue  # a blank line with no length before it: nothing to read
        declared, length = length, None
        if declared > max_message_bytes:
            if not await _discard(reader, declared):
                return
            protocol.reject_oversized(declared, max_message_bytes)
            continue
        body = await reader.read(declared) if declared else b""
        if len(body) < declared:
            return  # EOF inside a body
        protocol.handle_body(body)


async def _discard(reader: _BlockingReader, n: int) -> bool:
    """Skip ``n`` bytes; False at EOF."""
    while n > 0:
        chunk = await reader.read(min(n, DISCARD_CHUNK))
        if not chunk:
            return False
        n -= len(chunk)
    return True


class _Channel(StdoutWriter):
    """pygls' stdout writer, except that once `exit` closed it, what requests still unwinding
    send (a late notification) is dropped: the client is gone, and each failed send would be
    logged as an error, and reported to the client, failing again."""

    def __init__(self, stdout: BinaryIO) -> None:
        super().__init__(stdout)
        self._out = stdout

    def write(self, data: bytes) -> None:
        if not self._out.closed:
            super().write(data)


def private_stdout() -> BinaryIO:
    """The protocol's own copy of stdout; fd 1 itself is pointed at stderr.

    Anything else that writes to fd 1 (a stray ``print``, a C library) would corrupt the
    protocol stream, and llama.cpp's model loading points fds 1 and 2 at /dev/null for a moment
    (``suppress_stdout_stderr``): every response sent meanwhile was lost and its client waited
    forever. The protocol writes to a duplicate of fd 1 that nobody else knows about.
    """
    sys.stdout.flush()
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def private_stdin() -> BinaryIO:
    """A reader of fd 0 that only the reading thread uses. At interpreter exit Python closes
    ``sys.stdin``, and would abort ("could not acquire lock ... daemon threads") if that reader's
    lock were held by a read still blocked in the daemon thread."""
    return os.fdopen(os.dup(0), "rb")


def serve_stdio(
    server: Served, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None
) -> int:
    """pygls' ``start_io`` with the framing above and a bounded, lossless exit, on the loop
    `event_loop` picks; the process exit code (LSP: 0 after ``shutdown``, 1 without)."""
    server._stop_event = stop = threading.Event()
    reader = _BlockingReader(stdin or private_stdin())
    server.protocol.set_writer(_Channel(stdout or private_stdout()))
    code = 1
    try:
        code = event_loop.run(_serve(server, reader, stop))
    except BrokenPipeError:
        log.error("connection to the client is lost; shutting down")
    except KeyboardInterrupt:
        code = 130
    finally:
        server.shutdown()
    return code


async def _serve(server: Served, reader: _BlockingReader, stop: threading.Event) -> int:
    protocol = cast("MagrayProtocol", server.protocol)
    return await until_exit(server, read_messages(reader, protocol, stop))


async def until_exit(server: Served, reading: Awaitable[None]) -> int:
    """Run ``reading`` (a message loop) until EOF or `exit`, then leave without losing a ledger
    row (`finish_closing`), in bounded time; the LSP exit code. Over stdio and TCP alike."""
    try:
        await reading
        code = 0 if cast("MagrayProtocol", server.protocol)._shutdown else 1  # EOF: client gone
    except SystemExit as exc:  # `exit`: pygls' handler calls sys.exit(0 or 1)
        code = exc.code if isinstance(exc.code, int) else 1
    _exit_anyway_after(EXIT_HARD_LIMIT_SECONDS, code)
    await finish_closing(server, EXIT_GRACE_SECONDS)
    return code


async def finish_closing(server: Served, grace: float) -> None:
    """Wait, at most ``grace`` seconds, for ``close_all`` (started by ``shutdown``; started here
    when the client left without one), so every ledger row is committed before the process ends;
    leaving ``asyncio.run`` any earlier would cancel the close halfway."""
    if server.closing is None:
        # no `shutdown`: cancel what is in flight, as it would have (each request records its
        # row as it unwinds), rather than let requests run past the client
        server.cancel_requests()
        server.closing = asyncio.ensure_future(server.close_all())
    try:
        await asyncio.wait_for(asyncio.shield(server.closing), grace)
    except TimeoutError:
        log.warning("closing did not finish within %.0f s; exiting anyway", grace)
    except Exception:
        log.exception("closing failed; exiting anyway")


def _exit_anyway_after(seconds: float, code: int) -> None:
    """End the process after ``seconds`` even if a worker thread (joined at interpreter exit)
    still holds it: an editor waiting on its server must not wait forever."""

    def force() -> None:
        log.error("still not exited %.0f s after `exit`; ending the process", seconds)
        logging.shutdown()
        os._exit(code)

    timer = threading.Timer(seconds, force)
    timer.daemon = True
    timer.start()
