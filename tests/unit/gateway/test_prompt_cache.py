"""The gateway and providers' prompt caches: what each request carries for the cache, and what
the ledger (and the usage summary) records of the writes, the reads and the money saved."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.fakes.prompt_cache import PromptCache
from tests.helpers import sample_module
from tests.unit.gateway.conftest import ledger_rows, task

from magray_lsp import metrics
from magray_lsp.gateway import Gateway
from magray_lsp.task import Task

MakeGateway = Callable[..., Gateway]
AWS_KEY = "AKIAZ7Q3CANARY5XK2PD"
# Haiku 3.5 at its list prices (genai-prices): writes 1.25× input, reads 0.1×
HAIKU_PRICES = {
    "claude-3-5-haiku-latest": {
        "input_per_mtok": "0.8",
        "output_per_mtok": "4",
        "cached_input_per_mtok": "0.08",
        "cache_write_per_mtok": "1",
    }
}
ANTHROPIC_FIRST: dict[str, Any] = {
    "routing": {"default": "anthropic.default"},
    "llm": {"anthropic": {"prices": HAIKU_PRICES}},
}


def cached_task(context: str, request: str, source: str = "/work/app/billing.py") -> Task:
    prefix = f"Context from billing.py:\n```python\n{context}\n```\n\n"
    return dataclasses.replace(
        task(source_path=source),
        prompt=prefix + request,
        prompt_prefix=len(prefix),
    )


def posted(server: FakeOpenAI | FakeAnthropic) -> list[dict[str, Any]]:
    return [r.body for r in server.requests if r.method == "POST"]


async def test_openai_requests_carry_one_hashed_key_per_workspace_file(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    gw = make_gateway()
    context = sample_module(5)
    await gw.run(cached_task(context, "Explain helper_1."))
    await gw.run(cached_task(context, "Explain helper_2."))
    await gw.run(cached_task(context, "Explain helper_3.", source="/work/app/other.py"))
    await gw.run(task())  # no stable prefix: nothing to group
    keys = [body.get("prompt_cache_key") for body in posted(primary)]
    assert keys[0] == keys[1] != keys[2] and keys[3] is None
    assert all(k is not None and k.startswith("magray-") and len(k) == 39 for k in keys[:3])
    assert "billing" not in json.dumps(keys) and "work" not in json.dumps(keys)


async def test_anthropic_writes_then_reads_and_the_ledger_prices_both(
    make_gateway: MakeGateway, secondary: FakeAnthropic
) -> None:
    secondary.prompt_cache = PromptCache()
    secondary.default = Reply(text="Adds up invoices.", output_tokens=50)
    gw = make_gateway(**ANTHROPIC_FIRST)
    context = sample_module(80)  # about 3,000 tokens: over Haiku 3.5's 2,048 minimum
    first = await gw.run(cached_task(context, "Explain helper_1."))
    second = await gw.run(cached_task(context, "Document helper_2."))
    assert first.usage is not None and second.usage is not None
    written = first.usage.cache_write_tokens
    assert written > 2048 and first.usage.cached_input_tokens == 0
    assert second.usage.cached_input_tokens == written and second.usage.cache_write_tokens == 0

    def price(rest: int, writes: int, reads: int) -> Decimal:
        mtok = Decimal(10**6)
        return (rest * Decimal("0.8") + writes + reads * Decimal("0.08") + 50 * 4) / mtok

    plain = [price(u.input_tokens, 0, 0) for u in (first.usage, second.usage)]
    rows = {r.id: r for r in ledger_rows(gw)}
    one, two = rows[first.request_id], rows[second.request_id]
    assert one.cost_usd == first.cost_usd == price(first.usage.input_tokens - written, written, 0)
    assert two.cost_usd == price(second.usage.input_tokens - written, 0, written)
    assert (one.cache_write_tokens, one.cached_input_tokens) == (written, 0)
    assert (two.cache_write_tokens, two.cached_input_tokens) == (0, written)
    assert (one.uncached_usd, two.uncached_usd) == tuple(plain)
    assert one.uncached_usd is not None and one.cost_usd is not None
    assert one.uncached_usd < one.cost_usd  # the write cost a quarter more...
    assert two.uncached_usd is not None and two.cost_usd is not None
    assert two.uncached_usd - two.cost_usd > one.cost_usd - one.uncached_usd  # ...the read paid it

    totals = metrics.summary(gw.ledger)["totals"]
    assert (totals["cache_read_tokens"], totals["cache_write_tokens"]) == (written, written)
    saved = (one.uncached_usd - one.cost_usd) + (two.uncached_usd - two.cost_usd)
    assert totals["prompt_cache_saved_usd"] == saved > 0


async def test_an_answer_cache_hit_does_not_count_as_a_prompt_cache_read(
    make_gateway: MakeGateway, secondary: FakeAnthropic
) -> None:
    secondary.prompt_cache = PromptCache()
    gw = make_gateway(cache=True, **ANTHROPIC_FIRST)
    context = sample_module(80)
    paid = await gw.run(cached_task(context, "Explain helper_1."))
    repeat = dataclasses.replace(cached_task(context, "Explain helper_1."), cache_key="same")
    await gw.run(repeat)
    hit = await gw.run(repeat)
    assert hit.cached and paid.usage is not None
    await gw.flush()  # the rows journaled so far, into the ledger this reads
    totals = metrics.summary(gw.ledger)["totals"]
    assert totals["cache_hits"] == 1
    assert totals["cache_write_tokens"] == paid.usage.cache_write_tokens  # the hit adds nothing


async def test_redaction_keeps_the_marked_prefix_of_a_remote_call(
    make_gateway: MakeGateway, secondary: FakeAnthropic
) -> None:
    secondary.prompt_cache = PromptCache()
    gw = make_gateway(
        routing={"default": "anthropic.default"},
        llm={"anthropic": {"remote": True}, "openai": {"remote": True}},
    )
    context = f'AWS_KEY = "{AWS_KEY}"\n\n' + sample_module(80)
    for request in ("Explain helper_1.", "Explain helper_2."):
        await gw.run(cached_task(context, request))
    bodies = posted(secondary)
    assert AWS_KEY not in json.dumps(bodies)
    first, second = (body["messages"][0]["content"] for body in bodies)
    assert first[0]["cache_control"] == {"type": "ephemeral"}
    assert "<API_KEY_1>" in first[0]["text"] and first[0]["text"].endswith("```\n\n")
    assert first[1] == {"type": "text", "text": "Explain helper_1."}
    assert first[0]["text"] == second[0]["text"]  # the same placeholder: the prefix repeats
    assert secondary.prompt_cache.tally.read_tokens > 2048
