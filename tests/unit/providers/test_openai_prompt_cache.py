"""OpenAI prompt caching: the caching fake checked by the official SDK, then our adapter against
it (the `prompt_cache_key` it sends, the cached tokens it reads, the price of each part)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import openai
import pytest
from pydantic import SecretStr
from tests.fakes.openai import FakeOpenAI
from tests.fakes.prompt_cache import ManualClock, PromptCache
from tests.helpers import sample_module

from magray_lsp.config.models import ProviderConfig
from magray_lsp.cost.prices import price_usd, uncached_price_usd
from magray_lsp.providers.base import ChatRequest, Completion, Message, TextDelta, Usage
from magray_lsp.providers.openai import OpenAIProvider

KEY = "sk-test-prompt-cache"
MODEL = "gpt-4o-mini"
SYSTEM = "You are a senior python engineer."


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def fake(server: FakeOpenAI, clock: ManualClock) -> FakeOpenAI:
    server.reset()
    server.accepts_prompt_cache_key = True
    server.prompt_cache = PromptCache(clock=clock)
    return server


def sdk(fake: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=fake.base_url, max_retries=0, timeout=10)


def ask(client: openai.OpenAI, user: str, **extra: Any) -> Any:
    return client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
        max_tokens=20,
        extra_body=extra or None,
    )


# ---------------------------------------------------------------- the fake, read by the SDK


def test_sdk_sees_a_repeated_long_prefix_cached_in_128_token_steps(fake: FakeOpenAI) -> None:
    context = sample_module(60)  # about 2,200 tokens
    with sdk(fake) as client:
        first = ask(client, context + "\n\nExplain helper_3.")
        second = ask(client, context + "\n\nDocument helper_7, please.")
    assert first.usage is not None and second.usage is not None
    assert first.usage.prompt_tokens_details is not None
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached is not None and cached >= 1024 and (cached - 1024) % 128 == 0
    # the common prefix is all but the last few tokens; at most one 128-token step is lost
    assert second.usage.prompt_tokens - 128 - 16 < cached < second.usage.prompt_tokens


def test_sdk_short_prompts_and_changed_heads_are_never_cached(fake: FakeOpenAI) -> None:
    short = sample_module(10)  # under 1024 tokens
    with sdk(fake) as client:
        ask(client, short)
        again = ask(client, short)
        ask(client, "A different head.\n" + sample_module(60))
        other_head = ask(client, "Another head!\n" + sample_module(60))
    assert again.usage.prompt_tokens_details.cached_tokens == 0
    assert other_head.usage.prompt_tokens_details.cached_tokens == 0


def test_sdk_cache_is_per_prompt_cache_key_and_expires(
    fake: FakeOpenAI, clock: ManualClock
) -> None:
    context = sample_module(60)
    with sdk(fake) as client:
        ask(client, context, prompt_cache_key="file-a")
        other_key = ask(client, context, prompt_cache_key="file-b")
        same_key = ask(client, context, prompt_cache_key="file-a")
        clock.now += 301  # over five minutes without a request for it
        expired = ask(client, context, prompt_cache_key="file-a")
    details = [r.usage.prompt_tokens_details.cached_tokens for r in (other_key, same_key, expired)]
    assert details[0] == 0 and details[1] > 1024 and details[2] == 0
    assert fake.requests[0].body["prompt_cache_key"] == "file-a"


def test_sdk_baseline_without_prompt_cache_counts_but_never_hits(fake: FakeOpenAI) -> None:
    assert fake.prompt_cache is not None
    fake.prompt_cache.enabled = False
    context = sample_module(60)
    with sdk(fake) as client:
        first, second = ask(client, context), ask(client, context)
    assert first.usage.prompt_tokens == second.usage.prompt_tokens > 2000
    assert second.usage.prompt_tokens_details.cached_tokens == 0
    assert fake.prompt_cache.tally.read_tokens == 0 and fake.prompt_cache.tally.requests == 2


def test_sdk_rejection_by_a_server_without_the_field(fake: FakeOpenAI) -> None:
    fake.accepts_prompt_cache_key = False
    with sdk(fake) as client, pytest.raises(openai.BadRequestError, match="prompt_cache_key"):
        ask(client, "hi", prompt_cache_key="k")


# ---------------------------------------------------------------- our adapter


@pytest.fixture
async def provider(fake: FakeOpenAI) -> AsyncIterator[OpenAIProvider]:
    cfg = ProviderConfig(api_key=SecretStr(KEY), base_url=fake.base_url, timeout_seconds=10)
    p = OpenAIProvider("openai", cfg)
    yield p
    await p.aclose()


def request(context: str, task: str, key: str | None = "magray-0123abcd") -> ChatRequest:
    prefix = context + "\n\n"
    user = Message("user", prefix + task, cache_prefix=len(prefix))
    return ChatRequest(
        model=MODEL,
        messages=(Message("system", SYSTEM), user),
        max_tokens=20,
        prompt_cache_key=key,
    )


async def usage_of(provider: OpenAIProvider, req: ChatRequest, *, stream: bool) -> Usage:
    done = [e async for e in provider.generate(req, stream=stream) if not isinstance(e, TextDelta)]
    assert isinstance(done[-1], Completion) and done[-1].usage is not None
    return done[-1].usage


@pytest.mark.parametrize("stream", [True, False])
async def test_adapter_sends_the_key_and_reads_cached_tokens(
    fake: FakeOpenAI, provider: OpenAIProvider, stream: bool
) -> None:
    context = sample_module(60)
    first = await usage_of(provider, request(context, "Explain helper_1."), stream=stream)
    second = await usage_of(provider, request(context, "Refactor helper_2."), stream=stream)
    bodies = [r.body for r in fake.requests]
    assert [b["prompt_cache_key"] for b in bodies] == ["magray-0123abcd"] * 2
    # the text goes as it is: the cache works on the plain prefix, no markers in the content
    assert bodies[0]["messages"][1]["content"] == context + "\n\nExplain helper_1."
    assert first.cached_input_tokens == 0 and first.input_tokens > 2000
    assert second.cached_input_tokens >= 2048 and second.cache_write_tokens == 0
    assert second.input_tokens == fake.prompt_cache.tally.input_tokens - first.input_tokens  # type: ignore[union-attr]


async def test_adapter_sends_no_key_when_the_request_has_none(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    await usage_of(provider, request("x = 1", "Explain x.", key=None), stream=True)
    assert "prompt_cache_key" not in fake.requests[-1].body


@pytest.mark.parametrize("stream", [True, False])
async def test_a_server_rejecting_the_key_is_asked_again_without_it_once(
    fake: FakeOpenAI, provider: OpenAIProvider, stream: bool
) -> None:
    fake.accepts_prompt_cache_key = False
    await usage_of(provider, request("x = 1", "Explain x."), stream=stream)
    await usage_of(provider, request("y = 2", "Explain y."), stream=stream)
    sent = [("prompt_cache_key" in r.body) for r in fake.requests]
    assert sent == [True, False, False]  # refused once, then never sent again


def test_cached_input_is_priced_at_the_cache_read_rate() -> None:
    # gpt-4o-mini in genai-prices: $0.15 input, $0.075 cached input, $0.60 output per million
    usage = Usage(input_tokens=3000, output_tokens=200, cached_input_tokens=2048)
    expected = (952 * Decimal("0.15") + 2048 * Decimal("0.075") + 200 * Decimal("0.6")) / 10**6
    assert price_usd("openai", MODEL, usage) == expected
    plain = (3000 * Decimal("0.15") + 200 * Decimal("0.6")) / 10**6
    assert uncached_price_usd("openai", MODEL, usage) == plain
    assert plain - expected == 2048 * Decimal("0.075") / 10**6  # the saving: half of each read
