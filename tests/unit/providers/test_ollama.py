"""OllamaProvider against FakeOllama over real loopback HTTP; the ollama SDK checks the fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import ollama
import pytest
from tests.fakes.base import (
    ContextTooLong as ContextTooLongBehaviour,
)
from tests.fakes.base import (
    CutStream,
    Drop,
    Hang,
    Malformed,
    Reply,
    Status,
)
from tests.fakes.ollama import CONTEXT_TOO_LONG_MESSAGE, FakeModel, FakeOllama, StreamError
from tests.helpers import closed_port, wait_for

from magray_lsp.config.models import ProviderConfig
from magray_lsp.errors import (
    AuthError,
    ContextTooLong,
    MalformedResponse,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
    Unavailable,
)
from magray_lsp.providers import create_provider
from magray_lsp.providers.base import ChatRequest, Completion, Message, TextDelta, Usage
from magray_lsp.providers.ollama import OllamaProvider

SECRET = "sk-ollama-proxy-secret-0123456789"


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeOllama]:
    server = FakeOllama(
        models=[
            "llama3.1",
            FakeModel("codellama:7b", context_length=16384),
            FakeModel("mixtral:8x7b", family="mixtral", context_length=32768, num_ctx=8192),
            FakeModel("mystery", context_length=None),
        ]
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeOllama) -> FakeOllama:
    fake_server.reset()
    return fake_server


def make_provider(url: str, **cfg: Any) -> OllamaProvider:
    cfg.setdefault("timeout_seconds", 5)
    return OllamaProvider("ollama", ProviderConfig.model_validate({"base_url": url, **cfg}))


@pytest.fixture
async def provider(fake: FakeOllama) -> AsyncIterator[OllamaProvider]:
    p = make_provider(fake.url)
    yield p
    await p.aclose()


def chat(model: str = "llama3.1", **kw: Any) -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=(Message("system", "You explain code."), Message("user", "def add(a, b): ...")),
        **kw,
    )


async def collect(
    p: OllamaProvider, request: ChatRequest, *, stream: bool = True
) -> tuple[list[str], Completion]:
    deltas: list[str] = []
    completions: list[Completion] = []
    async for event in p.generate(request, stream=stream):
        if isinstance(event, TextDelta):
            assert not completions, "text after the completion"
            deltas.append(event.text)
        else:
            completions.append(event)
    assert len(completions) == 1
    return deltas, completions[0]


async def fail(
    p: OllamaProvider, request: ChatRequest, *, stream: bool = True
) -> tuple[list[str], ProviderError]:
    deltas: list[str] = []
    with pytest.raises(ProviderError) as info:
        async for event in p.generate(request, stream=stream):
            assert isinstance(event, TextDelta), "a failing call must not complete"
            deltas.append(event.text)
    return deltas, info.value


# ---------------------------------------------------------------- success


async def test_streaming_text_and_usage(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(Reply(text="It adds a and b.", input_tokens=42, output_tokens=6))
    deltas, done = await collect(provider, chat())
    assert deltas == ["It", " adds", " a", " and", " b."]
    assert done == Completion(Usage(42, 6), "stop", "llama3.1")
    assert fake.requests[-1].path == "/api/chat"
    assert fake.requests[-1].body["stream"] is True
    await wait_for(lambda: fake.requests[-1].stream_outcome == "completed")


async def test_non_streaming_is_one_call(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(Reply(text="Adds two numbers.", input_tokens=20, output_tokens=4))
    deltas, done = await collect(provider, chat(), stream=False)
    assert deltas == ["Adds two numbers."]
    assert done.usage == Usage(20, 4)
    assert done.finish_reason == "stop"
    assert len(fake.requests) == 1
    assert fake.requests[0].body["stream"] is False

    fake.script(Reply(text="Hi there"))
    answer = await provider.complete(chat())
    assert answer.text == "Hi there"
    assert answer.usage == Usage(11, 7)


async def test_length_finish_reason(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(Reply(text="cut short", finish_reason="length"))
    _, done = await collect(provider, chat(max_tokens=2))
    assert done.finish_reason == "length"


async def test_request_body_maps_options(fake: FakeOllama) -> None:
    p = make_provider(
        fake.url,
        api_key=SECRET,
        headers={"X-Trace": "abc"},
        defaults={
            "max_tokens": 500,
            "temperature": 0.7,
            "num_ctx": 8192,
            "seed": 42,
            "keep_alive": "10m",
        },
    )
    try:
        await collect(
            p, chat(max_tokens=128, temperature=0.2, top_p=0.9, stop=("```",), extra={"top_k": 5})
        )
    finally:
        await p.aclose()
    req = fake.requests[-1]
    assert req.body == {
        "model": "llama3.1",
        "messages": [
            {"role": "system", "content": "You explain code."},
            {"role": "user", "content": "def add(a, b): ..."},
        ],
        "stream": True,
        "keep_alive": "10m",
        "options": {
            "num_predict": 128,
            "temperature": 0.2,
            "top_p": 0.9,
            "stop": ["```"],
            "num_ctx": 8192,
            "seed": 42,
            "top_k": 5,
        },
    }
    assert req.headers["authorization"] == f"Bearer {SECRET}"
    assert req.headers["x-trace"] == "abc"
    assert req.headers["content-type"] == "application/json"


async def test_defaults_fill_options_and_no_key_no_auth(fake: FakeOllama) -> None:
    p = make_provider(fake.url, defaults={"max_tokens": 300, "top_p": 0.5})
    try:
        await collect(p, chat())
    finally:
        await p.aclose()
    req = fake.requests[-1]
    assert req.body["options"] == {"num_predict": 300, "top_p": 0.5}
    assert "keep_alive" not in req.body
    assert "authorization" not in req.headers


async def test_empty_pieces_are_not_yielded(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(Reply(chunks=["", "a", "", "b"]))
    deltas, _ = await collect(provider, chat())
    assert deltas == ["a", "b"]


async def test_connection_is_reused(fake: FakeOllama, provider: OllamaProvider) -> None:
    """The answer does not wait for the body's end after the done line; the connection goes back
    to the pool when that end arrives, and the next request, sent after it, reuses it."""

    def ended(count: int) -> Callable[[], bool]:
        return lambda: fake.ended_bodies >= count

    for sent in range(1, 4):
        await collect(provider, chat())
        await wait_for(ended(sent))
        await asyncio.sleep(0.05)  # the client's loop reads the end, aiohttp pools the socket
    assert fake.connections == 1


# ---------------------------------------------------------------- HTTP errors


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("code", [500, 502, 503])
async def test_server_errors(
    fake: FakeOllama, provider: OllamaProvider, code: int, stream: bool
) -> None:
    fake.script(Status(code, "server busy, please try again.  maximum pending requests exceeded"))
    deltas, err = await fail(provider, chat(), stream=stream)
    assert type(err) is ServerError
    assert err.status == code and err.retryable
    assert "server busy" in str(err)
    assert deltas == []


async def test_rate_limited_with_retry_after(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(Status(429, "too many requests", headers={"Retry-After": "7"}))
    _, err = await fail(provider, chat())
    assert isinstance(err, RateLimited)
    assert err.retry_after == 7.0


async def test_rate_limited_without_retry_after(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(Status(429, "too many requests"))
    _, err = await fail(provider, chat(), stream=False)
    assert isinstance(err, RateLimited)
    assert err.retry_after is None


@pytest.mark.parametrize("stream", [True, False])
async def test_unknown_model_is_unavailable(provider: OllamaProvider, stream: bool) -> None:
    _, err = await fail(provider, chat("llama9"), stream=stream)
    assert isinstance(err, Unavailable)
    assert err.status == 404
    assert 'model "llama9" not found' in str(err)


async def test_scripted_404_is_unavailable(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(Status(404, "model 'llama3.1' not found"))
    _, err = await fail(provider, chat())
    assert isinstance(err, Unavailable)


async def test_auth_error_never_shows_the_key(fake: FakeOllama) -> None:
    p = make_provider(fake.url, api_key=SECRET)
    try:
        fake.script(Status(401, "unauthorized"))
        _, err = await fail(p, chat())
    finally:
        await p.aclose()
    assert isinstance(err, AuthError)
    assert SECRET not in str(err) and SECRET not in repr(err) and SECRET not in repr(p)


async def test_hang_times_out(fake: FakeOllama) -> None:
    p = make_provider(fake.url, timeout_seconds=0.3)
    fake.script(Hang(1.5))
    try:
        _, err = await fail(p, chat())
    finally:
        await p.aclose()
    assert isinstance(err, Timeout) and err.retryable


async def test_hang_mid_stream_times_out(fake: FakeOllama) -> None:
    p = make_provider(fake.url, timeout_seconds=0.3)
    fake.script(Reply(chunks=["a", "b", "c"], chunk_delay=1.0))
    try:
        deltas, err = await fail(p, chat())
    finally:
        await p.aclose()
    assert deltas == ["a"]
    assert isinstance(err, Timeout)


async def test_connection_refused_is_unavailable() -> None:
    p = make_provider(f"http://127.0.0.1:{closed_port()}")
    try:
        _, err = await fail(p, chat())
        assert isinstance(err, Unavailable)
        with pytest.raises(Unavailable):
            await p.list_models()
    finally:
        await p.aclose()


async def test_dropped_connection_is_server_error(
    fake: FakeOllama, provider: OllamaProvider
) -> None:
    fake.script(Drop())
    _, err = await fail(provider, chat())
    assert isinstance(err, ServerError) and not isinstance(err, MalformedResponse)


# ---------------------------------------------------------------- broken bodies and streams


async def test_malformed_stream_line(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(Malformed())
    deltas, err = await fail(provider, chat())
    assert deltas == ["This"]
    assert isinstance(err, MalformedResponse)


async def test_malformed_non_stream_body(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(Malformed())
    _, err = await fail(provider, chat(), stream=False)
    assert isinstance(err, MalformedResponse)


async def test_non_object_body_is_malformed(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(Status(200, body=["not", "an", "object"]))
    _, err = await fail(provider, chat(), stream=False)
    assert isinstance(err, MalformedResponse)


async def test_cut_stream_is_server_error_after_deltas(
    fake: FakeOllama, provider: OllamaProvider
) -> None:
    fake.script(CutStream(after=2, reply=Reply(text="one two three four")))
    deltas, err = await fail(provider, chat())
    assert deltas == ["one", " two"]
    assert type(err) is ServerError


async def test_cut_non_stream_body_is_server_error(
    fake: FakeOllama, provider: OllamaProvider
) -> None:
    fake.script(CutStream())
    _, err = await fail(provider, chat(), stream=False)
    assert isinstance(err, ServerError)


async def test_stream_without_done_ends_early(fake: FakeOllama, provider: OllamaProvider) -> None:
    line = {
        "model": "llama3.1",
        "message": {"role": "assistant", "content": "partial"},
        "done": False,
    }
    fake.script(Status(200, body=line))
    deltas, err = await fail(provider, chat())
    assert deltas == ["partial"]
    assert type(err) is ServerError
    assert "stream ended early" in str(err)


async def test_mid_stream_error_line(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(StreamError("model runner has unexpectedly stopped", after=2))
    deltas, err = await fail(provider, chat())
    assert deltas == ["This", " function"]
    assert type(err) is ServerError
    assert "unexpectedly stopped" in str(err)


@pytest.mark.parametrize(
    "behaviour",
    [
        ContextTooLongBehaviour(),
        Status(500, CONTEXT_TOO_LONG_MESSAGE),
        Status(413, CONTEXT_TOO_LONG_MESSAGE),
        StreamError(CONTEXT_TOO_LONG_MESSAGE, after=0),
    ],
)
async def test_context_too_long(fake: FakeOllama, provider: OllamaProvider, behaviour: Any) -> None:
    fake.script(behaviour)
    _, err = await fail(provider, chat())
    assert isinstance(err, ContextTooLong)
    assert err.fallback and not err.retryable


async def test_context_too_long_non_stream(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(ContextTooLongBehaviour())
    _, err = await fail(provider, chat(), stream=False)
    assert isinstance(err, ContextTooLong)
    assert err.status == 400


# ---------------------------------------------------------------- cancellation


async def test_early_close_disconnects(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(Reply(text=" ".join(["word"] * 300), chunk_delay=0.02))
    gen = provider.generate(chat())
    first = await anext(gen)
    assert first == TextDelta("word")
    await gen.aclose()
    await wait_for(lambda: fake.requests[-1].stream_outcome == "disconnected")


async def test_cancelled_task_disconnects(fake: FakeOllama, provider: OllamaProvider) -> None:
    fake.script(Reply(text=" ".join(["word"] * 300), chunk_delay=0.02))
    got_first = asyncio.Event()

    async def consume() -> None:
        async for _ in provider.generate(chat()):
            got_first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for(lambda: fake.requests[-1].stream_outcome == "disconnected")


# ---------------------------------------------------------------- models


async def test_list_models_with_context_windows(fake: FakeOllama, provider: OllamaProvider) -> None:
    models = {m.id: m.context_window for m in await provider.list_models()}
    assert models == {
        "llama3.1:latest": 131072,
        "codellama:7b": 16384,
        "mixtral:8x7b": 8192,  # PARAMETER num_ctx wins over the trained length
        "mystery:latest": None,
    }
    paths = [r.path for r in fake.requests]
    assert paths.count("/api/tags") == 1 and paths.count("/api/show") == 4


async def test_context_window_is_cached(fake: FakeOllama, provider: OllamaProvider) -> None:
    assert await provider.context_window("llama3.1") == 131072
    assert await provider.context_window("llama3.1") == 131072
    assert [r.body for r in fake.requests] == [{"model": "llama3.1"}]


async def test_context_window_config_and_num_ctx(fake: FakeOllama) -> None:
    p = make_provider(fake.url, context_windows={"codellama:7b": 4000}, defaults={"num_ctx": 65536})
    try:
        assert await p.context_window("codellama:7b") == 4000  # configured, no call
        assert await p.context_window("llama3.1") == 65536  # what Ollama runs it with
        assert await p.context_window("mixtral:8x7b") == 32768  # capped by the trained length
    finally:
        await p.aclose()
    assert [r.body["model"] for r in fake.requests] == ["llama3.1", "mixtral:8x7b"]


async def test_context_window_unknown_model(fake: FakeOllama, provider: OllamaProvider) -> None:
    with pytest.raises(Unavailable):
        await provider.context_window("nope")
    with pytest.raises(Unavailable):  # errors are not cached
        await provider.context_window("nope")
    assert len(fake.requests) == 2


# ---------------------------------------------------------------- construction


async def test_construction_does_no_io_and_locality() -> None:
    assert make_provider("http://127.0.0.1:1").is_local
    assert make_provider("http://localhost:11434").is_local
    assert not make_provider("https://ollama.example.com").is_local
    default = OllamaProvider("ollama", ProviderConfig.model_validate({}))
    assert default.base_url == "http://localhost:11434" and default.is_local
    assert default._client is None
    await default.aclose()


def test_registry_builds_it() -> None:
    p = create_provider("ollama", ProviderConfig.model_validate({}))
    assert isinstance(p, OllamaProvider) and p.kind == "ollama"
    cfg = ProviderConfig.model_validate({"kind": "ollama", "base_url": "http://10.0.0.5:11434"})
    other = create_provider("box", cfg)
    assert isinstance(other, OllamaProvider) and not other.is_local


# ---------------------------------------------------------------- the fake, checked by the SDK


def test_sdk_sync_chat_stream_and_not(fake: FakeOllama) -> None:
    client = ollama.Client(host=fake.url)
    msgs = [{"role": "user", "content": "hi"}]
    parts = list(client.chat(model="llama3.1", messages=msgs, stream=True))
    assert "".join(p.message.content or "" for p in parts) == Reply().text
    assert parts[-1].done and parts[-1].done_reason == "stop"
    assert parts[-1].prompt_eval_count == 11 and parts[-1].eval_count == 7
    assert all(not p.done for p in parts[:-1])

    fake.script(Reply(text="whole", finish_reason="length"))
    resp = client.chat(model="llama3.1", messages=msgs, options={"num_predict": 1})
    assert resp.message.content == "whole" and resp.done_reason == "length"
    assert resp.total_duration and resp.eval_duration and resp.load_duration is not None
    assert fake.requests[-1].body["options"] == {"num_predict": 1}


def test_sdk_sync_list_show_version(fake: FakeOllama) -> None:
    client = ollama.Client(host=fake.url)
    listed = client.list()
    assert [m.model for m in listed.models][:2] == ["llama3.1:latest", "codellama:7b"]
    first = listed.models[0]
    assert first.details is not None and first.details.family == "llama"
    assert first.size and first.digest and first.modified_at is not None
    shown = client.show("llama3.1")
    assert shown.modelinfo is not None and shown.modelinfo["llama.context_length"] == 131072
    assert shown.details is not None and shown.details.quantization_level == "Q4_K_M"
    assert shown.template and shown.modelfile and shown.parameters is not None
    assert httpx.get(f"{fake.url}/api/version").json() == {"version": fake.version}


def test_sdk_sync_errors(fake: FakeOllama) -> None:
    client = ollama.Client(host=fake.url)
    msgs = [{"role": "user", "content": "hi"}]
    with pytest.raises(ollama.ResponseError) as info:
        client.chat(model="llama9", messages=msgs)
    assert info.value.status_code == 404
    assert info.value.error == 'model "llama9" not found, try pulling it first'
    with pytest.raises(ollama.ResponseError) as info:
        client.show("nope")
    assert info.value.status_code == 404

    fake.script(Status(500, "boom"))
    with pytest.raises(ollama.ResponseError) as info:
        list(client.chat(model="llama3.1", messages=msgs, stream=True))
    assert info.value.status_code == 500 and info.value.error == "boom"

    fake.script(ContextTooLongBehaviour())
    with pytest.raises(ollama.ResponseError) as info:
        client.chat(model="llama3.1", messages=msgs)
    assert info.value.status_code == 400 and info.value.error == CONTEXT_TOO_LONG_MESSAGE

    fake.script(StreamError("runner crashed", after=1))
    seen: list[str] = []
    with pytest.raises(ollama.ResponseError) as info:
        for part in client.chat(model="llama3.1", messages=msgs, stream=True):
            seen.append(part.message.content or "")
    assert seen == ["This"] and info.value.error == "runner crashed"


async def test_sdk_async_client(fake: FakeOllama) -> None:
    client = ollama.AsyncClient(host=fake.url)
    msgs = [{"role": "user", "content": "hi"}]
    fake.script(Reply(text="a b c", input_tokens=3, output_tokens=3))
    parts = [p async for p in await client.chat(model="llama3.1", messages=msgs, stream=True)]
    assert [p.message.content for p in parts] == ["a", " b", " c", ""]
    assert parts[-1].done and parts[-1].eval_count == 3

    resp = await client.chat(model="codellama:7b", messages=msgs)
    assert resp.message.content == Reply().text and resp.model == "codellama:7b"

    listed = await client.list()
    assert len(listed.models) == 4
    shown = await client.show("mixtral:8x7b")
    assert shown.modelinfo is not None and shown.modelinfo["mixtral.context_length"] == 32768
    assert shown.parameters is not None and "num_ctx" in shown.parameters

    with pytest.raises(ollama.ResponseError) as info:
        await client.chat(model="llama9", messages=msgs)
    assert info.value.status_code == 404

    fake.script(Status(429, "slow down", headers={"Retry-After": "2"}))
    with pytest.raises(ollama.ResponseError) as info:
        await client.chat(model="llama3.1", messages=msgs)
    assert info.value.status_code == 429
    await client._client.aclose()
