"""A scriptable loopback HTTP server that protocol fakes build on.

Each fake runs a real aiohttp server on 127.0.0.1 in its own thread with its own event loop, so it
serves synchronous SDK clients, async clients in the test's loop, and language-server subprocesses
alike. Tests script what the next requests get (``fake.script(...)``); anything unscripted gets
``fake.default``. Every request and every connection is recorded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar, cast

from aiohttp import web

from tests.fakes.prompt_cache import PromptCache

# ---------------------------------------------------------------- behaviours


@dataclass
class Reply:
    """A successful answer. ``chunks`` overrides how ``text`` is split when streaming."""

    text: str = "This function adds two numbers."
    input_tokens: int = 11
    output_tokens: int = 7
    chunks: list[str] | None = None
    delay: float = 0.0  # before the response starts
    chunk_delay: float = 0.0  # between streamed chunks
    finish_reason: str = "stop"

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return self.chunks
        words = self.text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]


@dataclass
class Status:
    """An HTTP error in the protocol's own error shape (or ``body`` verbatim)."""

    code: int
    message: str = "error"
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    error_type: str | None = None


@dataclass
class Hang:
    """Accept the request and answer nothing for ``seconds`` (client sees a read timeout)."""

    seconds: float = 30.0


@dataclass
class Malformed:
    """200 OK with a body that is not valid for the protocol."""

    body: str = '{"this is": not json'


@dataclass
class CutStream:
    """Stream ``after`` chunks of ``reply`` then drop the connection without the end marker."""

    after: int = 2
    reply: Reply = field(default_factory=Reply)


@dataclass
class ContextTooLong:
    """The protocol's own "prompt too long for this model" error."""


@dataclass
class Drop:
    """Close the connection without any response."""


@dataclass
class Until:
    """``before`` for every request until ``time.monotonic()`` reaches ``deadline``, then
    ``after``: an outage (or a slow spell) that ends by itself, e.g. as ``fake.default``."""

    deadline: float
    before: Any  # a Behaviour
    after: Any = field(default_factory=Reply)

    def now(self) -> Any:
        return self.before if time.monotonic() < self.deadline else self.after


R = TypeVar("R", bound=Reply)

Behaviour = Reply | Status | Hang | Malformed | CutStream | ContextTooLong | Drop | Until | Any
# (protocol fakes add their own behaviour classes, hence `Any`)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    peer: str
    #: for streamed answers: "completed" or "disconnected" (the client went away mid-stream)
    stream_outcome: str | None = None


# Where a request's RecordedRequest travels from the handler to stream_lines().
RECORD_KEY = web.RequestKey("record", RecordedRequest)


# ---------------------------------------------------------------- server


class FakeServer:
    """Base class: subclasses add routes and render behaviours in their wire format."""

    name = "fake"

    def __init__(self) -> None:
        self.default: Behaviour = Reply()
        self._script: deque[Behaviour] = deque()
        self.requests: list[RecordedRequest] = []
        self.peers: set[str] = set()
        #: streams the client closed before the fake had sent everything
        self.client_disconnects = 0
        #: streams the fake completed
        self.completed_streams = 0
        #: streamed bodies whose end (after the last event) the fake wrote
        self.ended_bodies = 0
        #: when set, usage counts the real prompt and its cached part (`prompt_cache.py`);
        #: when None, a `Reply`'s scripted token counts are reported as they are
        self.prompt_cache: PromptCache | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.host = "127.0.0.1"

    # -- scripting --------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests, one each, in order."""
        with self._lock:
            self._script.extend(behaviours)

    def next_behaviour(self) -> Behaviour:
        with self._lock:
            behaviour = self._script.popleft() if self._script else self.default
        while isinstance(behaviour, Until):
            behaviour = behaviour.now()
        return behaviour

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.peers.clear()
            self.client_disconnects = 0
            self.completed_streams = 0
            self.ended_bodies = 0
            self.default = Reply()
            self.prompt_cache = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def connections(self) -> int:
        """Distinct TCP connections seen (one per client port)."""
        return len(self.peers)

    # -- lifecycle --------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def start(self, port: int = 0) -> Self:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve(port))
            except BaseException as exc:  # surfaced to start()'s caller
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name=f"{self.name}-fake", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    async def _serve(self, port: int) -> None:
        app = web.Application(middlewares=[self._record_middleware], client_max_size=64 * 2**20)
        self.routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        server = cast(asyncio.Server, site._server)
        self.port = server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- recording --------------------------------------------------------

    @web.middleware
    async def _record_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        peer_s = f"{peer[0]}:{peer[1]}" if peer else "?"
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = RecordedRequest(
            request.method,
            request.path,
            dict(request.query),
            {k.lower(): v for k, v in request.headers.items()},
            body,
            peer_s,
        )
        request[RECORD_KEY] = record  # stream_lines() notes how this request's stream ended
        with self._lock:
            self.peers.add(peer_s)
            self.requests.append(record)
        result: web.StreamResponse = await handler(request)
        return result

    # -- helpers for subclasses -------------------------------------------

    async def stream_lines(
        self,
        request: web.Request,
        lines: AsyncIterator[str] | list[str],
        *,
        content_type: str,
        cut_after: int | None = None,
        chunk_delay: float = 0.0,
    ) -> web.StreamResponse:
        """Write ``lines`` (already framed: SSE events or NDJSON lines) one network write each.

        ``cut_after`` drops the connection after that many writes (a stream cut mid-way).
        """
        resp = web.StreamResponse(status=200, headers={"Content-Type": content_type})
        sent = 0
        try:
            await resp.prepare(request)
            items = lines if isinstance(lines, list) else [x async for x in lines]
            for item in items:
                if cut_after is not None and sent >= cut_after:
                    if request.transport is not None:
                        request.transport.abort()
                    return resp
                if chunk_delay and sent:
                    await asyncio.sleep(chunk_delay)
                if request.transport is None or request.transport.is_closing():
                    raise ConnectionResetError("the client went away")  # seen without a write
                await resp.write(item.encode())
                sent += 1
            # Counted before the final flush: a client that has read everything may return (and
            # a test look at this counter) before write_eof() comes back here.
            self._stream_ended(request, "completed")
            await resp.write_eof()
            with self._lock:
                self.ended_bodies += 1  # the body's end is on its way to the client
        except ConnectionResetError:
            self._stream_ended(request, "disconnected")
            return resp
        except asyncio.CancelledError:
            self._stream_ended(request, "disconnected")
            raise
        return resp

    def _stream_ended(self, request: web.Request, outcome: str) -> None:
        record = request.get(RECORD_KEY)
        with self._lock:
            if outcome == "completed":
                self.completed_streams += 1
            else:
                self.client_disconnects += 1
            if isinstance(record, RecordedRequest) and record.stream_outcome is None:
                record.stream_outcome = outcome

    async def cut_json_body(self, request: web.Request, body: Any) -> web.StreamResponse:
        """Announce a whole JSON body (Content-Length), send half of it, drop the connection."""
        raw = json.dumps(body).encode()
        resp = web.StreamResponse(
            status=200,
            headers={"Content-Type": "application/json", "Content-Length": str(len(raw))},
        )
        await resp.prepare(request)
        await resp.write(raw[: len(raw) // 2])
        if request.transport is not None:
            request.transport.abort()
        return resp

    async def drop(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never reaches the client

    @staticmethod
    def json_response(
        body: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> web.Response:
        return web.json_response(body, status=status, headers=headers)


def as_reply(reply: Reply, cls: type[R], **changes: Any) -> R:
    """``reply`` as the protocol's own reply class ``cls``, with ``changes`` applied."""
    if isinstance(reply, cls):
        return dataclasses.replace(reply, **changes)
    values = {f.name: getattr(reply, f.name) for f in dataclasses.fields(Reply)}
    return cls(**{**values, **changes})


def sse(data: Any, event: str | None = None) -> str:
    """Frame one server-sent event."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n"
