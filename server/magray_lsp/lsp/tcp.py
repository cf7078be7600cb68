"""`serve --tcp`: pygls' ``start_tcp`` as a coroutine, so it runs on the loop `event_loop` picks
(pygls' own calls ``asyncio.run``, which makes asyncio's loop unless a deprecated event loop
policy says otherwise). One client, as in pygls; its `exit` ends the server the way it does over
stdio (`stdio.until_exit`): the gateways closed, the LSP exit code.

It waits for that client rather than in ``serve_forever``: on uvloop, closing the server does
not end ``serve_forever`` (asyncio's does), and the process would never leave."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING

from pygls.io_ import run_async

from magray_lsp.lsp.stdio import until_exit

if TYPE_CHECKING:
    from magray_lsp.lsp.core import MagrayServer

log = logging.getLogger(__name__)


async def serve_tcp(server: MagrayServer, host: str, port: int) -> int:
    """Listen on ``host:port`` until the client leaves; the exit code (0 after `shutdown`)."""
    stop = server._stop_event = threading.Event()
    left = asyncio.Event()
    code = 1

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal code
        server.protocol.set_writer(writer)
        messages = run_async(
            stop_event=stop,
            reader=reader,
            protocol=server.protocol,
            logger=log,
            error_handler=server.report_server_error,
        )
        try:
            code = await until_exit(server, messages)
        finally:
            writer.close()
            left.set()

    listening = await asyncio.start_server(connection, host, port)
    log.info("serving on %s", ", ".join(str(s.getsockname()) for s in listening.sockets))
    try:
        async with listening:  # stops listening on the way out
            await left.wait()
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]  # pygls' thread pool
    return code
