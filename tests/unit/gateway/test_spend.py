"""Money the providers billed is money the month counts: calls cancelled or broken off, servers
that report no usage, models without a price, a remote Ollama, and the `max_tokens` sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from tests.fakes.base import CutStream, Hang, Reply, Status
from tests.fakes.openai import FakeOpenAI, OpenAIReply
from tests.helpers import wait_for
from tests.unit.gateway.conftest import ledger_rows, task

from magray_lsp.context.tokens import estimate_tokens
from magray_lsp.errors import BadRequest, StreamInterrupted
from magray_lsp.gateway import AllModelsFailed, Gateway, Outcome
from magray_lsp.providers.base import TextDelta
from magray_lsp.routing.pricing import UNKNOWN_PRICE

MakeGateway = Callable[..., Gateway]
ONLY_OPENAI: dict[str, Any] = {"anthropic": {"enabled": False}}
M = Decimal(1_000_000)


def cost(input_tokens: int, output_tokens: int, per_in: Decimal, per_out: Decimal) -> Decimal:
    return (input_tokens * per_in + output_tokens * per_out) / M


def prompt_tokens(t: Any) -> int:
    """What the gateway bills a cut-short call's prompt as: the router's estimator on the text."""
    return estimate_tokens(t.system + t.prompt, t.language)


async def cancel_after(gw: Gateway, t: Any, chunks: int) -> str:
    """Stream `t`, cancel once `chunks` deltas arrived; the text received."""
    seen: list[str] = []
    enough = asyncio.Event()

    async def consume() -> None:
        async for event in gw.stream(t):
            if isinstance(event, TextDelta):
                seen.append(event.text)
                if len(seen) >= chunks:
                    enough.set()

    runner = asyncio.create_task(consume())
    await asyncio.wait_for(enough.wait(), 10)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    return "".join(seen)


def reservations(gw: Gateway) -> int:
    """Reservations in the ledger once the rows journaled so far (which drop theirs) are in."""
    assert gw.writer.flush(30)
    return int(gw.ledger.read("SELECT COUNT(*) FROM reservations")[0][0])


async def test_a_cancelled_call_is_billed_for_its_prompt_and_the_text_received(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text=" ".join(["word"] * 400), chunk_delay=0.02)
    gw = make_gateway(llm=ONLY_OPENAI, budget={"monthly_usd": "5"})
    t = task()
    text = await cancel_after(gw, t, 5)
    await wait_for(lambda: primary.requests[-1].stream_outcome == "disconnected")
    [row] = ledger_rows(gw)
    assert row.outcome == "cancelled" and row.tokens_estimated
    assert text.startswith("word word word word word")
    expected_out = estimate_tokens(text, t.language)
    assert (row.input_tokens, row.output_tokens) == (prompt_tokens(t), expected_out)
    assert row.cost_usd == cost(prompt_tokens(t), expected_out, Decimal(1), Decimal(2))
    assert gw.ledger.month_spend() == row.cost_usd > 0  # it counts toward the month
    assert reservations(gw) == 0  # settled, not left to expire


async def test_a_stream_broken_off_after_text_counts_that_text(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.script(CutStream(after=3, reply=Reply(text="one two three four five six")))
    gw = make_gateway(llm=ONLY_OPENAI, budget={"monthly_usd": "5"})
    t = task()
    seen: list[str] = []
    with pytest.raises(StreamInterrupted):
        async for event in gw.stream(t):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    [row] = ledger_rows(gw)
    text = "".join(seen)
    assert text == "one two three"
    assert (row.input_tokens, row.output_tokens) == (
        prompt_tokens(t),
        estimate_tokens(text, t.language),
    )
    assert row.outcome == "error" and row.tokens_estimated
    assert row.cost_usd == cost(row.input_tokens, row.output_tokens, Decimal(1), Decimal(2))
    assert gw.ledger.month_spend() == row.cost_usd > 0
    assert reservations(gw) == 0


async def test_without_provider_usage_output_tokens_are_estimated_from_the_text(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    answer = "This function parses one header line into a lower-cased name and a value."
    primary.default = OpenAIReply(text=answer, usage=False)
    gw = make_gateway(llm=ONLY_OPENAI)
    t = task()
    outcome = await gw.run(t)
    [row] = ledger_rows(gw)
    words = len(answer.split(" "))  # the fake streams a word per chunk: not a token count
    assert row.output_tokens == estimate_tokens(answer, t.language) != words
    assert row.input_tokens == prompt_tokens(t) and row.tokens_estimated
    assert (
        outcome.cost_usd
        == row.cost_usd
        == cost(row.input_tokens, row.output_tokens, Decimal(1), Decimal(2))
    )


async def test_provider_usage_is_never_marked_estimated(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text="fine", input_tokens=321, output_tokens=12)
    gw = make_gateway(llm=ONLY_OPENAI)
    await gw.run(task())
    [row] = ledger_rows(gw)
    assert (row.input_tokens, row.output_tokens, row.tokens_estimated) == (321, 12, False)


async def test_a_call_cancelled_while_waiting_for_a_slot_costs_nothing_and_frees_its_reservation(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text="slow answer", delay=1)
    # the slow answer well inside the call's timeout (2 s by default here), even on a busy machine
    openai = {"max_concurrency": 1, "timeout_seconds": 30}
    gw = make_gateway(llm={**ONLY_OPENAI, "openai": openai}, budget={"monthly_usd": "5"})
    first = asyncio.create_task(gw.run(task()))
    await wait_for(lambda: len(primary.requests) == 1)
    waiting = asyncio.create_task(gw.run(task()))
    await wait_for(lambda: reservations(gw) == 2)  # the second one holds money, waits for a slot
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await wait_for(lambda: reservations(gw) == 1)
    [row] = [r for r in ledger_rows(gw) if r.outcome == "cancelled"]
    assert row.cost_usd is None and (row.input_tokens, row.output_tokens) == (0, 0)
    assert len(primary.requests) == 1  # never sent
    assert isinstance(await first, Outcome)
    assert reservations(gw) == 0


async def test_a_whole_answer_cancelled_while_the_provider_works_is_billed_and_settled(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    """`Gateway.run` (one non-streamed answer) cancelled after the request went out: the prompt
    was paid for, so its row says so, the reservation is settled, and nothing stays in flight."""
    primary.default = Hang(30)
    openai = {"timeout_seconds": 60}  # the cancel, not the timeout, ends it
    gw = make_gateway(llm={**ONLY_OPENAI, "openai": openai}, budget={"monthly_usd": "5"})
    t = task()
    runner = asyncio.create_task(gw.run(t))
    await wait_for(lambda: len(primary.requests) == 1)
    assert gw.rows.in_flight == 1 and reservations(gw) == 1
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert gw.rows.in_flight == 0  # closed by `run` itself, not later by the GC's hook
    [row] = ledger_rows(gw)
    assert row.outcome == "cancelled" and row.output_tokens == 0
    assert row.input_tokens == prompt_tokens(t)
    assert row.cost_usd == cost(prompt_tokens(t), 0, Decimal(1), Decimal(2)) > 0
    assert reservations(gw) == 0 and gw.budget.status().reserved == 0
    assert primary.requests[0].body["stream"] is False  # the whole-answer call, not a stream


async def test_max_tokens_sent_is_the_number_the_estimate_used(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    gw = make_gateway(
        llm={**ONLY_OPENAI, "openai": {"defaults": {"max_tokens": 300}}},
        budget={"monthly_usd": "5"},
    )
    t = task()  # the action expects 50 output tokens; the section caps answers at 300
    plan = gw.plan(t)
    assert plan.primary.estimate_usd == cost(t.context_tokens, 300, Decimal(1), Decimal(2))
    await gw.run(t)
    assert primary.requests[-1].body["max_tokens"] == 300
    plain = make_gateway(llm=ONLY_OPENAI)
    await plain.run(t)
    assert primary.requests[-1].body["max_tokens"] == 50


UNPRICED: dict[str, Any] = {
    **ONLY_OPENAI,
    "openai": {"models": {"default": "house-model-7b"}, "prices": {}},
}


async def test_an_unpriced_model_counts_at_its_reservation_price_under_a_hard_budget(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text="fine", input_tokens=1000, output_tokens=100)
    gw = make_gateway(llm=UNPRICED, budget={"monthly_usd": "0.05"})
    t = task()
    plan = gw.plan(t)
    assert plan.primary.price_assumed
    placeholder = (UNKNOWN_PRICE.input_per_mtok, UNKNOWN_PRICE.output_per_mtok)
    assert plan.primary.estimate_usd == cost(t.context_tokens, 50, *placeholder)
    outcome = await gw.run(t)
    [row] = ledger_rows(gw)
    assert outcome.cost_usd == row.cost_usd == cost(1000, 100, *placeholder)  # $0.0225
    assert row.price_assumed and not row.tokens_estimated
    assert gw.ledger.month_spend() == row.cost_usd  # never $0
    # the hard budget stops it: $0.0225 spent, and the next call may cost more than is left
    await gw.run(t)
    with pytest.raises(AllModelsFailed, match="monthly budget"):
        await gw.run(t)
    assert gw.ledger.month_spend() <= Decimal("0.05")


async def test_without_a_hard_budget_an_unpriced_model_stays_unpriced(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text="fine", input_tokens=1000, output_tokens=100)
    gw = make_gateway(llm=UNPRICED)
    assert gw.plan(task()).primary.estimate_usd is None
    await gw.run(task())
    [row] = ledger_rows(gw)
    assert row.cost_usd is None and not row.price_assumed
    assert gw.ledger.month_unpriced() == 1


@pytest.mark.parametrize(
    ("section", "free"),
    [
        ({"base_url": "http://127.0.0.1:11434"}, True),
        ({"base_url": "http://localhost:11434"}, True),
        ({}, True),  # the default URL is this machine
        ({"base_url": "http://gpu-box.internal:11434"}, False),
        ({"base_url": "http://192.0.2.7:11434"}, False),
        ({"base_url": "https://ollama.example.com"}, False),
        ({"base_url": "http://127.0.0.1:11434", "remote": True}, False),  # an SSH tunnel
    ],
)
async def test_ollama_is_free_only_on_this_machine(
    make_gateway: MakeGateway, section: dict[str, Any], free: bool
) -> None:
    llm = {**ONLY_OPENAI, "openai": {"enabled": False}, "ollama": section}
    gw = make_gateway(llm=llm, routing={"default": "ollama.default"}, budget={"monthly_usd": "5"})
    primary = gw.plan(task()).primary
    assert (primary.estimate_usd == 0) is free
    assert primary.price_assumed is not free
    priced = {**section, "prices": {"llama3.1": {"input_per_mtok": "0", "output_per_mtok": "0"}}}
    gw = make_gateway(
        llm={**llm, "ollama": priced},
        routing={"default": "ollama.default"},
        budget={"monthly_usd": "5"},
    )
    assert gw.plan(task()).primary.estimate_usd == 0  # `prices` says it is free


def test_the_action_title_says_an_unpriced_model_is_counted_at_the_placeholder(
    make_gateway: MakeGateway,
) -> None:
    from magray_lsp.context.document import Document
    from magray_lsp.lsp.offers import offers

    doc = Document.from_text("def parse(line):\n    return line.strip()\n", path="a.py")
    hard = make_gateway(llm=UNPRICED, budget={"monthly_usd": "5"})
    [explain, *_] = offers(hard, doc, 4, 4, private=False)
    assert explain.title.startswith("Explain `parse` — house-model-7b ≈ $0.0")
    assert explain.title.endswith("(no price known: counted at $15/$75 per Mtok)")
    soft = make_gateway(llm=UNPRICED)
    [explain, *_] = offers(soft, doc, 4, 4, private=False)
    assert explain.title == "Explain `parse` — house-model-7b ≈ $?"


async def test_a_call_refused_with_a_non_fallback_error_frees_its_reservation(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Status(400, "unsupported parameter")  # BadRequest: no retry, no fallback
    gw = make_gateway(llm=ONLY_OPENAI, budget={"monthly_usd": "5"})
    with pytest.raises(BadRequest):
        await gw.run(task())
    assert reservations(gw) == 0  # the provider billed nothing: nothing stays set aside
    assert gw.budget.status().reserved == 0


async def test_a_request_cancelled_between_retries_frees_its_reservation(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Status(503, "overloaded")  # retryable: the gateway backs off, then retries
    gw = make_gateway(llm=ONLY_OPENAI, budget={"monthly_usd": "5"})
    backing_off = asyncio.Event()

    async def slow_backoff(delay: float) -> None:
        backing_off.set()
        await asyncio.sleep(60)

    gw.executor.sleep = slow_backoff
    running = asyncio.create_task(gw.run(task()))
    await asyncio.wait_for(backing_off.wait(), 10)
    assert reservations(gw) == 1
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await wait_for(lambda: reservations(gw) == 0)
