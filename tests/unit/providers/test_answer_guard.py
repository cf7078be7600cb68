"""Every provider answer is validated before use, and no answer or body grows without bound.

The shape checks run against each wire protocol's loopback fake (a ``Malformed`` body is sent
verbatim, so any bad shape can be served); the rules themselves are checked on a tiny in-memory
provider whose events a test controls exactly.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import FakeServer, Malformed, Reply
from tests.fakes.gemini import FakeGemini
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for

from magray_lsp.config.models import LimitsConfig, ProviderConfig
from magray_lsp.errors import AnswerTooLong, MalformedResponse, ProviderError
from magray_lsp.providers import _http, create_provider
from magray_lsp.providers.base import (
    ChatRequest,
    Completion,
    Message,
    Provider,
    StreamEvent,
    TextDelta,
    Usage,
)

REQUEST = ChatRequest(model="m", messages=(Message("user", "What does add() do?"),))


# ---------------------------------------------------------------- the rules, in memory


class Scripted(Provider):
    """Yields exactly the events it is given (no wire format to get in the way)."""

    kind = "openai"

    def __init__(self, events: list[Any]) -> None:
        super().__init__("scripted")
        self.events = events
        self.closed = False

    @property
    def is_local(self) -> bool:
        return True

    async def _generate(
        self, request: ChatRequest, *, stream: bool = True
    ) -> AsyncGenerator[StreamEvent, None]:
        try:
            for event in self.events:
                yield event
        finally:
            self.closed = True


def done(usage: Any = None, finish: Any = "stop", model: Any = "m") -> Completion:
    return Completion(usage, finish, model)


async def run(provider: Provider) -> list[StreamEvent]:
    return [event async for event in provider.generate(REQUEST)]


@pytest.mark.parametrize(
    ("events", "complaint"),
    [
        ([TextDelta(42), done()], "answer text is int"),  # type: ignore[arg-type]
        ([TextDelta(b"bytes"), done()], "answer text is bytes"),  # type: ignore[arg-type]
        ([done(Usage(-1, 5))], "input_tokens=-1"),
        ([done(Usage(5, -2))], "output_tokens=-2"),
        ([done(Usage(True, 5))], "input_tokens=True"),
        ([done(Usage(5, 10**12))], "output_tokens=1000000000000"),
        ([done(Usage(5, 1, cached_input_tokens=9))], "9 cached and 0 cache-written of 5 input"),
        ([done(Usage(5, 1, 3, cache_write_tokens=3))], "3 cached and 3 cache-written of 5"),
        ([done(Usage(5, 1, cache_write_tokens=-1))], "cache_write_tokens=-1"),
        ([done(Usage("5", 1))], "input_tokens='5'"),  # type: ignore[arg-type]
        ([done(usage={"input_tokens": 5})], "usage is not a Usage"),
        ([done(finish=7)], "finish reason"),
        ([done(model=None)], "reported model"),
        (["a string event"], "unexpected stream event str"),
    ],
)
async def test_garbage_is_a_malformed_response_not_a_type_error(
    events: list[Any], complaint: str
) -> None:
    provider = Scripted(events)
    with pytest.raises(MalformedResponse, match=complaint) as info:
        await run(provider)
    assert info.value.retryable and info.value.fallback  # like any bad answer: retry, fall back
    assert provider.closed


async def test_a_valid_answer_passes_unchanged() -> None:
    events: list[Any] = [TextDelta("Adds "), TextDelta("two numbers."), done(Usage(9, 4, 3))]
    assert await run(Scripted(events)) == events


async def test_lone_surrogates_become_replacement_characters() -> None:
    events = await run(Scripted([TextDelta("ok \ud800 \udfff 😀"), done()]))
    assert events[0] == TextDelta("ok \ufffd \ufffd 😀")
    assert isinstance(events[0], TextDelta)
    events[0].text.encode("utf-8")  # would raise on a lone surrogate


async def test_an_endless_answer_is_cut_at_max_answer_chars() -> None:
    def endless() -> Iterator[TextDelta]:
        while True:
            yield TextDelta("x" * 1000)

    provider = Scripted([])
    provider.events = endless()  # type: ignore[assignment]
    provider.max_answer_chars = 50_000
    received = 0
    with pytest.raises(AnswerTooLong, match="max_answer_chars") as info:
        async for event in provider.generate(REQUEST):
            assert isinstance(event, TextDelta)
            received += len(event.text)
    assert received == 50_000  # everything up to the limit, nothing past it
    assert provider.closed  # the source is closed at once, not at garbage collection
    assert info.value.fallback and not info.value.retryable


def test_the_limit_comes_from_the_configuration() -> None:
    limits = LimitsConfig(max_answer_chars=12_345)
    provider = create_provider("openai", ProviderConfig(api_key=SecretStr("sk-x")), limits)
    assert provider.max_answer_chars == 12_345
    assert create_provider("openai", ProviderConfig()).max_answer_chars == 400_000


# ---------------------------------------------------------------- each wire protocol


def _openai(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
        "usage": usage,
    }


def _anthropic(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-latest",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }


def _gemini(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": usage,
        "modelVersion": "gemini-2.0-flash",
    }


def _ollama(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": "llama3.1",
        "created_at": "2024-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": "hi"},
        "done": True,
        "done_reason": "stop",
        **usage,
    }


BAD_USAGE: dict[str, list[dict[str, Any]]] = {
    "openai": [
        _openai({"prompt_tokens": -3, "completion_tokens": 5}),
        _openai({"prompt_tokens": 5, "completion_tokens": 10**12}),
        _openai(
            {
                "prompt_tokens": 5,
                "completion_tokens": 1,
                "prompt_tokens_details": {"cached_tokens": 9},
            }
        ),
    ],
    "anthropic": [
        _anthropic({"input_tokens": 5, "output_tokens": 10**12}),
        _anthropic({"input_tokens": -5, "output_tokens": 1}),
    ],
    "google": [
        _gemini({"promptTokenCount": -4, "candidatesTokenCount": 2}),
        _gemini({"promptTokenCount": 4, "candidatesTokenCount": 2, "cachedContentTokenCount": 8}),
    ],
    "ollama": [_ollama({"prompt_eval_count": 3, "eval_count": 10**12})],
}
WRONG_TYPES: dict[str, list[Any]] = {
    "openai": [
        _openai({})
        | {"choices": [{"index": 0, "message": {"content": 5}, "finish_reason": "stop"}]},
        [1, 2],
        "text",
    ],
    "anthropic": [_anthropic({}) | {"content": [{"type": "text", "text": 5}]}, [], 3],
    "google": [_gemini({}) | {"candidates": "none"}, [], None],
    "ollama": [_ollama({}) | {"message": {"role": "assistant", "content": 5}}, [], "x"],
}


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeServer]]:
    servers: dict[str, FakeServer] = {
        "openai": FakeOpenAI(),
        "anthropic": FakeAnthropic(),
        "google": FakeGemini(),
        "ollama": FakeOllama(),
    }
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


def provider_for(kind: str, fake: FakeServer, **limits: Any) -> Provider:
    url = fake.base_url if isinstance(fake, FakeOpenAI) else fake.url
    cfg = ProviderConfig(kind=kind, api_key=SecretStr("k-test"), base_url=url, timeout_seconds=5)
    return create_provider(kind, cfg, LimitsConfig(**limits))


def _model(kind: str) -> str:
    return {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest"}.get(
        kind, {"google": "gemini-2.0-flash", "ollama": "llama3.1"}.get(kind, "m")
    )


CASES = [(kind, body) for kind, bodies in BAD_USAGE.items() for body in bodies] + [
    (kind, body) for kind, bodies in WRONG_TYPES.items() for body in bodies
]


@pytest.mark.parametrize(("kind", "body"), CASES)
async def test_every_provider_kind_rejects_a_malformed_answer(
    fakes: dict[str, FakeServer], kind: str, body: Any
) -> None:
    fake = fakes[kind]
    fake.reset()
    fake.script(Malformed(json.dumps(body)))
    provider = provider_for(kind, fake)
    try:
        with pytest.raises(MalformedResponse):
            await provider.complete(
                ChatRequest(model=_model(kind), messages=REQUEST.messages, max_tokens=50)
            )
    finally:
        await provider.aclose()


@pytest.mark.parametrize("kind", ["openai", "anthropic", "google", "ollama"])
async def test_a_long_stream_is_cut_and_its_connection_closed(
    fakes: dict[str, FakeServer], kind: str
) -> None:
    fake = fakes[kind]
    fake.reset()
    # 2 MB of text, slowly enough that the fake is still sending when the client hangs up
    fake.default = Reply(text="", chunks=["word " * 200] * 2000, chunk_delay=0.005)
    provider = provider_for(kind, fake, max_answer_chars=20_000)
    request = ChatRequest(model=_model(kind), messages=REQUEST.messages, max_tokens=50)
    try:
        with pytest.raises(AnswerTooLong):
            async for _ in provider.generate(request):
                pass
        await wait_for(lambda: fake.client_disconnects == 1)
    finally:
        await provider.aclose()


@pytest.mark.parametrize("kind", ["openai", "anthropic", "google", "ollama"])
async def test_response_bodies_are_capped_in_the_http_layer(
    fakes: dict[str, FakeServer], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_http, "MAX_RESPONSE_BYTES", 64 * 1024)
    fake = fakes[kind]
    fake.reset()
    fake.script(Malformed(json.dumps({"padding": "x" * 200_000})))  # one huge body
    provider = provider_for(kind, fake)
    request = ChatRequest(model=_model(kind), messages=REQUEST.messages, max_tokens=50)
    try:
        with pytest.raises(AnswerTooLong, match="65536-byte limit") as info:
            await provider.complete(request)
        assert isinstance(info.value, ProviderError) and info.value.provider == kind
    finally:
        await provider.aclose()
