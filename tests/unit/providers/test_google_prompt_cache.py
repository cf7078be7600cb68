"""Gemini implicit prompt caching: the caching fake checked by the official google-genai SDK,
then our adapter against it (nothing to mark; the cached part is read back and priced)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest
from google.genai import types
from pydantic import SecretStr
from tests.fakes.gemini import FakeGemini
from tests.fakes.prompt_cache import PromptCache
from tests.helpers import sample_module
from tests.unit.providers.test_google import KEY, sdk_client

from magray_lsp.config.models import ProviderConfig
from magray_lsp.cost.prices import price_usd, uncached_price_usd
from magray_lsp.providers.base import ChatRequest, Completion, Message, TextDelta, Usage
from magray_lsp.providers.google import GeminiProvider

CACHING = "gemini-2.5-flash"
NOT_CACHING = "gemini-2.0-flash"  # implicit caching started with Gemini 2.5


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGemini]:
    with FakeGemini(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeGemini) -> FakeGemini:
    server.reset()
    server.prompt_cache = PromptCache()
    return server


def test_sdk_reads_implicitly_cached_tokens_on_25_models_only(fake: FakeGemini) -> None:
    context = sample_module(60)
    client = sdk_client(fake)
    config = types.GenerateContentConfig(system_instruction="You explain python code.")
    usage = {}
    for model in (CACHING, NOT_CACHING):
        for task in ("Explain helper_1.", "Document helper_2."):
            response = client.models.generate_content(
                model=model, contents=context + "\n\n" + task, config=config
            )
            usage[model, task] = response.usage_metadata
    client.close()
    first, second = usage[CACHING, "Explain helper_1."], usage[CACHING, "Document helper_2."]
    assert first is not None and second is not None
    assert first.cached_content_token_count is None  # proto3 JSON leaves a zero out
    assert second.prompt_token_count is not None and second.prompt_token_count > 2000
    cached = second.cached_content_token_count
    assert cached is not None and second.prompt_token_count - 128 - 16 < cached
    assert second.cache_tokens_details and second.cache_tokens_details[0].token_count == cached
    assert usage[NOT_CACHING, "Document helper_2."].cached_content_token_count is None  # type: ignore[union-attr]


@pytest.fixture
async def provider(fake: FakeGemini) -> AsyncIterator[GeminiProvider]:
    cfg = ProviderConfig(api_key=SecretStr(KEY), base_url=fake.url, timeout_seconds=10)
    p = GeminiProvider("google", cfg)
    yield p
    await p.aclose()


@pytest.mark.parametrize("stream", [True, False])
async def test_adapter_reports_the_implicitly_cached_part(
    fake: FakeGemini, provider: GeminiProvider, stream: bool
) -> None:
    context = sample_module(60) + "\n\n"
    usages: list[Usage] = []
    for task in ("Explain helper_1.", "Document helper_2."):
        user = Message("user", context + task, cache_prefix=len(context))
        req = ChatRequest(model=CACHING, messages=(Message("system", "Be exact."), user))
        events = [e async for e in provider.generate(req, stream=stream)]
        done = events[-1]
        assert isinstance(done, Completion) and done.usage is not None
        assert all(isinstance(e, TextDelta) for e in events[:-1])
        usages.append(done.usage)
    # nothing to mark: the prompt goes as one text part
    assert fake.requests[0].body["contents"] == [
        {"role": "user", "parts": [{"text": context + "Explain helper_1."}]}
    ]
    assert usages[0].cached_input_tokens == 0
    assert usages[1].cached_input_tokens > 2000 and usages[1].cache_write_tokens == 0
    assert usages[1].input_tokens > usages[1].cached_input_tokens


def test_cached_input_is_priced_at_the_cache_read_rate() -> None:
    # gemini-2.5-flash in genai-prices: $0.30 input, $0.03 cached input, $2.50 output per million
    usage = Usage(input_tokens=4000, output_tokens=100, cached_input_tokens=3072)
    expected = (928 * Decimal("0.3") + 3072 * Decimal("0.03") + 100 * Decimal("2.5")) / 10**6
    assert price_usd("google", CACHING, usage) == expected
    plain = (4000 * Decimal("0.3") + 100 * Decimal("2.5")) / 10**6
    assert uncached_price_usd("google", CACHING, usage) == plain
