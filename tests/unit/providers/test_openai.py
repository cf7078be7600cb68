"""OpenAIProvider against FakeOpenAI over real loopback HTTP; the openai SDK checks the fake."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pytest
from pydantic import SecretStr
from tests.fakes.base import ContextTooLong as ContextTooLongBehaviour
from tests.fakes.base import CutStream, Drop, Hang, Malformed, Reply, Status
from tests.fakes.openai import (
    FakeOpenAI,
    OpenAIReply,
    StreamError,
    error_body,
    model_not_found,
    rate_limited,
)
from tests.helpers import closed_port, wait_for

from magray_lsp.config.models import GenerationDefaults, ProviderConfig
from magray_lsp.errors import (
    AuthError,
    BadRequest,
    ContentFiltered,
    ContextTooLong,
    MalformedResponse,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
    Unavailable,
)
from magray_lsp.providers import create_provider
from magray_lsp.providers.base import (
    ChatRequest,
    Completion,
    Message,
    TextDelta,
    Usage,
)
from magray_lsp.providers.openai import OpenAIProvider

SECRET = "sk-proj-test-secret-0123456789abcdef"
MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(api_key=SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> FakeOpenAI:
    fake_server.reset()
    fake_server.api_key = SECRET
    return fake_server


def make_provider(fake: FakeOpenAI, **overrides: Any) -> OpenAIProvider:
    fields: dict[str, Any] = {
        "api_key": SecretStr(SECRET),
        "base_url": fake.base_url,
        "timeout_seconds": 5.0,
    }
    fields.update(overrides)
    return OpenAIProvider("openai", ProviderConfig(**fields))


@pytest.fixture
async def provider(fake: FakeOpenAI) -> AsyncIterator[OpenAIProvider]:
    p = make_provider(fake)
    yield p
    await p.aclose()


def chat(model: str = MODEL, **kw: Any) -> ChatRequest:
    messages = (Message("system", "You explain code."), Message("user", "What does add() do?"))
    return ChatRequest(model=model, messages=messages, **kw)


async def collect(
    p: OpenAIProvider, req: ChatRequest, *, stream: bool = True
) -> tuple[list[str], Completion]:
    deltas: list[str] = []
    completion: Completion | None = None
    async for event in p.generate(req, stream=stream):
        assert completion is None, "nothing may follow the Completion"
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        else:
            completion = event
    assert completion is not None
    return deltas, completion


# ---------------------------------------------------------------- the fake, checked by the SDK


def sdk(fake: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(api_key=SECRET, base_url=fake.base_url, max_retries=0, timeout=5)


def async_sdk(fake: FakeOpenAI) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=SECRET, base_url=fake.base_url, max_retries=0, timeout=5)


def test_sdk_non_streaming(fake: FakeOpenAI) -> None:
    fake.script(OpenAIReply(text="It adds.", input_tokens=20, output_tokens=3, cached_tokens=8))
    with sdk(fake) as client:
        resp = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=50
        )
    assert resp.id.startswith("chatcmpl-") and resp.object == "chat.completion"
    assert resp.model == "gpt-4o-mini-2024-07-18"
    assert resp.system_fingerprint and resp.system_fingerprint.startswith("fp_")
    assert resp.choices[0].message.content == "It adds."
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (20, 3)
    assert resp.usage.total_tokens == 23
    assert resp.usage.prompt_tokens_details is not None
    assert resp.usage.prompt_tokens_details.cached_tokens == 8
    assert resp._request_id and resp._request_id.startswith("req_")


def test_sdk_streaming_with_usage(fake: FakeOpenAI) -> None:
    fake.script(Reply(text="It adds two numbers.", input_tokens=12, output_tokens=5))
    with sdk(fake) as client:
        chunks = list(
            client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "It adds two numbers."
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == ["stop"]
    *body, last = chunks
    assert all(c.usage is None for c in body)
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (12, 5)


def test_sdk_streaming_without_usage(fake: FakeOpenAI) -> None:
    with sdk(fake) as client:
        chunks = list(
            client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
    assert all(c.usage is None and c.choices for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == Reply().text
    assert "usage" not in fake.requests[-1].body and "stream_options" not in fake.requests[-1].body


async def test_async_sdk_stream_and_models(fake: FakeOpenAI) -> None:
    async with async_sdk(fake) as client:
        stream = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        resp = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
        models = [m.id async for m in client.models.list()]
        model = await client.models.retrieve("gpt-4o")
    assert "".join(pieces) == Reply().text
    assert resp.choices[0].message.content == Reply().text
    assert models == ["gpt-4o-mini", "gpt-4o"]
    assert model.owned_by == "system"


def test_sdk_refusal_shape(fake: FakeOpenAI) -> None:
    fake.script(OpenAIReply(refusal="I can't help with that."))
    with sdk(fake) as client:
        resp = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}]
        )
    assert resp.choices[0].message.content is None
    assert resp.choices[0].message.refusal == "I can't help with that."


@pytest.mark.parametrize(
    ("behaviour", "error", "code"),
    [
        (rate_limited("3"), openai.RateLimitError, "rate_limit_exceeded"),
        (ContextTooLongBehaviour(), openai.BadRequestError, "context_length_exceeded"),
        (Status(500, "The server had an error"), openai.InternalServerError, None),
        (Status(503, "The engine is currently overloaded"), openai.InternalServerError, None),
        (model_not_found("gpt-nope"), openai.NotFoundError, "model_not_found"),
    ],
)
async def test_sdk_typed_errors(
    fake: FakeOpenAI, behaviour: Any, error: type[openai.APIStatusError], code: str | None
) -> None:
    fake.script(behaviour, behaviour)
    with sdk(fake) as client, pytest.raises(error) as sync_info:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    async with async_sdk(fake) as aclient:
        with pytest.raises(error) as async_info:
            await aclient.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True
            )
    for info in (sync_info, async_info):
        assert info.value.code == code
        assert info.value.type
        assert info.value.message
    if isinstance(behaviour, Status) and "Retry-After" in behaviour.headers:
        assert sync_info.value.response.headers["retry-after"] == "3"


def test_sdk_auth_errors(fake: FakeOpenAI) -> None:
    bad = openai.OpenAI(api_key="sk-wrong-key-000000", base_url=fake.base_url, max_retries=0)
    with bad, pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert info.value.code == "invalid_api_key"
    assert "sk-wrong-key-000000" not in info.value.message  # the real API masks the key


def test_sdk_rejects_malformed(fake: FakeOpenAI) -> None:
    fake.script(Malformed(), Malformed())
    with sdk(fake) as client:
        with pytest.raises(ValueError):  # json.JSONDecodeError
            client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
        with pytest.raises(ValueError):
            list(
                client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True
                )
            )


def test_sdk_sees_stream_error_event(fake: FakeOpenAI) -> None:
    fake.script(StreamError("boom", after=1))
    with sdk(fake) as client, pytest.raises(openai.APIError, match="boom"):
        list(
            client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True
            )
        )


# ---------------------------------------------------------------- success paths


async def test_streams_text_then_completion_with_usage(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    fake.script(
        OpenAIReply(text="Adds a and b.", input_tokens=30, output_tokens=4, cached_tokens=16)
    )
    deltas, completion = await collect(provider, chat())
    assert deltas == ["Adds", " a", " and", " b."]
    assert completion.usage == Usage(input_tokens=30, output_tokens=4, cached_input_tokens=16)
    assert completion.finish_reason == "stop"
    assert completion.model == "gpt-4o-mini-2024-07-18"
    await wait_for(lambda: fake.requests[-1].stream_outcome == "completed")


async def test_deltas_are_yielded_as_they_arrive(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    fake.script(Reply(text="one two three four", chunk_delay=0.1))
    gen = provider.generate(chat())
    first = await anext(gen)
    assert first == TextDelta("one")
    assert fake.requests[-1].stream_outcome is None  # the fake is still sending
    rest = [e async for e in gen]
    assert isinstance(rest[-1], Completion)


async def test_non_streaming_is_one_plain_call(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script(
        Reply(text="Whole answer.", input_tokens=9, output_tokens=2, finish_reason="length")
    )
    deltas, completion = await collect(provider, chat(), stream=False)
    assert deltas == ["Whole answer."]
    assert completion == Completion(Usage(9, 2, 0), "length", "gpt-4o-mini-2024-07-18")
    [req] = fake.requests
    assert req.body["stream"] is False and "stream_options" not in req.body
    answer = await provider.complete(chat())
    assert (answer.text, answer.finish_reason) == (Reply().text, "stop")


async def test_request_body_and_headers(fake: FakeOpenAI) -> None:
    p = make_provider(
        fake,
        organization="org-magray",
        headers={"X-Trace": "abc"},
        defaults=GenerationDefaults(max_tokens=500, temperature=0.7, seed=42, top_p=0.9),
    )
    try:
        req = chat(max_tokens=128, temperature=0.2, stop=("\n\n",), extra={"user": "u-1"})
        await collect(p, req)
    finally:
        await p.aclose()
    [recorded] = fake.requests
    assert recorded.method == "POST" and recorded.path == "/v1/chat/completions"
    body = recorded.body
    assert body["model"] == MODEL
    assert body["messages"] == [
        {"role": "system", "content": "You explain code."},
        {"role": "user", "content": "What does add() do?"},
    ]
    assert body["max_tokens"] == 128 and body["temperature"] == 0.2  # request wins over defaults
    assert body["top_p"] == 0.9 and body["seed"] == 42  # defaults fill the rest
    assert body["stop"] == ["\n\n"] and body["user"] == "u-1"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    headers = recorded.headers
    assert headers["authorization"] == f"Bearer {SECRET}"
    assert headers["openai-organization"] == "org-magray"
    assert headers["x-trace"] == "abc"
    assert headers["content-type"] == "application/json"


async def test_no_key_means_no_authorization_header(fake: FakeOpenAI) -> None:
    fake.api_key = None  # a local OpenAI-compatible server
    p = make_provider(fake, api_key=None)
    try:
        await collect(p, chat(model="qwen2.5-coder"))
    finally:
        await p.aclose()
    assert "authorization" not in fake.requests[0].headers
    assert "openai-organization" not in fake.requests[0].headers
    assert p.is_local


async def test_reasoning_models_get_max_completion_tokens(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    await collect(provider, chat(model="o3-mini", max_tokens=64), stream=False)
    body = fake.requests[0].body
    assert body["max_completion_tokens"] == 64 and "max_tokens" not in body


@pytest.mark.parametrize("stream", [True, False])
async def test_server_without_usage(
    fake: FakeOpenAI, provider: OpenAIProvider, stream: bool
) -> None:
    fake.script(OpenAIReply(usage=False))
    deltas, completion = await collect(provider, chat(), stream=stream)
    assert "".join(deltas) == Reply().text
    assert completion.usage is None


async def test_stream_options_rejected_then_dropped(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    rejection = error_body(400, "Unrecognized request argument supplied: stream_options")
    fake.script(Status(400, body=rejection))
    deltas, completion = await collect(provider, chat())
    assert "".join(deltas) == Reply().text and completion.usage is None
    await collect(provider, chat())  # remembered: not asked again
    first, second, third = fake.requests
    assert "stream_options" in first.body
    assert "stream_options" not in second.body and "stream_options" not in third.body


@pytest.mark.parametrize("stream", [True, False])
async def test_content_filter(fake: FakeOpenAI, provider: OpenAIProvider, stream: bool) -> None:
    fake.script(Reply(text="", chunks=[], finish_reason="content_filter"))
    with pytest.raises(ContentFiltered):
        await collect(provider, chat(), stream=stream)
    fake.script(Reply(text="Partial", finish_reason="content_filter"))
    deltas, completion = await collect(provider, chat(), stream=stream)
    assert deltas == ["Partial"] and completion.finish_reason == "content_filter"


@pytest.mark.parametrize("stream", [True, False])
async def test_refusal_is_content_filtered(
    fake: FakeOpenAI, provider: OpenAIProvider, stream: bool
) -> None:
    fake.script(OpenAIReply(refusal="I can't help with that."))
    with pytest.raises(ContentFiltered, match="can't help"):
        await collect(provider, chat(), stream=stream)


async def test_connection_is_reused(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    """The answer does not wait for the body's end after `[DONE]`; the connection goes back to
    the pool when that end arrives, and the next request, sent after it, reuses it."""

    def ended(count: int) -> Callable[[], bool]:
        return lambda: fake.ended_bodies >= count

    for sent in range(1, 4):
        await collect(provider, chat())
        await wait_for(ended(sent))
        await asyncio.sleep(0.05)  # the client's loop reads the end, aiohttp pools the socket
    assert len(fake.requests) == 3 and fake.connections == 1


# ---------------------------------------------------------------- faults → taxonomy


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("behaviour", "error", "status"),
    [
        (Status(500, "The server had an error while processing your request."), ServerError, 500),
        (Status(503, "The engine is currently overloaded"), ServerError, 503),
        (model_not_found("gpt-nope"), Unavailable, 404),
        (ContextTooLongBehaviour(), ContextTooLong, 400),
        (
            Status(400, "Invalid value for 'temperature'", error_type="invalid_request_error"),
            BadRequest,
            400,
        ),
        (
            Status(
                429,
                body=error_body(
                    429,
                    "You exceeded your current quota, please check your plan and billing details.",
                    type_="insufficient_quota",
                    code="insufficient_quota",
                ),
            ),
            Unavailable,
            429,
        ),
    ],
)
async def test_http_errors(
    fake: FakeOpenAI,
    provider: OpenAIProvider,
    stream: bool,
    behaviour: Any,
    error: type[ProviderError],
    status: int,
) -> None:
    fake.script(behaviour)
    with pytest.raises(error) as info:
        await collect(provider, chat(max_tokens=100), stream=stream)
    assert type(info.value) is error
    assert info.value.status == status and info.value.provider == "openai"


@pytest.mark.parametrize("stream", [True, False])
async def test_rate_limited_with_and_without_retry_after(
    fake: FakeOpenAI, provider: OpenAIProvider, stream: bool
) -> None:
    fake.script(rate_limited("7"), rate_limited())
    with pytest.raises(RateLimited) as info:
        await collect(provider, chat(), stream=stream)
    assert info.value.retry_after == 7.0 and "Rate limit reached" in str(info.value)
    with pytest.raises(RateLimited) as info:
        await collect(provider, chat(), stream=stream)
    assert info.value.retry_after is None


async def test_context_code_wins_over_wording(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    body = error_body(
        400, "Requested 9000 tokens; this deployment allows 8192.", code="context_length_exceeded"
    )
    fake.script(Status(400, body=body))
    with pytest.raises(ContextTooLong, match="9000"):
        await collect(provider, chat())


@pytest.mark.parametrize("stream", [True, False])
async def test_bad_key_is_auth_error_without_leaking(fake: FakeOpenAI, stream: bool) -> None:
    wrong = "sk-wrong-0123456789-secret"
    p = make_provider(fake, api_key=SecretStr(wrong))
    try:
        with pytest.raises(AuthError) as info:
            await collect(p, chat(), stream=stream)
    finally:
        await p.aclose()
    assert info.value.status == 401
    assert "Incorrect API key" in str(info.value)
    assert wrong not in str(info.value) and wrong not in repr(info.value) and wrong not in repr(p)


async def test_key_echoed_by_server_is_redacted(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script(
        Status(401, f"Incorrect API key provided: {SECRET}."),
        StreamError(f"bad token {SECRET}"),
    )
    with pytest.raises(AuthError) as auth:
        await collect(provider, chat())
    with pytest.raises(ServerError) as server:
        await collect(provider, chat())
    for exc in (auth.value, server.value):
        assert SECRET not in str(exc) and SECRET not in repr(exc) and "[redacted]" in str(exc)


@pytest.mark.parametrize("stream", [True, False])
async def test_hang_times_out(fake: FakeOpenAI, stream: bool) -> None:
    fake.script(Hang(1.5))
    p = make_provider(fake, timeout_seconds=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(Timeout):
            await collect(p, chat(), stream=stream)
        assert time.monotonic() - started < 1.4
    finally:
        await p.aclose()


@pytest.mark.parametrize("stream", [True, False])
async def test_connection_refused_is_unavailable(fake: FakeOpenAI, stream: bool) -> None:
    p = make_provider(fake, base_url=f"http://127.0.0.1:{closed_port()}/v1")
    try:
        with pytest.raises(Unavailable, match="cannot connect"):
            await collect(p, chat(), stream=stream)
    finally:
        await p.aclose()


@pytest.mark.parametrize("stream", [True, False])
async def test_malformed_json(fake: FakeOpenAI, provider: OpenAIProvider, stream: bool) -> None:
    fake.script(Malformed())
    with pytest.raises(MalformedResponse):
        await collect(provider, chat(), stream=stream)


@pytest.mark.parametrize("body", ['{"choices": []}', "[1, 2]", '{"choices": [{"message": 5}]}'])
async def test_valid_json_wrong_shape_is_malformed(
    fake: FakeOpenAI, provider: OpenAIProvider, body: str
) -> None:
    fake.script(Malformed(body))
    with pytest.raises(MalformedResponse):
        await collect(provider, chat(), stream=False)


async def test_cut_stream_fails_after_first_deltas(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    fake.script(CutStream(after=2, reply=Reply(text="alpha beta gamma delta")))
    seen: list[str] = []
    with pytest.raises(ServerError):
        async for event in provider.generate(chat()):
            assert isinstance(event, TextDelta), "a cut stream must not complete"
            seen.append(event.text)
    assert seen == ["alpha", " beta"]


async def test_stream_without_done_marker(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script(OpenAIReply(done=False, usage=False), OpenAIReply(done=False, finish_reason=""))
    deltas, completion = await collect(provider, chat())  # finished: accepted without [DONE]
    assert "".join(deltas) == Reply().text
    assert completion.finish_reason == "stop" and completion.usage is None
    with pytest.raises(ServerError, match="stream ended early"):  # neither finish nor [DONE]
        await collect(provider, chat())


async def test_cut_body_and_drop(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script(CutStream(), Drop(), Drop())
    with pytest.raises(ServerError):
        await collect(provider, chat(), stream=False)
    with pytest.raises(ServerError):
        await collect(provider, chat(), stream=False)
    with pytest.raises(ServerError):
        await collect(provider, chat(), stream=True)


async def test_error_event_inside_stream(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script(StreamError("The server had an error", after=1))
    seen: list[str] = []
    with pytest.raises(ServerError, match="server had an error"):
        async for event in provider.generate(chat()):
            assert isinstance(event, TextDelta)
            seen.append(event.text)
    assert seen == ["This"]


# ---------------------------------------------------------------- cancellation


async def test_closing_the_stream_early_disconnects(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    fake.script(Reply(text=" ".join(["word"] * 300), chunk_delay=0.02))
    gen = provider.generate(chat())
    assert isinstance(await anext(gen), TextDelta)
    await gen.aclose()
    await wait_for(lambda: fake.requests[-1].stream_outcome == "disconnected")


async def test_cancelling_the_consumer_disconnects(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    fake.script(Reply(text=" ".join(["word"] * 300), chunk_delay=0.02))
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in provider.generate(chat()):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for(lambda: fake.requests[-1].stream_outcome == "disconnected")


# ---------------------------------------------------------------- models, construction


async def test_list_models(fake: FakeOpenAI) -> None:
    p = make_provider(fake, context_windows={"gpt-4o": 128000})
    try:
        models = await p.list_models()
    finally:
        await p.aclose()
    assert [(m.id, m.context_window) for m in models] == [("gpt-4o-mini", None), ("gpt-4o", 128000)]
    assert fake.requests[0].path == "/v1/models"
    assert fake.requests[0].headers["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [(Status(500), ServerError), (Malformed(), MalformedResponse), (Status(401), AuthError)],
)
async def test_list_models_errors(
    fake: FakeOpenAI, provider: OpenAIProvider, behaviour: Any, error: type[ProviderError]
) -> None:
    fake.script(behaviour)
    with pytest.raises(error):
        await provider.list_models()


async def test_construction_is_lazy_and_registry_builds_it() -> None:
    cfg = ProviderConfig(kind="openai", base_url=f"http://127.0.0.1:{closed_port()}/v1")
    p = create_provider("vllm", cfg)
    assert isinstance(p, OpenAIProvider) and p.kind == "openai" and p.name == "vllm"
    assert p._client is None  # no I/O, no client until the first request
    assert p.is_local
    await p.aclose()
    remote = create_provider("openai", ProviderConfig(api_key=SecretStr(SECRET)))
    assert isinstance(remote, OpenAIProvider)
    assert remote.base_url == "https://api.openai.com/v1" and not remote.is_local
    assert SECRET not in repr(remote)
