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
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, BinaryIO, cast

from pygls.io_ import StdoutWriter

if TYPE_CHECKING:
    from magray_lsp.lsp.protocol import MagrayProtocol
    from magray_lsp.lsp.server import MagrayServer

log = logging.getLogger(__name__)

#: The largest message read into memory. A `didOpen` carries the whole file (JSON-escaped), so
#: this stays well above `[limits] max_document_bytes`; bigger documents are skipped whole.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_HEADER_LINE = 8 * 1024
DISCARD_CHUNK = 1024 * 1024

_CONTENT_LENGTH = re.compile(rb"content-length:[ \t]*([^\r\n]*?)[ \t]*\r?\n\Z", re.IGNORECASE)


class _BlockingReader:
    """Blocking reads of stdin, run on a worker thread so the event loop never waits on them."""

    def __init__(self, stream: BinaryIO, executor: ThreadPoolExecutor | None) -> None:
        self._stream = stream
        self._executor = executor

    async def readline(self, limit: int) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._stream.readline, limit)

    async def read(self, n: int) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._stream.read, n)


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


def serve_stdio(
    server: MagrayServer, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None
) -> None:
    """pygls' ``start_io`` with the framing above (same shutdown and exit behaviour)."""
    server._stop_event = stop = threading.Event()
    reader = _BlockingReader(stdin or sys.stdin.buffer, server.thread_pool)
    server.protocol.set_writer(StdoutWriter(stdout or private_stdout()))
    try:
        asyncio.run(read_messages(reader, cast("MagrayProtocol", server.protocol), stop))
    except BrokenPipeError:
        log.error("connection to the client is lost; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]
