"""GeminiProvider against the loopback Gemini fake, and the fake against the official SDK.

Real HTTP over 127.0.0.1 throughout; nothing is mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import SecretStr
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
from tests.fakes.gemini import (
    CONTEXT_TOO_LONG_MESSAGE,
    DEFAULT_MODELS,
    FakeGemini,
    GeminiReply,
    SafetyBlock,
    google_error,
)
from tests.helpers import closed_port, wait_for

from magray_lsp.config.models import GenerationDefaults, ProviderConfig
from magray_lsp.errors import (
    AuthError,
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
from magray_lsp.providers.base import ChatRequest, Completion, Message, TextDelta, Usage
from magray_lsp.providers.google import GeminiProvider

KEY = "AIza-fake-secret-key-0123456789"
MODEL = "gemini-2.0-flash"


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeGemini]:
    server = FakeGemini(api_key=KEY).start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeGemini) -> FakeGemini:
    fake_server.reset()
    fake_server.api_key = KEY
    fake_server.models = [dict(m) for m in DEFAULT_MODELS]
    fake_server.max_page_size = 1000
    return fake_server


def make_provider(fake: FakeGemini, **overrides: Any) -> GeminiProvider:
    settings: dict[str, Any] = {
        "api_key": SecretStr(KEY),
        "base_url": fake.url,
        "timeout_seconds": 5.0,
    }
    settings.update(overrides)
    return GeminiProvider("google", ProviderConfig(**settings))


@pytest.fixture
async def provider(fake: FakeGemini) -> AsyncIterator[GeminiProvider]:
    p = make_provider(fake)
    yield p
    await p.aclose()


def chat(text: str = "What does add() do?", **kw: Any) -> ChatRequest:
    return ChatRequest(model=MODEL, messages=(Message("user", text),), **kw)


async def collect(
    p: GeminiProvider, request: ChatRequest | None = None, *, stream: bool = True
) -> tuple[list[str], Completion]:
    deltas: list[str] = []
    done: list[Completion] = []
    async for event in p.generate(request or chat(), stream=stream):
        assert not done, "nothing may follow the Completion"
        if isinstance(event, TextDelta):
            assert event.text
            deltas.append(event.text)
        else:
            done.append(event)
    assert len(done) == 1
    return deltas, done[0]


# ---------------------------------------------------------------- success paths


async def test_registry_builds_gemini_without_io(fake: FakeGemini) -> None:
    p = create_provider("google", ProviderConfig(api_key=SecretStr(KEY), base_url=fake.url))
    assert isinstance(p, GeminiProvider)
    assert p.kind == "google"
    assert p._client is None  # lazily created on first use
    assert fake.requests == []
    await p.aclose()


async def test_stream_yields_each_piece_then_completion(
    fake: FakeGemini, provider: GeminiProvider
) -> None:
    fake.script(Reply(text="Adds a and b.", input_tokens=13, output_tokens=5))
    deltas, done = await collect(provider)
    assert deltas == ["Adds", " a", " and", " b."]
    assert done.usage == Usage(input_tokens=13, output_tokens=5, cached_input_tokens=0)
    assert done.finish_reason == "stop"
    assert done.model == MODEL
    req = fake.requests[-1]
    assert req.method == "POST"
    assert req.path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert req.query == {"alt": "sse"}
    assert fake.requests[-1].stream_outcome == "completed"


async def test_stream_usage_is_the_last_events(fake: FakeGemini, provider: GeminiProvider) -> None:
    # intermediate events report only the prompt; the last one has the final counts
    fake.script(
        GeminiReply(text="one two three", input_tokens=20, output_tokens=9, cached_tokens=4)
    )
    _, done = await collect(provider)
    assert done.usage == Usage(input_tokens=20, output_tokens=9, cached_input_tokens=4)


async def test_thinking_tokens_count_as_output(fake: FakeGemini, provider: GeminiProvider) -> None:
    fake.script(GeminiReply(text="ok", input_tokens=5, output_tokens=2, thoughts_tokens=30))
    _, done = await collect(provider, stream=False)
    assert done.usage == Usage(input_tokens=5, output_tokens=32)


async def test_non_stream_is_one_call_one_delta(fake: FakeGemini, provider: GeminiProvider) -> None:
    fake.script(Reply(text="The whole answer.", input_tokens=3, output_tokens=4))
    deltas, done = await collect(provider, stream=False)
    assert deltas == ["The whole answer."]
    assert done.usage == Usage(3, 4)
    assert done.finish_reason == "stop"
    assert done.model == MODEL
    assert len(fake.requests) == 1
    assert fake.requests[0].path == f"/v1beta/models/{MODEL}:generateContent"
    assert fake.requests[0].query == {}


async def test_complete_collects_answer(fake: FakeGemini, provider: GeminiProvider) -> None:
    fake.script(GeminiReply(text="Short.", output_tokens=2, cached_tokens=1))
    answer = await provider.complete(chat())
    assert answer.text == "Short."
    assert answer.usage == Usage(11, 2, 1)
    assert answer.model == MODEL


async def test_max_tokens_maps_to_length(fake: FakeGemini, provider: GeminiProvider) -> None:
    fake.script(Reply(text="cut off", finish_reason="length"))
    _, done = await collect(provider)
    assert done.finish_reason == "length"
    fake.script(Reply(text="cut off", finish_reason="length"))
    _, done = await collect(provider, stream=False)
    assert done.finish_reason == "length"


async def test_request_body_and_headers(fake: FakeGemini) -> None:
    p = make_provider(
        fake,
        defaults=GenerationDefaults(max_tokens=500, temperature=0.7, top_k=5),
        headers={"x-extra": "1"},
    )
    request = ChatRequest(
        model=MODEL,
        messages=(
            Message("system", "You are terse."),
            Message("system", "Answer in English."),
            Message("user", "Explain this."),
            Message("assistant", "Sure."),
            Message("user", "Go on."),
            Message("user", "Briefly."),
        ),
        max_tokens=64,
        temperature=0.2,
        top_p=0.9,
        stop=("END",),
        extra={
            "seed": 7,
            "safety_settings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}
            ],
        },
    )
    try:
        await collect(p, request)
    finally:
        await p.aclose()
    req = fake.requests[-1]
    assert req.body == {
        "contents": [
            {"role": "user", "parts": [{"text": "Explain this."}]},
            {"role": "model", "parts": [{"text": "Sure."}]},
            {"role": "user", "parts": [{"text": "Go on."}, {"text": "Briefly."}]},
        ],
        "systemInstruction": {
            "parts": [{"text": "You are terse."}, {"text": "Answer in English."}]
        },
        "generationConfig": {
            "maxOutputTokens": 64,  # the request wins over defaults
            "temperature": 0.2,
            "topP": 0.9,
            "topK": 5,  # extra default keys pass through, camelCased
            "seed": 7,
            "stopSequences": ["END"],
        },
        "safetySettings": [
            {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}
        ],
    }
    assert req.headers["x-goog-api-key"] == KEY
    assert req.headers["x-extra"] == "1"
    assert req.headers["content-type"].startswith("application/json")
    assert "key" not in req.query
    assert KEY not in req.path
    assert "authorization" not in req.headers


async def test_defaults_apply_when_request_leaves_them_unset(fake: FakeGemini) -> None:
    p = make_provider(fake, defaults=GenerationDefaults(max_tokens=500, temperature=0.7))
    try:
        await collect(p, stream=False)
    finally:
        await p.aclose()
    body = fake.requests[-1].body
    assert body["generationConfig"] == {"maxOutputTokens": 500, "temperature": 0.7}
    assert "systemInstruction" not in body


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"api_version": "v1"}, f"/v1/models/{MODEL}:streamGenerateContent"),
        ({"base_url_suffix": "/v1alpha"}, f"/v1alpha/models/{MODEL}:streamGenerateContent"),
        ({}, f"/v1beta/models/{MODEL}:streamGenerateContent"),
    ],
)
async def test_api_version(fake: FakeGemini, overrides: dict[str, Any], path: str) -> None:
    suffix = overrides.pop("base_url_suffix", "")
    p = make_provider(fake, base_url=fake.url + suffix, **overrides)
    try:
        await collect(p)
    finally:
        await p.aclose()
    assert fake.requests[-1].path == path


async def test_model_prefix_is_not_doubled(fake: FakeGemini, provider: GeminiProvider) -> None:
    await collect(provider, ChatRequest(model=f"models/{MODEL}", messages=(Message("user", "x"),)))
    assert fake.requests[-1].path == f"/v1beta/models/{MODEL}:streamGenerateContent"


async def test_is_local(fake: FakeGemini) -> None:
    assert make_provider(fake).is_local
    remote = GeminiProvider("google", ProviderConfig(api_key=SecretStr(KEY)))
    assert not remote.is_local


async def test_list_models_follows_pages(fake: FakeGemini, provider: GeminiProvider) -> None:
    fake.max_page_size = 2
    models = await provider.list_models()
    assert [(m.id, m.context_window) for m in models] == [
        ("gemini-2.0-flash", 1048576),
        ("gemini-2.5-flash", 1048576),
        ("gemini-1.5-pro", 2000000),
    ]  # the embedding model cannot generateContent
    assert [r.query.get("pageToken") for r in fake.requests] == [None, "2"]
    assert all(r.headers["x-goog-api-key"] == KEY for r in fake.requests)


async def test_list_models_bad_key(fake: FakeGemini) -> None:
    p = make_provider(fake, api_key=SecretStr("wrong-key-123"))
    try:
        with pytest.raises(AuthError):
            await p.list_models()
    finally:
        await p.aclose()


# ---------------------------------------------------------------- faults

BOTH = pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])


@BOTH
async def test_rate_limited_with_retry_info(
    fake: FakeGemini, provider: GeminiProvider, stream: bool
) -> None:
    fake.script(Status(429, "Resource has been exhausted", headers={"Retry-After": "7"}))
    with pytest.raises(RateLimited) as info:
        await collect(provider, stream=stream)
    assert info.value.retry_after == 7.0
    assert info.value.status == 429
    assert info.value.retryable


@BOTH
async def test_rate_limited_without_delay(
    fake: FakeGemini, provider: GeminiProvider, stream: bool
) -> None:
    fake.script(Status(429, "Resource has been exhausted"))
    with pytest.raises(RateLimited) as info:
        await collect(provider, stream=stream)
    assert info.value.retry_after is None
    assert "Resource has been exhausted" in str(info.value)


async def test_rate_limited_honours_retry_after_header(
    fake: FakeGemini, provider: GeminiProvider
) -> None:
    body = google_error(429, "slow down")
    fake.script(Status(429, body=body, headers={"Retry-After": "5"}))
    with pytest.raises(RateLimited) as info:
        await collect(provider)
    assert info.value.retry_after == 5.0


async def test_rate_limited_fractional_retry_info(
    fake: FakeGemini, provider: GeminiProvider
) -> None:
    detail = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.250s"}
    fake.script(Status(429, body=google_error(429, "quota", details=[detail])))
    with pytest.raises(RateLimited) as info:
        await collect(provider, stream=False)
    assert info.value.retry_after == 0.25


@BOTH
@pytest.mark.parametrize("code", [500, 503])
async def test_server_errors(
    fake: FakeGemini, provider: GeminiProvider, stream: bool, code: int
) -> None:
    fake.script(Status(code, "The model is overloaded. Please try again later."))
    with pytest.raises(ServerError) as info:
        await collect(provider, stream=stream)
    assert type(info.value) is ServerError
    assert info.value.status == code
    assert info.value.retryable


@BOTH
async def test_forbidden_is_auth_error(
    fake: FakeGemini, provider: GeminiProvider, stream: bool
) -> None:
    fake.script(Status(403, "Permission denied: Consumer has been suspended."))
    with pytest.raises(AuthError) as info:
        await collect(provider, stream=stream)
    assert info.value.status == 403


@BOTH
async def test_invalid_key_is_auth_error_without_the_key(fake: FakeGemini, stream: bool) -> None:
    wrong = "AIza-wrong-key-should-never-leak"
    p = make_provider(fake, api_key=SecretStr(wrong))
    try:
        with pytest.raises(AuthError) as info:
            await collect(p, stream=stream)
    finally:
        await p.aclose()
    assert info.value.status == 400  # upstream answers a bad key with 400 API_KEY_INVALID
    assert "API key not valid" in str(info.value)
    assert wrong not in str(info.value) and wrong not in repr(info.value)
    assert wrong not in repr(p)


async def test_missing_key_is_auth_error(fake: FakeGemini) -> None:
    p = make_provider(fake, api_key=None)
    try:
        with pytest.raises(AuthError) as info:
            await collect(p)
    finally:
        await p.aclose()
    assert info.value.status == 403
    assert "x-goog-api-key" not in fake.requests[-1].headers


async def test_key_echoed_by_server_is_scrubbed(fake: FakeGemini, provider: GeminiProvider) -> None:
    fake.script(Status(400, body=google_error(400, f"bad request for key {KEY}")))
    with pytest.raises(ProviderError) as info:
        await collect(provider)
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert KEY not in repr(provider)


@BOTH
async def test_context_too_long(fake: FakeGemini, provider: GeminiProvider, stream: bool) -> None:
    fake.script(FakeContextTooLong())
    with pytest.raises(ContextTooLong) as info:
        await collect(provider, stream=stream)
    assert info.value.status == 400
    assert "exceeds the maximum number of tokens" in str(info.value)
    assert info.value.fallback


@BOTH
async def test_unknown_model_is_unavailable(provider: GeminiProvider, stream: bool) -> None:
    request = ChatRequest(model="gemini-0.1-nope", messages=(Message("user", "x"),))
    with pytest.raises(Unavailable) as info:
        await collect(provider, request, stream=stream)
    assert info.value.status == 404


@BOTH
async def test_prompt_blocked_is_content_filtered(
    fake: FakeGemini, provider: GeminiProvider, stream: bool
) -> None:
    fake.script(SafetyBlock())
    with pytest.raises(ContentFiltered) as info:
        await collect(provider, stream=stream)
    assert "SAFETY" in str(info.value)
    assert not info.value.fallback


@BOTH
async def test_candidate_safety_stop_is_content_filtered(
    fake: FakeGemini, provider: GeminiProvider, stream: bool
) -> None:
    fake.script(Reply(text="", finish_reason="safety"))
    with pytest.raises(ContentFiltered):
        await collect(provider, stream=stream)


async def test_safety_stop_after_text_is_reported_not_raised(
    fake: FakeGemini, provider: GeminiProvider
) -> None:
    fake.script(Reply(text="partial answer", finish_reason="safety"))
    deltas, done = await collect(provider)
    assert "".join(deltas) == "partial answer"
    assert done.finish_reason == "content_filter"


@BOTH
async def test_hang_times_out(fake: FakeGemini, stream: bool) -> None:
    p = make_provider(fake, timeout_seconds=0.3)
    fake.script(Hang(30))
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        with pytest.raises(Timeout):
            await collect(p, stream=stream)
    finally:
        await p.aclose()
    assert loop.time() - start < 3


@BOTH
async def test_slow_stream_between_chunks_times_out(fake: FakeGemini, stream: bool) -> None:
    p = make_provider(fake, timeout_seconds=0.3)
    fake.script(Reply(text="a b c", delay=2.0))
    try:
        with pytest.raises(Timeout):
            await collect(p, stream=stream)
    finally:
        await p.aclose()


@BOTH
async def test_connection_refused_is_unavailable(stream: bool) -> None:
    cfg = ProviderConfig(
        api_key=SecretStr(KEY), base_url=f"http://127.0.0.1:{closed_port()}", timeout_seconds=2
    )
    p = GeminiProvider("google", cfg)
    try:
        with pytest.raises(Unavailable) as info:
            await collect(p, stream=stream)
    finally:
        await p.aclose()
    assert KEY not in str(info.value)


@BOTH
async def test_malformed_json(fake: FakeGemini, provider: GeminiProvider, stream: bool) -> None:
    fake.script(Malformed())
    with pytest.raises(MalformedResponse):
        await collect(provider, stream=stream)


async def test_json_without_candidates_is_malformed(
    fake: FakeGemini, provider: GeminiProvider
) -> None:
    fake.script(Malformed('{"unexpected": true}'))
    with pytest.raises(MalformedResponse, match="no candidates"):
        await collect(provider, stream=False)


async def test_stream_of_foreign_events_never_finishes(
    fake: FakeGemini, provider: GeminiProvider
) -> None:
    fake.script(Malformed('{"unexpected": true}'))
    with pytest.raises(ServerError, match="stream ended early"):
        await collect(provider)


async def test_error_event_inside_stream(fake: FakeGemini, provider: GeminiProvider) -> None:
    fake.script(
        Malformed('{"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}')
    )
    with pytest.raises(ServerError) as info:
        await collect(provider)
    assert info.value.status == 503


async def test_cut_stream_after_first_deltas(fake: FakeGemini, provider: GeminiProvider) -> None:
    fake.script(CutStream(after=2, reply=Reply(text="one two three four five")))
    seen: list[str] = []
    with pytest.raises(ServerError) as info:
        async for event in provider.generate(chat()):
            assert isinstance(event, TextDelta), "a cut stream must not complete"
            seen.append(event.text)
    assert seen == ["one", " two"]
    assert type(info.value) is ServerError


async def test_cut_body_non_stream(fake: FakeGemini, provider: GeminiProvider) -> None:
    fake.script(CutStream(reply=Reply(text="one two three four five")))
    with pytest.raises(ServerError):
        await collect(provider, stream=False)


async def test_stream_without_finish_reason_ended_early(
    fake: FakeGemini, provider: GeminiProvider
) -> None:
    fake.script(Reply(text="looks complete but is not", finish_reason=""))
    seen: list[str] = []
    with pytest.raises(ServerError, match="stream ended early"):
        async for event in provider.generate(chat()):
            assert isinstance(event, TextDelta)
            seen.append(event.text)
    assert "".join(seen) == "looks complete but is not"
    await wait_for(
        lambda: fake.requests[-1].stream_outcome == "completed"
    )  # the server finished; the protocol did not


@BOTH
async def test_dropped_connection_is_server_error(
    fake: FakeGemini, provider: GeminiProvider, stream: bool
) -> None:
    fake.script(Drop())
    with pytest.raises(ServerError):
        await collect(provider, stream=stream)


# ---------------------------------------------------------------- cancellation


async def test_early_close_disconnects(fake: FakeGemini, provider: GeminiProvider) -> None:
    fake.script(Reply(chunks=[f"w{i} " for i in range(300)], chunk_delay=0.02))
    gen = provider.generate(chat())
    assert isinstance(gen, AsyncGenerator)
    first = await anext(gen)
    assert first == TextDelta("w0 ")
    await gen.aclose()
    await wait_for(lambda: fake.requests[-1].stream_outcome == "disconnected")


async def test_cancelling_the_consumer_disconnects(
    fake: FakeGemini, provider: GeminiProvider
) -> None:
    fake.script(Reply(chunks=[f"w{i} " for i in range(300)], chunk_delay=0.02))
    got_first = asyncio.Event()

    async def consume() -> None:
        async for _ in provider.generate(chat()):
            got_first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_first.wait(), 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for(lambda: fake.requests[-1].stream_outcome == "disconnected")


async def test_connections_are_pooled(fake: FakeGemini, provider: GeminiProvider) -> None:
    for _ in range(3):
        await collect(provider)
        await collect(provider, stream=False)
    assert fake.connections == 1


async def test_parallel_requests_one_failing(fake: FakeGemini, provider: GeminiProvider) -> None:
    fake.script(Reply(text="a"), Status(500), Reply(text="c"))
    results = await asyncio.gather(
        *(collect(provider, stream=False) for _ in range(3)), return_exceptions=True
    )
    assert sum(isinstance(r, ServerError) for r in results) == 1
    assert sum(isinstance(r, tuple) for r in results) == 2


# ---------------------------------------------------------------- the fake vs the official SDK


def sdk_client(fake: FakeGemini, key: str = KEY) -> genai.Client:
    return genai.Client(
        vertexai=False,
        api_key=key,
        http_options=types.HttpOptions(
            base_url=fake.url,
            api_version="v1beta",
            retry_options=types.HttpRetryOptions(attempts=1),  # the SDK must not retry here
        ),
    )


def test_sdk_generate_content(fake: FakeGemini) -> None:
    fake.script(GeminiReply(text="Hello there.", input_tokens=9, output_tokens=3, cached_tokens=2))
    client = sdk_client(fake)
    response = client.models.generate_content(
        model=MODEL,
        contents="hi",
        config=types.GenerateContentConfig(
            system_instruction="be brief",
            max_output_tokens=20,
            temperature=0.2,
            top_p=0.9,
            stop_sequences=["END"],
        ),
    )
    assert response.text == "Hello there."
    assert response.model_version == MODEL
    assert response.response_id
    assert response.candidates and response.candidates[0].finish_reason == types.FinishReason.STOP
    usage = response.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count) == (9, 3)
    assert (usage.cached_content_token_count, usage.total_token_count) == (2, 12)
    req = fake.requests[-1]
    assert req.headers["x-goog-api-key"] == KEY
    assert req.body["systemInstruction"]["parts"] == [{"text": "be brief"}]
    assert req.body["generationConfig"]["maxOutputTokens"] == 20
    client.close()


def test_sdk_generate_content_stream(fake: FakeGemini) -> None:
    fake.script(Reply(text="a b c", input_tokens=4, output_tokens=3))
    client = sdk_client(fake)
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="hi"))
    assert [c.text for c in chunks] == ["a", " b", " c"]
    last = chunks[-1]
    assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata and last.usage_metadata.candidates_token_count == 3
    assert all(c.candidates and c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert fake.requests[-1].query == {"alt": "sse"}
    client.close()


async def test_sdk_async_generate_and_stream(fake: FakeGemini) -> None:
    fake.script(Reply(text="x y"), Reply(text="p q r"))
    client = sdk_client(fake)
    response = await client.aio.models.generate_content(model=MODEL, contents="hi")
    assert response.text == "x y"
    texts = [
        c.text
        async for c in await client.aio.models.generate_content_stream(model=MODEL, contents="hi")
    ]
    assert texts == ["p", " q", " r"]
    await client.aio.aclose()


def test_sdk_list_and_get_models(fake: FakeGemini) -> None:
    fake.max_page_size = 3
    client = sdk_client(fake)
    names = [m.name for m in client.models.list(config={"page_size": 3})]
    assert names == [m["name"] for m in DEFAULT_MODELS]
    model = client.models.get(model=MODEL)
    assert model.input_token_limit == 1048576
    assert model.output_token_limit == 8192
    assert model.supported_actions and "generateContent" in model.supported_actions
    client.close()


def test_sdk_safety_shapes(fake: FakeGemini) -> None:
    client = sdk_client(fake)
    fake.script(SafetyBlock())
    blocked = client.models.generate_content(model=MODEL, contents="hi")
    assert blocked.prompt_feedback is not None
    assert blocked.prompt_feedback.block_reason == types.BlockedReason.SAFETY
    assert not blocked.candidates and blocked.text is None
    fake.script(SafetyBlock())
    streamed = list(client.models.generate_content_stream(model=MODEL, contents="hi"))
    assert streamed[0].prompt_feedback and streamed[0].prompt_feedback.block_reason == "SAFETY"
    fake.script(Reply(text="", finish_reason="safety"))
    stopped = client.models.generate_content(model=MODEL, contents="hi")
    assert stopped.candidates and stopped.candidates[0].finish_reason == types.FinishReason.SAFETY
    assert stopped.text is None
    client.close()


SDK_ERRORS: list[tuple[Any, type[genai_errors.APIError], int, str]] = [
    (
        Status(429, "quota", headers={"Retry-After": "7"}),
        genai_errors.ClientError,
        429,
        "RESOURCE_EXHAUSTED",
    ),
    (Status(429, "quota"), genai_errors.ClientError, 429, "RESOURCE_EXHAUSTED"),
    (Status(500, "internal"), genai_errors.ServerError, 500, "INTERNAL"),
    (Status(503, "overloaded"), genai_errors.ServerError, 503, "UNAVAILABLE"),
    (Status(403, "denied"), genai_errors.ClientError, 403, "PERMISSION_DENIED"),
    (FakeContextTooLong(), genai_errors.ClientError, 400, "INVALID_ARGUMENT"),
]


@pytest.mark.parametrize(("behaviour", "cls", "code", "status"), SDK_ERRORS)
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
def test_sdk_accepts_error_shapes(
    fake: FakeGemini,
    behaviour: Any,
    cls: type[genai_errors.APIError],
    code: int,
    status: str,
    stream: bool,
) -> None:
    fake.script(behaviour)
    client = sdk_client(fake)
    with pytest.raises(cls) as info:
        if stream:
            list(client.models.generate_content_stream(model=MODEL, contents="hi"))
        else:
            client.models.generate_content(model=MODEL, contents="hi")
    assert (info.value.code, info.value.status) == (code, status)
    assert info.value.message
    if isinstance(behaviour, FakeContextTooLong):
        assert info.value.message == CONTEXT_TOO_LONG_MESSAGE
    if isinstance(behaviour, Status) and behaviour.headers:
        details = info.value.details["error"]["details"]
        retry = [d for d in details if d["@type"].endswith("google.rpc.RetryInfo")]
        assert retry == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]
    assert len(fake.requests) == 1  # no SDK retries
    client.close()


async def test_sdk_async_errors(fake: FakeGemini) -> None:
    client = sdk_client(fake)
    fake.script(Status(429, "quota", headers={"Retry-After": "7"}), Status(503, "overloaded"))
    with pytest.raises(genai_errors.ClientError) as client_err:
        await client.aio.models.generate_content(model=MODEL, contents="hi")
    assert client_err.value.code == 429
    with pytest.raises(genai_errors.ServerError) as server_err:
        async for _ in await client.aio.models.generate_content_stream(model=MODEL, contents="hi"):
            pass
    assert server_err.value.code == 503
    await client.aio.aclose()


def test_sdk_key_checks(fake: FakeGemini) -> None:
    bad = sdk_client(fake, key="wrong")
    with pytest.raises(genai_errors.ClientError) as info:
        bad.models.generate_content(model=MODEL, contents="hi")
    assert info.value.code == 400
    assert info.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    with pytest.raises(genai_errors.ClientError) as missing:
        bad.models.generate_content(model="gemini-0.1-nope", contents="hi")
    assert missing.value.code == 400  # the key is checked before the model
    good = sdk_client(fake)
    with pytest.raises(genai_errors.ClientError) as unknown:
        good.models.generate_content(model="gemini-0.1-nope", contents="hi")
    assert (unknown.value.code, unknown.value.status) == (404, "NOT_FOUND")
    bad.close()
    good.close()
