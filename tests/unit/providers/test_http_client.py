"""`_http.HttpClient`, the one pooled aiohttp client each HTTP provider sends through.

Endpoint URLs are merged with the base URL once per client and path; the configured headers and
the JSON body reach the server as httpx wrote them before; a cancelled or abandoned stream gives
its connection back (the pool never fills up with dead streams). Against the loopback OpenAI fake.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from tests.fakes.base import Malformed, Reply
from tests.fakes.openai import FakeOpenAI

from magray_lsp.config.models import ProviderConfig
from magray_lsp.errors import AnswerTooLong, MalformedResponse, Timeout
from magray_lsp.providers import _http, create_provider
from magray_lsp.providers._http import HttpClient, LineSplitter, _dumps, pool_size
from magray_lsp.providers.base import ChatRequest, Message, TextDelta

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "héllo ✓"}]}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def client_for(base_url: str, **headers: str) -> HttpClient:
    return HttpClient(base_url=base_url, timeout_seconds=7, headers=headers, max_concurrency=4)


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1/"])
def test_the_url_is_merged_once_per_path(base_url: str) -> None:
    client = client_for(base_url)
    first = client.url("/chat/completions")
    assert str(first) == "http://127.0.0.1:9/v1/chat/completions"
    assert client.url("/chat/completions") is first  # remembered, not parsed again
    assert str(client.url("/models")) == "http://127.0.0.1:9/v1/models"


def test_each_client_has_its_own_endpoints() -> None:
    first, second = client_for("http://127.0.0.1:9/a"), client_for("http://127.0.0.1:9/b")
    assert str(first.url("/x")) == "http://127.0.0.1:9/a/x"
    assert str(second.url("/x")) == "http://127.0.0.1:9/b/x"


def test_the_body_is_the_json_httpx_sent() -> None:
    """Compact, UTF-8 unescaped: what the fakes (checked against the official SDKs) were fed."""
    assert _dumps(BODY).encode() == httpx.Request("POST", "http://x", json=BODY).content
    with pytest.raises(ValueError):
        _dumps({"temperature": float("nan")})  # not JSON: refused, never sent as NaN


async def test_configured_and_per_request_headers_reach_the_server(fake: FakeOpenAI) -> None:
    fake.reset()
    client = client_for(fake.base_url, Authorization="Bearer sk-test", Accept="application/json")
    try:
        reply = await client.post("/chat/completions", BODY, headers={"X-Trace": "t1"})
        assert reply.status_code == 200 and b"chat.completion" in reply.content
        again = await client.post("/chat/completions", BODY)
        assert again.status_code == 200
    finally:
        await client.aclose()
    first, second = fake.requests
    assert first.path == second.path == "/v1/chat/completions"
    sent = [{k.lower(): v for k, v in r.headers.items()} for r in (first, second)]
    assert sent[0]["authorization"] == sent[1]["authorization"] == "Bearer sk-test"
    assert sent[0]["accept"] == "application/json"
    assert sent[0]["content-type"] == "application/json"
    assert sent[0]["x-trace"] == "t1" and "x-trace" not in sent[1]
    assert first.body == BODY


STREAMED = BODY | {"stream": True}  # the fake answers in SSE, chunked, with no Content-Length


async def test_a_chunked_body_read_whole_is_cut_at_the_cap(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_http, "MAX_RESPONSE_BYTES", 4096)
    fake.reset()
    fake.default = Reply(chunks=["word "] * 200)
    client = client_for(fake.base_url)
    try:
        with pytest.raises(AnswerTooLong, match="passed 4096 bytes"):
            await client.post("/chat/completions", STREAMED)
        fake.default = Reply(chunks=["word "] * 5)  # a small one still passes
        assert b"[DONE]" in (await client.post("/chat/completions", STREAMED)).content
    finally:
        await client.aclose()


async def test_a_streamed_body_is_cut_at_the_cap(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_http, "MAX_RESPONSE_BYTES", 4096)
    fake.reset()
    fake.default = Reply(chunks=["word "] * 200)
    client = client_for(fake.base_url)
    received = 0
    try:
        with pytest.raises(AnswerTooLong, match="passed 4096 bytes"):
            async with client.stream("POST", "/chat/completions", json=STREAMED) as response:
                async for line in response.aiter_lines():
                    received += len(line) + 1
    finally:
        await client.aclose()
    assert received <= 4096  # nothing past the limit (a first read may already pass it)


async def test_a_declared_length_over_the_cap_is_refused_unread(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_http, "MAX_RESPONSE_BYTES", 4096)
    fake.reset()
    fake.script(Malformed("x" * 10_000), Malformed("x" * 10_000))
    client = client_for(fake.base_url)
    try:
        with pytest.raises(AnswerTooLong, match="announced a 10000-byte body"):
            await client.post("/chat/completions", BODY)
        with pytest.raises(AnswerTooLong, match="announced a 10000-byte body"):
            async with client.stream("POST", "/chat/completions", json=BODY):
                pass
    finally:
        await client.aclose()


async def test_the_timeout_bounds_each_read_not_the_whole_stream(fake: FakeOpenAI) -> None:
    """As with httpx before: a stream that keeps sending may outlast `timeout_seconds`; one that
    stalls longer than that between two pieces fails with `Timeout`."""
    fake.reset()
    client = HttpClient(base_url=fake.base_url, timeout_seconds=1.0, headers={}, max_concurrency=2)
    try:
        fake.script(Reply(chunks=["word "] * 8, chunk_delay=0.3))  # 2.4 s in all
        async with client.stream("POST", "/chat/completions", json=STREAMED) as response:
            lines = [line async for line in response.aiter_lines()]
        assert "data: [DONE]" in lines
        fake.script(Reply(chunks=["word "] * 3, chunk_delay=4.0))
        with pytest.raises(Timeout):
            async with client.stream("POST", "/chat/completions", json=STREAMED) as response:
                async for _ in response.aiter_lines():
                    pass
    finally:
        await client.aclose()


async def test_cancelled_streams_give_their_connections_back(fake: FakeOpenAI) -> None:
    """Three pools' worth of streams abandoned mid-answer (cancelled, or left after a first
    piece); the next request still gets a connection instead of waiting for a leaked one."""
    fake.reset()
    fake.default = Reply(chunks=["word "] * 5_000, chunk_delay=0.01)  # 50 s: never ends here
    cfg = ProviderConfig(
        api_key=SecretStr("sk-x"), base_url=fake.base_url, timeout_seconds=5, max_concurrency=2
    )
    provider = create_provider("openai", cfg)
    request = ChatRequest("gpt-4o-mini", (Message("user", "hi"),))
    first_piece = asyncio.Event()

    async def read_forever() -> None:
        async for event in provider.generate(request):
            if isinstance(event, TextDelta):
                first_piece.set()

    async def read_one_piece() -> None:
        stream = provider.generate(request)
        try:
            async for event in stream:
                if isinstance(event, TextDelta):
                    return
        finally:
            await stream.aclose()

    try:
        for round_ in range(3 * pool_size(cfg.max_concurrency)):
            if round_ % 2:
                await read_one_piece()
                continue
            first_piece.clear()
            task = asyncio.create_task(read_forever())
            await asyncio.wait_for(first_piece.wait(), 30)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        fake.default = Reply(text="still served")
        answer = await asyncio.wait_for(provider.complete(request), 60)
        assert answer.text == "still served"
    finally:
        await provider.aclose()


# ---------------------------------------------------------------- lines from any chunking

LINE = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]))


@given(
    lines=st.lists(LINE, min_size=1, max_size=8),
    endings=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=8, max_size=8),
    last_ended=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
def test_lines_survive_any_chunking(
    lines: list[str], endings: list[str], last_ended: bool, cuts: list[int]
) -> None:
    """Every byte split (inside a UTF-8 character, between \\r and \\n) gives the same lines."""
    # a lone \r before an empty line's \n would be one \r\n: write that as \r\n outright
    endings = [
        "\r\n" if end == "\r" and i + 1 < len(lines) and not lines[i + 1] else end
        for i, end in enumerate(endings)
    ]
    text = "".join(line + ending for line, ending in zip(lines, endings, strict=False))
    if not last_ended:
        text = text[: -len(endings[len(lines) - 1])]
    raw = text.encode()
    bounds = sorted({min(c, len(raw)) for c in cuts} | {0, len(raw)})
    splitter = LineSplitter()
    out: list[str] = []
    for start, end in itertools.pairwise(bounds):
        out += splitter.feed(raw[start:end])
    out += splitter.close()
    expected = lines if last_ended or lines[-1] else lines[:-1]
    assert out == expected


def test_an_invalid_byte_becomes_a_replacement_character() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"ok \xff\nnext") == ["ok \ufffd"]
    assert splitter.close() == ["next"]


async def test_a_redirect_is_not_followed() -> None:
    """A provider answering 307 elsewhere is not followed there: the locality guard checked only
    the URL the request was sent to, so following would reach a host it never saw. Two loopback
    servers: the second one must get no request at all."""
    from aiohttp import web

    hits: list[str] = []

    async def elsewhere(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"leaked": True})

    async def redirecting(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(f"{target}/v1/chat/completions")

    runners = []
    urls = []
    for handler in (elsewhere, redirecting):
        app = web.Application()
        app.router.add_post("/v1/chat/completions", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        urls.append(f"http://127.0.0.1:{port}")
    target, origin = urls
    client = client_for(f"{origin}/v1")
    try:
        reply = await client.post("/chat/completions", BODY)
        assert reply.status_code == 307
        async with client.stream("POST", "/chat/completions", json=BODY) as streamed:
            assert streamed.status_code == 307
        assert hits == []
    finally:
        await client.aclose()
        for runner in runners:
            await runner.cleanup()


@pytest.mark.parametrize(
    ("content_chars", "message"),
    [
        (32_000_000, "sending the request"),  # more than any buffer: only the send bound ends it
        (1_000, "timed out"),  # buffered whole: the read timeout starts right after it
    ],
)
async def test_a_server_that_stops_reading_the_request_cannot_stall_the_send(
    content_chars: int, message: str
) -> None:
    """aiohttp bounds connecting and reading, not writing: a server that accepts the connection
    but never reads would hold the send of a large body forever. That send (up to the response's
    headers) is bounded by `SEND_TIMEOUTS` × the timeout; a small body is written whole at once,
    and the read timeout ends the wait. Either way: `Timeout`."""
    import socket

    held: list[asyncio.StreamWriter] = []

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept, never read: the client's buffers fill up

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # accepted sockets inherit it
    listener.bind(("127.0.0.1", 0))
    server = await asyncio.start_server(never_read, sock=listener)
    port = listener.getsockname()[1]
    client = HttpClient(
        base_url=f"http://127.0.0.1:{port}", timeout_seconds=0.3, headers={}, max_concurrency=1
    )
    body = {"messages": [{"role": "user", "content": "x" * content_chars}]}
    try:
        with pytest.raises(Timeout, match=message):
            await asyncio.wait_for(client.post("/chat/completions", body), 60)
        assert held  # the server did accept the connection
    finally:
        await client.aclose()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_every_request_says_who_sends_it(fake: FakeOpenAI) -> None:
    """`magray-lsp/<version>` unless the section's headers say otherwise (any spelling)."""
    fake.reset()
    plain, custom = client_for(fake.base_url), client_for(fake.base_url, **{"user-agent": "mine"})
    try:
        await plain.post("/chat/completions", BODY)
        await custom.post("/chat/completions", BODY)
    finally:
        await plain.aclose()
        await custom.aclose()
    sent = [{k.lower(): v for k, v in r.headers.items()} for r in fake.requests]
    assert [h["user-agent"] for h in sent] == [_http.USER_AGENT, "mine"]
    assert _http.USER_AGENT.startswith("magray-lsp/")


JSON_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
).map(json.dumps)


@given(
    text=JSON_TEXT | st.text(max_size=12),
    before=st.sampled_from(["", " ", "\n", "\ufeff"]),
    after=st.sampled_from(["", " ", "\n", " x", ","]),
)
def test_a_stream_event_parses_exactly_as_json_loads(text: str, before: str, after: str) -> None:
    """`parse_event` (the scanner run directly) gives json.loads's value, or its error."""
    raw = before + text + after
    try:
        expected: object = json.loads(raw)
    except ValueError:
        with pytest.raises(MalformedResponse, match="invalid JSON"):
            _http.parse_event(raw, provider="p")
        return
    got = _http.parse_event(raw, provider="p")
    assert json.dumps(got) == json.dumps(expected)  # NaN-safe equality
