"""HuggingFaceProvider (router / TGI: OpenAI Chat Completions) against FakeOpenAI over loopback.

The success path is OpenAI's; the error bodies are HuggingFace's own, scripted verbatim.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from tests.fakes.base import Hang, Reply, Status
from tests.fakes.openai import FakeOpenAI, OpenAIReply, StreamError, error_body

from magray_lsp.config.models import ProviderConfig
from magray_lsp.errors import (
    AuthError,
    BadRequest,
    ContextTooLong,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
    Unavailable,
)
from magray_lsp.providers import create_provider
from magray_lsp.providers.base import ChatRequest, Completion, Message, TextDelta, Usage
from magray_lsp.providers.huggingface import HuggingFaceProvider

HF_TOKEN = "hf_testTokenAbCdEfGhIjKlMnOpQrStUvWxYz"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"

TGI_TOO_LONG = (
    "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. "
    "Given: 4000 `inputs` tokens and 500 `max_new_tokens`"
)


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(api_key=HF_TOKEN, models=[MODEL, "Qwen/Qwen2.5-Coder-32B-Instruct"])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> FakeOpenAI:
    fake_server.reset()
    return fake_server


def make_provider(fake: FakeOpenAI, **overrides: Any) -> HuggingFaceProvider:
    fields: dict[str, Any] = {
        "api_key": SecretStr(HF_TOKEN),
        "base_url": fake.base_url,
        "timeout_seconds": 5.0,
    }
    fields.update(overrides)
    return HuggingFaceProvider("huggingface", ProviderConfig(**fields))


@pytest.fixture
async def provider(fake: FakeOpenAI) -> AsyncIterator[HuggingFaceProvider]:
    p = make_provider(fake)
    yield p
    await p.aclose()


def chat(**kw: Any) -> ChatRequest:
    return ChatRequest(model=MODEL, messages=(Message("user", "Explain this loop."),), **kw)


async def collect(
    p: HuggingFaceProvider, req: ChatRequest, *, stream: bool = True
) -> tuple[list[str], Completion]:
    deltas: list[str] = []
    completion: Completion | None = None
    async for event in p.generate(req, stream=stream):
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        else:
            completion = event
    assert completion is not None
    return deltas, completion


def test_registry_and_defaults() -> None:
    p = create_provider("huggingface", ProviderConfig(api_key=SecretStr(HF_TOKEN)))
    assert isinstance(p, HuggingFaceProvider) and p.kind == "huggingface"
    assert p.base_url == "https://router.huggingface.co/v1" and not p.is_local
    assert HF_TOKEN not in repr(p)
    tgi = create_provider(
        "tgi", ProviderConfig(kind="huggingface", base_url="http://localhost:8080/v1")
    )
    assert isinstance(tgi, HuggingFaceProvider) and tgi.is_local


@pytest.mark.parametrize("stream", [True, False])
async def test_text_usage_and_token(
    fake: FakeOpenAI, provider: HuggingFaceProvider, stream: bool
) -> None:
    fake.script(OpenAIReply(text="It sums a list.", input_tokens=21, output_tokens=5, model=MODEL))
    deltas, completion = await collect(
        provider, chat(max_tokens=64, temperature=0.1), stream=stream
    )
    assert "".join(deltas) == "It sums a list."
    assert len(deltas) == (4 if stream else 1)
    assert completion == Completion(Usage(21, 5, 0), "stop", MODEL)
    [req] = fake.requests
    assert req.headers["authorization"] == f"Bearer {HF_TOKEN}"
    assert req.body["model"] == MODEL and req.body["max_tokens"] == 64
    assert req.body["temperature"] == 0.1 and req.body["stream"] is stream


async def test_list_models(fake: FakeOpenAI, provider: HuggingFaceProvider) -> None:
    assert [m.id for m in await provider.list_models()] == [
        MODEL,
        "Qwen/Qwen2.5-Coder-32B-Instruct",
    ]


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        # TGI validation errors for a prompt larger than the window
        (422, {"error": TGI_TOO_LONG, "error_type": "validation"}, ContextTooLong),
        (
            422,
            {
                "error": "Input validation error: `inputs` must have less than 4096 tokens. "
                "Given: 5012",
                "error_type": "validation",
            },
            ContextTooLong,
        ),
        # the router wraps the same message in OpenAI's envelope
        (400, error_body(400, TGI_TOO_LONG), ContextTooLong),
        (
            422,
            {
                "error": "Input validation error: `temperature` must be strictly positive",
                "error_type": "validation",
            },
            BadRequest,
        ),
        (
            503,
            {"error": f"Model {MODEL} is currently loading", "estimated_time": 20.0},
            ServerError,
        ),
        (429, {"error": "Model is overloaded", "error_type": "overloaded"}, RateLimited),
        (
            424,
            {
                "error": "Request failed during generation: CUDA out of memory",
                "error_type": "generation",
            },
            ServerError,
        ),
        (
            402,
            {"error": "You have exceeded your monthly included credits for Inference Providers."},
            Unavailable,
        ),
        (401, {"error": "Invalid credentials in Authorization header"}, AuthError),
        (404, {"error": f"Model {MODEL} does not exist"}, Unavailable),
        (500, "Internal Server Error", ServerError),  # a plain-text body from a proxy
    ],
)
async def test_hf_error_shapes(
    fake: FakeOpenAI,
    provider: HuggingFaceProvider,
    stream: bool,
    status: int,
    body: Any,
    error: type[ProviderError],
) -> None:
    fake.script(Status(status, body=body))
    with pytest.raises(error) as info:
        await collect(provider, chat(), stream=stream)
    assert type(info.value) is error and info.value.status == status
    message = body["error"] if isinstance(body, dict) and isinstance(body["error"], str) else None
    if message:
        assert message in str(info.value)  # the plain-string message, not the JSON around it


async def test_overloaded_keeps_retry_after(
    fake: FakeOpenAI, provider: HuggingFaceProvider
) -> None:
    body = {"error": "Model is overloaded", "error_type": "overloaded"}
    fake.script(Status(429, body=body, headers={"Retry-After": "2"}))
    with pytest.raises(RateLimited) as info:
        await collect(provider, chat())
    assert info.value.retry_after == 2.0


async def test_tgi_error_inside_stream(fake: FakeOpenAI, provider: HuggingFaceProvider) -> None:
    fake.script(
        StreamError(
            body={
                "error": "Request failed during generation: Server error: OOM",
                "error_type": "generation",
            },
            after=2,
        ),
        StreamError(body={"error": TGI_TOO_LONG, "error_type": "validation"}, after=0),
    )
    seen: list[str] = []
    with pytest.raises(ServerError, match="OOM"):
        async for event in provider.generate(chat()):
            assert isinstance(event, TextDelta)
            seen.append(event.text)
    assert seen == ["This", " function"]
    with pytest.raises(ContextTooLong):
        await collect(provider, chat())


async def test_token_never_leaks(fake: FakeOpenAI) -> None:
    fake.script(Status(401, body={"error": f"Invalid credentials: {HF_TOKEN}"}))
    p = make_provider(fake)
    try:
        with pytest.raises(AuthError) as info:
            await collect(p, chat())
    finally:
        await p.aclose()
    assert HF_TOKEN not in str(info.value) and HF_TOKEN not in repr(info.value)


async def test_timeout_then_the_same_provider_recovers(fake: FakeOpenAI) -> None:
    fake.script(Hang(1.0), Reply())
    p = make_provider(fake, timeout_seconds=0.3)
    try:
        with pytest.raises(Timeout):
            await collect(p, chat())
        deltas, _ = await collect(p, chat())
    finally:
        await p.aclose()
    assert "".join(deltas) == Reply().text
