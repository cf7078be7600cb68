"""AnthropicProvider against the loopback Anthropic fake (real HTTP, no mocks).

The fake itself is checked with the official ``anthropic`` SDK at the bottom of this file, so the
adapter is tested against the wire format the SDK (and the real API) speaks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anthropic
import httpx
import pytest
from tests.fakes.anthropic import (
    CONTEXT_TOO_LONG_MESSAGE,
    AnthropicReply,
    EndEarly,
    FakeAnthropic,
    StreamError,
)
from tests.fakes.base import (
    ContextTooLong as FakeContextTooLong,
)
from tests.fakes.base import (
    CutStream,
    Drop,
    Hang,
    Malformed,
    Reply,
    Status,
)
from tests.helpers import closed_port

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
from magray_lsp.providers.anthropic import AnthropicProvider
from magray_lsp.providers.base import ChatRequest, Completion, Message, TextDelta, Usage

KEY = "sk-ant-test-0123456789abcdef"
MODEL = "claude-3-5-haiku-20241022"


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic(api_key=KEY).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh(fake: FakeAnthropic) -> None:
    fake.reset()
    fake.models = [dict(m) for m in FakeAnthropic().models]


MakeProvider = Callable[..., AnthropicProvider]


@pytest.fixture
async def make_provider(fake: FakeAnthropic) -> AsyncIterator[MakeProvider]:
    made: list[AnthropicProvider] = []

    def make(**overrides: Any) -> AnthropicProvider:
        cfg: dict[str, Any] = {"api_key": KEY, "base_url": fake.url, "timeout_seconds": 5.0}
        cfg.update(overrides)
        provider = AnthropicProvider("anthropic", ProviderConfig(**cfg))
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture
def provider(make_provider: MakeProvider) -> AnthropicProvider:
    return make_provider()


def chat(text: str = "Explain this code.", **kw: Any) -> ChatRequest:
    return ChatRequest(model=MODEL, messages=(Message("user", text),), **kw)


async def collect(
    provider: AnthropicProvider, request: ChatRequest, *, stream: bool = True
) -> tuple[list[str], Completion]:
    deltas: list[str] = []
    completion: Completion | None = None
    async for event in provider.generate(request, stream=stream):
        if isinstance(event, TextDelta):
            assert completion is None, "text after the completion"
            deltas.append(event.text)
        else:
            assert completion is None, "two completions"
            completion = event
    assert completion is not None
    return deltas, completion


async def until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- success paths


async def test_stream_yields_deltas_then_completion(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.script(Reply(text="Adds two numbers together.", input_tokens=42, output_tokens=9))
    deltas, done = await collect(provider, chat())
    assert deltas == ["Adds", " two", " numbers", " together."]
    assert done.usage == Usage(input_tokens=42, output_tokens=9, cached_input_tokens=0)
    assert done.finish_reason == "stop"
    assert done.model == MODEL
    assert fake.requests[-1].body["stream"] is True
    # the answer does not wait for the body's end, so the fake may record it a moment later
    await until(lambda: fake.requests[-1].stream_outcome == "completed")


async def test_non_stream_is_one_call_one_delta(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.script(Reply(text="Adds two numbers.", input_tokens=30, output_tokens=5))
    deltas, done = await collect(provider, chat(), stream=False)
    assert deltas == ["Adds two numbers."]
    assert done.usage == Usage(input_tokens=30, output_tokens=5)
    assert done.finish_reason == "stop"
    assert done.model == MODEL
    assert len(fake.requests) == 1
    assert fake.requests[0].body["stream"] is False
    assert fake.requests[-1].stream_outcome is None


async def test_complete_collects_non_stream_answer(provider: AnthropicProvider) -> None:
    answer = await provider.complete(chat())
    assert answer.text == Reply().text
    assert answer.usage == Usage(input_tokens=11, output_tokens=7)


async def test_deltas_arrive_before_the_stream_finishes(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.script(Reply(chunks=["one", " two", " three"], chunk_delay=0.15))
    gen = provider.generate(chat())
    first = await anext(gen)
    assert first == TextDelta("one")
    assert fake.requests[-1].stream_outcome is None  # not buffered: the fake is still sending
    rest = [e async for e in gen]
    assert [e for e in rest if isinstance(e, TextDelta)] == [TextDelta(" two"), TextDelta(" three")]


@pytest.mark.parametrize("stream", [True, False])
async def test_cache_tokens_count_as_input_reads_and_writes_apart(
    fake: FakeAnthropic, provider: AnthropicProvider, stream: bool
) -> None:
    fake.script(
        AnthropicReply(
            input_tokens=5,
            cache_creation_input_tokens=100,
            cache_read_input_tokens=900,
            output_tokens=12,
        )
    )
    _, done = await collect(provider, chat(), stream=stream)
    assert done.usage == Usage(
        input_tokens=1005, output_tokens=12, cached_input_tokens=900, cache_write_tokens=100
    )


@pytest.mark.parametrize(
    ("finish", "expected"),
    [
        ("length", "length"),
        ("max_tokens", "length"),
        ("stop_sequence", "stop"),
        ("end_turn", "stop"),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
async def test_finish_reasons(
    fake: FakeAnthropic, provider: AnthropicProvider, finish: str, expected: str, stream: bool
) -> None:
    fake.script(Reply(finish_reason=finish))
    _, done = await collect(provider, chat(stop=("END",)), stream=stream)
    assert done.finish_reason == expected


@pytest.mark.parametrize("stream", [True, False])
async def test_refusal_without_text_is_content_filtered(
    fake: FakeAnthropic, provider: AnthropicProvider, stream: bool
) -> None:
    fake.script(Reply(text="", finish_reason="refusal", output_tokens=0))
    with pytest.raises(ContentFiltered):
        await collect(provider, chat(), stream=stream)


async def test_refusal_after_text_completes_with_content_filter_reason(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.script(Reply(text="I will not", finish_reason="refusal"))
    deltas, done = await collect(provider, chat())
    assert "".join(deltas) == "I will not"
    assert done.finish_reason == "content_filter"


async def test_parallel_streams_do_not_interfere(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.default = Reply(text="same answer for everyone", chunk_delay=0.01)
    results = await asyncio.gather(*(collect(provider, chat(f"q{i}")) for i in range(10)))
    assert all("".join(d) == "same answer for everyone" for d, _ in results)
    await until(lambda: sum(r.stream_outcome == "completed" for r in fake.requests) == 10)


# ---------------------------------------------------------------- request shape


async def test_request_body_and_headers(fake: FakeAnthropic, make_provider: MakeProvider) -> None:
    provider = make_provider(
        defaults=GenerationDefaults(max_tokens=500, temperature=0.2, top_k=40, metadata={"a": 1}),
        headers={"anthropic-beta": "prompt-caching-2024-07-31"},
    )
    request = ChatRequest(
        model=MODEL,
        messages=(
            Message("system", "You are a code explainer."),
            Message("user", "What does f do?"),
            Message("assistant", "It adds."),
            Message("user", "And g?"),
            Message("user", "Be brief."),
        ),
        temperature=0.5,
        top_p=0.9,
        stop=("\n\nHuman:", "END"),
        extra={"top_k": 5},
    )
    await collect(provider, request)
    rec = fake.requests[-1]
    assert rec.method == "POST"
    assert rec.path == "/v1/messages"
    body = rec.body
    assert body["model"] == MODEL
    assert body["system"] == "You are a code explainer."
    assert body["messages"] == [
        {"role": "user", "content": "What does f do?"},
        {"role": "assistant", "content": "It adds."},
        {"role": "user", "content": "And g?\n\nBe brief."},
    ]
    assert all(m["role"] != "system" for m in body["messages"])
    assert body["max_tokens"] == 500  # from defaults
    assert body["temperature"] == 0.5  # request wins over defaults
    assert body["top_p"] == 0.9
    assert body["top_k"] == 5  # request.extra wins over defaults' extra key
    assert body["metadata"] == {"a": 1}  # defaults' extra key passed through
    assert body["stop_sequences"] == ["\n\nHuman:", "END"]
    assert body["stream"] is True
    headers = rec.headers
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert headers["x-api-key"] == KEY
    assert "authorization" not in headers
    assert [k for k, v in headers.items() if KEY in v] == ["x-api-key"]


@pytest.mark.parametrize(
    ("request_max", "default_max", "expected"),
    [(64, 500, 64), (None, 500, 500), (None, None, 1024)],
)
async def test_max_tokens_is_always_sent(
    fake: FakeAnthropic,
    make_provider: MakeProvider,
    request_max: int | None,
    default_max: int | None,
    expected: int,
) -> None:
    provider = make_provider(defaults=GenerationDefaults(max_tokens=default_max))
    await collect(provider, chat(max_tokens=request_max), stream=False)
    assert fake.requests[-1].body["max_tokens"] == expected


async def test_no_system_field_without_system_message(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    await collect(provider, chat())
    body = fake.requests[-1].body
    assert "system" not in body
    assert "stop_sequences" not in body
    assert "temperature" not in body


async def test_temperature_is_clamped_to_anthropic_range(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    await collect(provider, chat(temperature=1.7))
    assert fake.requests[-1].body["temperature"] == 1.0


async def test_api_version_from_config(fake: FakeAnthropic, make_provider: MakeProvider) -> None:
    await collect(make_provider(api_version="2099-01-01"), chat())
    assert fake.requests[-1].headers["anthropic-version"] == "2099-01-01"


async def test_base_url_with_v1_suffix(fake: FakeAnthropic, make_provider: MakeProvider) -> None:
    deltas, _ = await collect(make_provider(base_url=fake.url + "/v1/"), chat())
    assert deltas
    assert fake.requests[-1].path == "/v1/messages"


async def test_request_without_user_turn_is_bad_request(provider: AnthropicProvider) -> None:
    request = ChatRequest(model=MODEL, messages=(Message("system", "only a system prompt"),))
    with pytest.raises(BadRequest):
        await collect(provider, request)


# ---------------------------------------------------------------- faults

ERROR_CASES: list[tuple[Any, type[ProviderError], int | None]] = [
    (Status(500, "Internal server error"), ServerError, 500),
    (Status(529, "Overloaded"), ServerError, 529),
    (Status(401, "invalid x-api-key"), AuthError, 401),
    (Status(403, "forbidden"), AuthError, 403),
    (Status(400, "messages: field required"), BadRequest, 400),
    (Status(404, "model: claude-9"), Unavailable, 404),
    (FakeContextTooLong(), ContextTooLong, 400),
    (Malformed(), MalformedResponse, None),
    (Drop(), ServerError, None),
]


@pytest.mark.parametrize(("behaviour", "error", "status"), ERROR_CASES)
@pytest.mark.parametrize("stream", [True, False])
async def test_http_errors_map_to_taxonomy(
    fake: FakeAnthropic,
    provider: AnthropicProvider,
    behaviour: Any,
    error: type[ProviderError],
    status: int | None,
    stream: bool,
) -> None:
    fake.script(behaviour)
    with pytest.raises(error) as info:
        await collect(provider, chat(), stream=stream)
    assert type(info.value) is error
    assert info.value.provider == "anthropic"
    if status is not None:
        assert info.value.status == status
    assert KEY not in str(info.value)


@pytest.mark.parametrize("stream", [True, False])
async def test_rate_limit_with_retry_after(
    fake: FakeAnthropic, provider: AnthropicProvider, stream: bool
) -> None:
    fake.script(
        Status(429, "Number of request tokens has exceeded your limit", {"retry-after": "7"})
    )
    with pytest.raises(RateLimited) as info:
        await collect(provider, chat(), stream=stream)
    assert info.value.retry_after == 7.0
    assert info.value.retryable


@pytest.mark.parametrize("stream", [True, False])
async def test_rate_limit_without_retry_after(
    fake: FakeAnthropic, provider: AnthropicProvider, stream: bool
) -> None:
    fake.script(Status(429, "rate limited"))
    with pytest.raises(RateLimited) as info:
        await collect(provider, chat(), stream=stream)
    assert info.value.retry_after is None


async def test_context_too_long_message(fake: FakeAnthropic, provider: AnthropicProvider) -> None:
    fake.script(FakeContextTooLong())
    with pytest.raises(ContextTooLong) as info:
        await collect(provider, chat())
    assert CONTEXT_TOO_LONG_MESSAGE in str(info.value)


async def test_wrong_key_is_auth_error(fake: FakeAnthropic, make_provider: MakeProvider) -> None:
    with pytest.raises(AuthError) as info:
        await collect(make_provider(api_key="sk-ant-wrong-key"), chat())
    assert "sk-ant-wrong-key" not in str(info.value)
    assert fake.requests[-1].headers["x-api-key"] == "sk-ant-wrong-key"


async def test_missing_key_is_auth_error(fake: FakeAnthropic, make_provider: MakeProvider) -> None:
    with pytest.raises(AuthError):
        await collect(make_provider(api_key=None), chat())
    assert "x-api-key" not in fake.requests[-1].headers


async def test_key_echoed_by_server_is_redacted(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.script(Status(401, f"invalid x-api-key: {KEY}"))
    with pytest.raises(AuthError) as info:
        await collect(provider, chat())
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert "[redacted]" in str(info.value)
    assert KEY not in repr(provider)


@pytest.mark.parametrize("stream", [True, False])
async def test_hang_with_small_timeout_is_timeout(
    fake: FakeAnthropic, make_provider: MakeProvider, stream: bool
) -> None:
    fake.script(Hang(2.0))
    provider = make_provider(timeout_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(Timeout):
        await collect(provider, chat(), stream=stream)
    assert time.monotonic() - started < 1.5


async def test_stall_mid_stream_is_timeout(
    fake: FakeAnthropic, make_provider: MakeProvider
) -> None:
    fake.script(Reply(chunks=["one", " two"], chunk_delay=2.0))
    deltas: list[str] = []
    with pytest.raises(Timeout):
        async for event in make_provider(timeout_seconds=0.3).generate(chat()):
            assert isinstance(event, TextDelta)
            deltas.append(event.text)
    assert deltas == []  # headers and the preamble arrived; then nothing within the timeout
    assert fake.requests[-1].body["stream"] is True


@pytest.mark.parametrize("stream", [True, False])
async def test_connection_refused_is_unavailable(make_provider: MakeProvider, stream: bool) -> None:
    provider = make_provider(base_url=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(Unavailable):
        await collect(provider, chat(), stream=stream)


async def test_cut_stream_after_first_deltas_is_server_error(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.script(CutStream(after=2, reply=Reply(text="one two three four five")))
    deltas: list[str] = []
    with pytest.raises(ServerError):
        async for event in provider.generate(chat()):
            assert isinstance(event, TextDelta), "a cut stream must not complete"
            deltas.append(event.text)
    assert deltas == ["one", " two"]


async def test_cut_body_non_stream_is_server_error(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.script(CutStream())
    with pytest.raises(ServerError):
        await collect(provider, chat(), stream=False)


async def test_stream_without_message_stop_is_server_error(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.script(EndEarly(after=2, reply=Reply(text="one two three")))
    deltas: list[str] = []
    with pytest.raises(ServerError, match="stream ended early"):
        async for event in provider.generate(chat()):
            assert isinstance(event, TextDelta)
            deltas.append(event.text)
    assert deltas == ["one", " two"]


async def test_malformed_stream_event(fake: FakeAnthropic, provider: AnthropicProvider) -> None:
    fake.script(Malformed())
    with pytest.raises(MalformedResponse):
        await collect(provider, chat())


async def test_wrong_shape_non_stream_is_malformed(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.script(Malformed(body='{"id": "msg_1", "type": "message"}'))
    with pytest.raises(MalformedResponse):
        await collect(provider, chat(), stream=False)


@pytest.mark.parametrize("after", [0, 2])
async def test_mid_stream_overloaded_event_is_server_error(
    fake: FakeAnthropic, provider: AnthropicProvider, after: int
) -> None:
    fake.script(StreamError(after=after, reply=Reply(text="one two three")))
    deltas: list[str] = []
    with pytest.raises(ServerError) as info:
        async for event in provider.generate(chat()):
            assert isinstance(event, TextDelta)
            deltas.append(event.text)
    assert type(info.value) is ServerError
    assert "Overloaded" in str(info.value)
    assert deltas == ["one", " two", " three"][:after]


@pytest.mark.parametrize(
    ("error_type", "message", "error"),
    [
        ("rate_limit_error", "slow down", RateLimited),
        ("api_error", "Internal server error", ServerError),
        ("invalid_request_error", CONTEXT_TOO_LONG_MESSAGE, ContextTooLong),
        ("authentication_error", "invalid x-api-key", AuthError),
        ("some_future_error", "new", ServerError),
    ],
)
async def test_mid_stream_error_types(
    fake: FakeAnthropic,
    provider: AnthropicProvider,
    error_type: str,
    message: str,
    error: type[ProviderError],
) -> None:
    fake.script(StreamError(after=1, error_type=error_type, message=message))
    with pytest.raises(error):
        await collect(provider, chat())


# ---------------------------------------------------------------- cancellation


async def test_closing_the_stream_early_disconnects(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.script(Reply(chunks=[f" w{i}" for i in range(200)], chunk_delay=0.02))
    gen = provider.generate(chat())
    assert isinstance(await anext(gen), TextDelta)
    await gen.aclose()
    await until(lambda: fake.requests[-1].stream_outcome == "disconnected")


async def test_cancelling_the_consumer_disconnects(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.script(Reply(chunks=[f" w{i}" for i in range(200)], chunk_delay=0.02))
    got_first = asyncio.Event()

    async def consume() -> None:
        async for _ in provider.generate(chat()):
            got_first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await until(lambda: fake.requests[-1].stream_outcome == "disconnected")


# ---------------------------------------------------------------- models, lifecycle


async def test_list_models_skips_retired(fake: FakeAnthropic, provider: AnthropicProvider) -> None:
    models = await provider.list_models()
    assert [m.id for m in models] == ["claude-sonnet-4-5-20250929", "claude-3-5-haiku-20241022"]
    assert models[0].context_window == 200000
    rec = fake.requests[-1]
    assert rec.method == "GET"
    assert rec.path == "/v1/models"
    assert rec.headers["x-api-key"] == KEY


async def test_list_models_follows_pages(fake: FakeAnthropic, provider: AnthropicProvider) -> None:
    fake.models = [
        {
            "type": "model",
            "id": f"claude-test-{i:04d}",
            "display_name": f"Test {i}",
            "created_at": "2025-01-01T00:00:00Z",
            "lifecycle": "active",
        }
        for i in range(1500)
    ]
    models = await provider.list_models()
    assert len(models) == 1500
    assert models[-1].id == "claude-test-1499"
    assert models[0].context_window is None
    assert [r.query.get("after_id") for r in fake.requests] == [None, "claude-test-0999"]


async def test_list_models_errors(fake: FakeAnthropic, make_provider: MakeProvider) -> None:
    with pytest.raises(AuthError):
        await make_provider(api_key="sk-ant-wrong").list_models()
    fake.script(Status(529, "Overloaded"))
    with pytest.raises(ServerError):
        await make_provider().list_models()
    with pytest.raises(Unavailable):
        await make_provider(base_url=f"http://127.0.0.1:{closed_port()}").list_models()


async def test_is_local_and_lazy_client(fake: FakeAnthropic) -> None:
    local = AnthropicProvider("anthropic", ProviderConfig(base_url=fake.url))
    remote = AnthropicProvider("anthropic", ProviderConfig(api_key=KEY))
    assert local.is_local
    assert not remote.is_local
    assert remote._client is None  # constructing does no I/O
    assert KEY not in repr(remote)
    await local.aclose()
    await remote.aclose()


async def test_aclose_then_reuse(fake: FakeAnthropic, provider: AnthropicProvider) -> None:
    await collect(provider, chat())
    await provider.aclose()
    assert provider._client is None
    deltas, _ = await collect(provider, chat())
    assert deltas


def test_registry_builds_the_adapter(fake: FakeAnthropic) -> None:
    provider = create_provider("anthropic", ProviderConfig(api_key=KEY, base_url=fake.url))
    assert isinstance(provider, AnthropicProvider)
    assert provider.kind == "anthropic"
    named = create_provider("claude-proxy", ProviderConfig(kind="anthropic"))
    assert isinstance(named, AnthropicProvider)


# ---------------------------------------------------------------- the fake's own rules


async def test_fake_enforces_the_real_api_rules(fake: FakeAnthropic) -> None:
    good: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
    }
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    cases: list[tuple[dict[str, str], dict[str, Any], int, str]] = [
        ({"anthropic-version": "2023-06-01"}, good, 401, "authentication_error"),
        ({"x-api-key": KEY}, good, 400, "invalid_request_error"),
        (headers, {**good, "max_tokens": None}, 400, "invalid_request_error"),
        (
            headers,
            {**good, "messages": [{"role": "system", "content": "x"}, *good["messages"]]},
            400,
            "invalid_request_error",
        ),
    ]
    async with httpx.AsyncClient(base_url=fake.url) as client:
        for hdrs, body, status, error_type in cases:
            r = await client.post("/v1/messages", json=body, headers=hdrs)
            assert r.status_code == status
            assert r.json()["type"] == "error"
            assert r.json()["error"]["type"] == error_type
        assert all(r.stream_outcome is None for r in fake.requests)


# ---------------------------------------------------------------- the official SDK accepts the fake


def sdk(fake: FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=KEY, base_url=fake.url, max_retries=0, timeout=5.0)


def async_sdk(fake: FakeAnthropic) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key=KEY, base_url=fake.url, max_retries=0, timeout=5.0)


USER = [{"role": "user", "content": "hi"}]


def test_sdk_sync_create(fake: FakeAnthropic) -> None:
    fake.script(
        AnthropicReply(
            text="Hello there.",
            input_tokens=3,
            output_tokens=4,
            cache_read_input_tokens=8,
            cache_creation_input_tokens=2,
        )
    )
    with sdk(fake) as client:
        msg = client.messages.create(
            model=MODEL,
            max_tokens=50,
            system="be terse",
            messages=USER,  # type: ignore[arg-type]
        )
    assert msg.type == "message"
    assert msg.role == "assistant"
    assert msg.model == MODEL
    assert msg.content[0].type == "text"
    assert msg.content[0].text == "Hello there."
    assert msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens == 3
    assert msg.usage.output_tokens == 4
    assert msg.usage.cache_read_input_tokens == 8
    assert msg.usage.cache_creation_input_tokens == 2
    assert fake.requests[-1].body["system"] == "be terse"


def test_sdk_sync_stream(fake: FakeAnthropic) -> None:
    fake.script(Reply(text="one two three", input_tokens=5, output_tokens=3))
    with sdk(fake) as client:
        with client.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:  # type: ignore[arg-type]
            pieces = list(stream.text_stream)
            final = stream.get_final_message()
    assert pieces == ["one", " two", " three"]
    assert final.content[0].text == "one two three"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == 5
    assert final.usage.output_tokens == 3


def test_sdk_sync_raw_stream_events(fake: FakeAnthropic) -> None:
    with sdk(fake) as client:
        events: list[Any] = list(
            client.messages.create(model=MODEL, max_tokens=50, messages=USER, stream=True)  # type: ignore[arg-type]
        )
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start"
    assert kinds[1] == "content_block_start"
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}


async def test_sdk_async_create_and_stream(fake: FakeAnthropic) -> None:
    fake.script(Reply(text="async one"), Reply(text="async two", output_tokens=2))
    async with async_sdk(fake) as client:
        msg = await client.messages.create(model=MODEL, max_tokens=50, messages=USER)  # type: ignore[arg-type]
        assert msg.content[0].text == "async one"  # type: ignore[union-attr]
        async with client.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:  # type: ignore[arg-type]
            pieces = [p async for p in stream.text_stream]
            final = await stream.get_final_message()
    assert pieces == ["async", " two"]
    assert final.usage.output_tokens == 2


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        (Status(429, "rate limited", {"retry-after": "3"}), anthropic.RateLimitError),
        (FakeContextTooLong(), anthropic.BadRequestError),
        (Status(529, "Overloaded"), anthropic.OverloadedError),
        (Status(500, "boom"), anthropic.InternalServerError),
        (Status(401, "invalid x-api-key"), anthropic.AuthenticationError),
    ],
)
def test_sdk_typed_errors(fake: FakeAnthropic, behaviour: Any, error: type[Exception]) -> None:
    fake.script(behaviour)
    with sdk(fake) as client, pytest.raises(error) as info:
        client.messages.create(model=MODEL, max_tokens=50, messages=USER)  # type: ignore[arg-type]
    err = info.value
    assert isinstance(err, anthropic.APIStatusError)
    assert isinstance(err.body, dict)
    assert err.body["type"] == "error"
    assert err.request_id is not None
    if isinstance(behaviour, FakeContextTooLong):
        assert err.body["error"] == {
            "type": "invalid_request_error",
            "message": CONTEXT_TOO_LONG_MESSAGE,
        }
    if err.status_code == 429:
        assert err.response.headers["retry-after"] == "3"


async def test_sdk_async_typed_errors(fake: FakeAnthropic) -> None:
    fake.script(Status(529, "Overloaded"), Status(429, "slow down"))
    async with async_sdk(fake) as client:
        with pytest.raises(anthropic.OverloadedError):
            await client.messages.create(model=MODEL, max_tokens=50, messages=USER)  # type: ignore[arg-type]
        with pytest.raises(anthropic.RateLimitError):
            async with client.messages.stream(model=MODEL, max_tokens=50, messages=USER) as s:  # type: ignore[arg-type]
                await s.get_final_message()


def test_sdk_mid_stream_error_event(fake: FakeAnthropic) -> None:
    fake.script(StreamError(after=1, reply=Reply(text="one two")))
    pieces: list[str] = []
    with sdk(fake) as client, pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:  # type: ignore[arg-type]
            for piece in stream.text_stream:
                pieces.append(piece)
    assert pieces == ["one"]
    assert isinstance(info.value.body, dict)
    assert info.value.body["error"]["type"] == "overloaded_error"


def test_sdk_models_list_pages(fake: FakeAnthropic) -> None:
    with sdk(fake) as client:
        first = client.models.list(limit=1)
        assert first.has_more
        assert first.first_id == "claude-sonnet-4-5-20250929"
        ids = [m.id for m in client.models.list(limit=1)]  # auto-pagination via after_id
        one = client.models.retrieve("claude-3-5-haiku-20241022")
    assert ids == [m["id"] for m in fake.models]
    assert one.display_name == "Claude Haiku 3.5"
    assert one.max_input_tokens == 200000


async def test_sdk_async_models_list(fake: FakeAnthropic) -> None:
    async with async_sdk(fake) as client:
        ids = [m.id async for m in client.models.list()]
    assert ids == [m["id"] for m in fake.models]
