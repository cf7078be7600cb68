"""The end of a streamed body after the protocol's last event: the answer never waits for it.

OpenAI ends a stream with ``data: [DONE]``, Anthropic with ``message_stop``, Ollama with a
``"done": true`` line; a server may still hold the body open after that. The adapter hands the
Completion over at once; the connection goes back to the pool when the body's end comes, and is
closed when it does not come within ``DRAIN_SECONDS`` (so such a server cannot use up the
pool). Against loopback servers in the test's own loop that hold each body open until told.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from pydantic import SecretStr
from tests.helpers import wait_for

from magray_lsp.config.models import ProviderConfig
from magray_lsp.providers import _http, create_provider
from magray_lsp.providers.base import ChatRequest, Completion, Message, Provider, TextDelta


def _sse(data: object, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n"


_OPENAI_CHUNK = {
    "id": "c1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "gpt-4o-mini",
}
_OPENAI = [
    _sse(_OPENAI_CHUNK | {"choices": [{"index": 0, "delta": {"content": "held"}}]}),
    _sse(_OPENAI_CHUNK | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    _sse(_OPENAI_CHUNK | {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 1}}),
    "data: [DONE]\n\n",
]
_ANTHROPIC = [
    _sse(
        {
            "type": "message_start",
            "message": {"model": "claude-x", "usage": {"input_tokens": 5, "output_tokens": 1}},
        },
        "message_start",
    ),
    _sse(
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "held"},
        },
        "content_block_delta",
    ),
    _sse(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 1},
        },
        "message_delta",
    ),
    _sse({"type": "message_stop"}, "message_stop"),
]
_OLLAMA = [
    json.dumps({"model": "llama3.1", "message": {"role": "assistant", "content": "held"}}) + "\n",
    json.dumps(
        {
            "model": "llama3.1",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 5,
            "eval_count": 1,
        }
    )
    + "\n",
]


@dataclass(frozen=True)
class Wire:
    kind: str
    path: str
    base_path: str
    content_type: str
    lines: list[str]
    model: str


WIRES = [
    Wire("openai", "/v1/chat/completions", "/v1", "text/event-stream", _OPENAI, "gpt-4o-mini"),
    Wire("anthropic", "/v1/messages", "", "text/event-stream", _ANTHROPIC, "claude-x"),
    Wire("ollama", "/api/chat", "", "application/x-ndjson", _OLLAMA, "llama3.1"),
]


@dataclass
class HoldingServer:
    """Writes every event of ``wire``, then holds the body open until ``release`` is set (or
    forever, until the client closes the connection)."""

    wire: Wire
    release: asyncio.Event = field(default_factory=asyncio.Event)
    peers: list[int] = field(default_factory=list)
    ended: int = 0  # bodies whose end was written
    dropped: int = 0  # connections the client closed while the body was held open
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.peers.append(peer[1] if peer else 0)
        response = web.StreamResponse(headers={"Content-Type": self.wire.content_type})
        await response.prepare(request)
        for line in self.wire.lines:
            await response.write(line.encode())
        while not self.release.is_set():  # the last event is out; the body is not ended
            if request.transport is None or request.transport.is_closing():
                self.dropped += 1
                return response
            await asyncio.sleep(0.01)
        await response.write_eof()
        self.ended += 1
        return response


Serve = Callable[[Wire], Awaitable[HoldingServer]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    runners: list[web.AppRunner] = []

    async def start(wire: Wire) -> HoldingServer:
        server = HoldingServer(wire)
        app = web.Application()
        app.router.add_post(wire.path, server.handle)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        server.url = f"http://127.0.0.1:{runner.addresses[0][1]}{wire.base_path}"
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


def provider_for(server: HoldingServer, max_concurrency: int = 4) -> Provider:
    cfg = ProviderConfig(
        kind=server.wire.kind,
        api_key=SecretStr("sk-held"),
        base_url=server.url,
        timeout_seconds=5,
        max_concurrency=max_concurrency,
    )
    return create_provider(server.wire.kind, cfg)


async def answer(provider: Provider, model: str) -> tuple[str, Completion]:
    request = ChatRequest(model, (Message("user", "hi"),), max_tokens=10)
    text, done = "", None
    async for event in provider.generate(request):
        if isinstance(event, TextDelta):
            text += event.text
        else:
            done = event
    assert isinstance(done, Completion)
    return text, done


@pytest.mark.parametrize("wire", WIRES, ids=[w.kind for w in WIRES])
async def test_the_answer_does_not_wait_for_the_body_end(
    wire: Wire, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Completion arrives while the server still holds the body open (with a minute of
    grace for the body's end, waiting for it would fail here); once the server ends the body,
    the connection is back in the pool and the next request reuses it."""
    monkeypatch.setattr(_http, "DRAIN_SECONDS", 60.0)
    server = await serve(wire)
    provider = provider_for(server)
    try:
        text, done = await asyncio.wait_for(answer(provider, wire.model), 30)
        assert text == "held" and done.finish_reason == "stop"
        assert done.usage is not None and done.usage.input_tokens == 5
        assert not server.release.is_set() and server.ended == 0  # still held open
        server.release.set()
        await wait_for(lambda: server.ended == 1)
        await asyncio.sleep(0.05)  # the client's loop reads the end; aiohttp pools the socket
        server.release.clear()
        server.release.set()  # the second body ends right after its last event
        await asyncio.wait_for(answer(provider, wire.model), 30)
        assert len(server.peers) == 2 and server.peers[0] == server.peers[1]  # one connection
    finally:
        await provider.aclose()


@pytest.mark.parametrize("wire", WIRES, ids=[w.kind for w in WIRES])
async def test_a_body_never_ended_does_not_use_up_the_pool(
    wire: Wire, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that never ends its bodies: each connection is closed DRAIN_SECONDS after the
    answer, so twice a pool's worth of requests, one after another, all get a connection (a
    held one would make the pool's last free slot wait until the section's timeout)."""
    monkeypatch.setattr(_http, "DRAIN_SECONDS", 0.1)
    server = await serve(wire)
    provider = provider_for(server, max_concurrency=1)
    requests = 2 * _http.pool_size(1)
    try:
        for _ in range(requests):
            text, _done = await asyncio.wait_for(answer(provider, wire.model), 30)
            assert text == "held"
        await wait_for(lambda: server.dropped == requests)
        assert server.ended == 0
    finally:
        await provider.aclose()
