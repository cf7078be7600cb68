"""Anthropic prompt caching: the caching fake checked by the official SDK, then our adapter
against it (where it puts `cache_control`, the writes and reads it reads back, their prices)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import anthropic
import pytest
from pydantic import SecretStr
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.prompt_cache import ManualClock, PromptCache, tokens
from tests.helpers import sample_module

from magray_lsp.config.models import ModelPrice, ProviderConfig
from magray_lsp.cost.prices import price_usd, uncached_price_usd
from magray_lsp.providers.anthropic import AnthropicProvider
from magray_lsp.providers.anthropic_messages import cache_min_tokens
from magray_lsp.providers.base import ChatRequest, Completion, Message, TextDelta, Usage

KEY = "sk-ant-test-prompt-cache"
SONNET = "claude-3-5-sonnet-20241022"
HAIKU = "claude-3-5-haiku-20241022"
SYSTEM = "You are a senior python engineer."
EPHEMERAL = {"type": "ephemeral"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def fake(server: FakeAnthropic, clock: ManualClock) -> FakeAnthropic:
    server.reset()
    server.prompt_cache = PromptCache(clock=clock)
    return server


def sdk(fake: FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=KEY, base_url=fake.url, max_retries=0, timeout=10)


def ask(client: anthropic.Anthropic, content: Any, model: str = SONNET) -> Any:
    return client.messages.create(
        model=model,
        max_tokens=20,
        system=SYSTEM,
        messages=[{"role": "user", "content": content}],
    )


def marked(context: str, task: str, **control: str) -> list[dict[str, Any]]:
    return [
        {"type": "text", "text": context, "cache_control": {**EPHEMERAL, **control}},
        {"type": "text", "text": task},
    ]


# ---------------------------------------------------------------- the fake, read by the SDK


def test_sdk_marked_prefix_is_written_then_read(fake: FakeAnthropic) -> None:
    context = sample_module(60)  # about 2,200 tokens
    with sdk(fake) as client:
        first = ask(client, marked(context, "Explain helper_1."))
        second = ask(client, marked(context, "Document helper_2 and nothing else."))
    written = first.usage.cache_creation_input_tokens
    assert written > 2000 and first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == written
    assert second.usage.cache_read_input_tokens == written
    assert second.usage.cache_creation_input_tokens == 0
    # input_tokens is only the part after the breakpoint: the task, a few tokens
    assert 0 < second.usage.input_tokens < 20
    assert second.usage.input_tokens == len(tokens("Document helper_2 and nothing else."))


def test_sdk_nothing_is_cached_unmarked_or_below_the_minimum(fake: FakeAnthropic) -> None:
    context = sample_module(40)  # about 1,500 tokens: enough for Sonnet, not for Haiku 3.5
    with sdk(fake) as client:
        ask(client, context + "\n\nExplain.")
        unmarked = ask(client, context + "\n\nExplain.")
        ask(client, marked(context, "Explain."), model=HAIKU)
        haiku = ask(client, marked(context, "Explain."), model=HAIKU)
        sonnet = ask(client, marked(context, "Explain."))
    for response in (unmarked, haiku):
        assert response.usage.cache_read_input_tokens == 0
        assert response.usage.cache_creation_input_tokens == 0
    assert sonnet.usage.cache_creation_input_tokens > 1024  # the same prefix caches on Sonnet


def test_sdk_baseline_without_prompt_cache_neither_writes_nor_reads(fake: FakeAnthropic) -> None:
    assert fake.prompt_cache is not None
    fake.prompt_cache.enabled = False
    context = sample_module(60)
    with sdk(fake) as client:
        first, second = (ask(client, marked(context, "Explain.")) for _ in range(2))
    for response in (first, second):
        assert response.usage.cache_creation_input_tokens == 0
        assert response.usage.cache_read_input_tokens == 0
        assert response.usage.input_tokens > 2000  # all of it, at the plain input price


def test_sdk_entries_expire_unless_used(fake: FakeAnthropic, clock: ManualClock) -> None:
    context = sample_module(60)
    with sdk(fake) as client:
        ask(client, marked(context, "a"))
        clock.now += 240
        kept = ask(client, marked(context, "b"))  # a read starts the five minutes again
        clock.now += 240
        still = ask(client, marked(context, "c"))
        clock.now += 301
        gone = ask(client, marked(context, "d"))
        clock.now += 301
        hour = ask(client, marked(context, "e", ttl="1h"))
        clock.now += 1800
        later = ask(client, marked(context, "f", ttl="1h"))
    assert kept.usage.cache_read_input_tokens > 0 and still.usage.cache_read_input_tokens > 0
    assert gone.usage.cache_read_input_tokens == 0 and gone.usage.cache_creation_input_tokens > 0
    assert hour.usage.cache_creation.ephemeral_1h_input_tokens > 0
    assert later.usage.cache_read_input_tokens > 0


def test_sdk_a_breakpoint_finds_an_earlier_boundary(fake: FakeAnthropic) -> None:
    """A later breakpoint reads what an earlier request wrote at a block boundary before it."""
    context = sample_module(60)
    more = sample_module(10, salt="x")
    with sdk(fake) as client:
        first = ask(client, marked(context, "Explain helper_1."))
        longer = ask(
            client,
            [
                {"type": "text", "text": context},
                {"type": "text", "text": more, "cache_control": EPHEMERAL},
                {"type": "text", "text": "Explain helper_x1."},
            ],
        )
    assert longer.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert longer.usage.cache_creation_input_tokens == len(tokens(more))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([{"type": "text", "text": ""}], "text content blocks must be non-empty"),
        ([{"type": "text", "text": "x", "cache_control": {"type": "lasting"}}], "ephemeral"),
        ([{"type": "text", "text": "x", "cache_control": {**EPHEMERAL, "ttl": "2h"}}], "ttl"),
        (
            [{"type": "text", "text": str(i), "cache_control": EPHEMERAL} for i in range(5)],
            "A maximum of 4 blocks with cache_control may be provided. Found 5.",
        ),
    ],
)
def test_sdk_gets_the_real_apis_refusals(fake: FakeAnthropic, content: Any, message: str) -> None:
    with sdk(fake) as client, pytest.raises(anthropic.BadRequestError, match=message):
        ask(client, content)


# ---------------------------------------------------------------- our adapter


@pytest.fixture
async def provider(fake: FakeAnthropic) -> AsyncIterator[AnthropicProvider]:
    cfg = ProviderConfig(api_key=SecretStr(KEY), base_url=fake.url, timeout_seconds=10)
    p = AnthropicProvider("anthropic", cfg)
    yield p
    await p.aclose()


def request(context: str, task: str, model: str = SONNET) -> ChatRequest:
    prefix = context + "\n\n"
    user = Message("user", prefix + task, cache_prefix=len(prefix))
    return ChatRequest(model=model, messages=(Message("system", SYSTEM), user), max_tokens=20)


async def usage_of(provider: AnthropicProvider, req: ChatRequest, *, stream: bool) -> Usage:
    done = [e async for e in provider.generate(req, stream=stream) if not isinstance(e, TextDelta)]
    assert isinstance(done[-1], Completion) and done[-1].usage is not None
    return done[-1].usage


@pytest.mark.parametrize("stream", [True, False])
async def test_adapter_marks_the_end_of_a_long_enough_prefix(
    fake: FakeAnthropic, provider: AnthropicProvider, stream: bool
) -> None:
    context = sample_module(60)
    first = await usage_of(provider, request(context, "Explain helper_1."), stream=stream)
    second = await usage_of(provider, request(context, "Refactor helper_2."), stream=stream)
    body = fake.requests[0].body
    assert body["system"] == SYSTEM
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": context + "\n\n", "cache_control": EPHEMERAL},
                {"type": "text", "text": "Explain helper_1."},
            ],
        }
    ]
    assert first.cache_write_tokens > 2000 and first.cached_input_tokens == 0
    assert second.cached_input_tokens == first.cache_write_tokens
    assert second.cache_write_tokens == 0
    # input_tokens is the whole prompt: uncached rest + writes + reads
    assert first.input_tokens == second.input_tokens - len(tokens("Refactor helper_2.")) + len(
        tokens("Explain helper_1.")
    )


async def test_adapter_leaves_a_short_prefix_unmarked(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    context = sample_module(40)  # about 1,500 tokens: over Sonnet's minimum, under Haiku 3.5's
    await usage_of(provider, request(context, "Explain.", model=HAIKU), stream=True)
    await usage_of(provider, request(context, "Explain."), stream=True)
    haiku, sonnet = (r.body["messages"][0]["content"] for r in fake.requests)
    assert haiku == context + "\n\nExplain."  # one plain string, as before caching existed
    assert sonnet[0]["cache_control"] == EPHEMERAL
    assert cache_min_tokens(HAIKU) == 2048 and cache_min_tokens(SONNET) == 1024
    assert cache_min_tokens("claude-haiku-4-5-20251001") == 4096


async def test_adapter_marks_nothing_without_a_prefix_and_keeps_turns_merged(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    messages = (Message("system", SYSTEM), Message("user", "one"), Message("user", "two"))
    await usage_of(provider, ChatRequest(model=SONNET, messages=messages), stream=True)
    assert fake.requests[-1].body["messages"] == [{"role": "user", "content": "one\n\ntwo"}]


async def test_adapter_sends_no_empty_block_when_the_prefix_is_everything(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    context = sample_module(60)
    user = Message("user", context, cache_prefix=len(context))
    req = ChatRequest(model=SONNET, messages=(Message("system", SYSTEM), user))
    usage = await usage_of(provider, req, stream=False)
    [block] = fake.requests[-1].body["messages"][0]["content"]
    assert block == {"type": "text", "text": context, "cache_control": EPHEMERAL}
    assert usage.cache_write_tokens > 0


def test_writes_and_reads_are_priced_at_their_own_rates() -> None:
    # claude-3-5-sonnet in genai-prices: $3 input, $3.75 cache write, $0.30 cache read, $15 output
    usage = Usage(
        input_tokens=5000, output_tokens=300, cached_input_tokens=3000, cache_write_tokens=1500
    )
    uncached = 500
    expected = (
        uncached * Decimal(3) + 1500 * Decimal("3.75") + 3000 * Decimal("0.3") + 300 * Decimal(15)
    ) / 10**6
    assert price_usd("anthropic", "claude-3-5-sonnet-latest", usage) == expected
    plain = (5000 * Decimal(3) + 300 * Decimal(15)) / 10**6
    assert uncached_price_usd("anthropic", "claude-3-5-sonnet-latest", usage) == plain
    # a write that is never read back costs a quarter more than sending it plainly
    write_only = Usage(input_tokens=1000, output_tokens=0, cache_write_tokens=1000)
    assert price_usd("anthropic", "claude-3-5-sonnet-latest", write_only) == Decimal("0.00375")


def test_config_prices_for_cache_reads_and_writes() -> None:
    price = ModelPrice(
        input_per_mtok=Decimal(2),
        output_per_mtok=Decimal(8),
        cached_input_per_mtok=Decimal("0.2"),
        cache_write_per_mtok=Decimal("2.5"),
    )
    usage = Usage(
        input_tokens=1000, output_tokens=100, cached_input_tokens=600, cache_write_tokens=300
    )
    expected = (100 * Decimal(2) + 600 * Decimal("0.2") + 300 * Decimal("2.5") + 100 * 8) / 10**6
    assert price_usd("anthropic", "mine", usage, {"mine": price}) == expected
    default_rates = ModelPrice(input_per_mtok=Decimal(2), output_per_mtok=Decimal(8))
    assert price_usd("anthropic", "mine", usage, {"mine": default_rates}) == Decimal("0.0028")
