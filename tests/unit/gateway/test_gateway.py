"""The gateway against real loopback providers: retry, fallback, streaming, cache, ledger."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable
from decimal import Decimal

import pytest
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import ContextTooLong, CutStream, Hang, Malformed, Reply, Status
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for
from tests.unit.gateway.conftest import Sleeps, ledger_rows, task

from magray_lsp.errors import BadRequest, StreamInterrupted
from magray_lsp.gateway import AllModelsFailed, Fallback, Gateway, Outcome
from magray_lsp.providers.base import TextDelta
from magray_lsp.task import Task

MakeGateway = Callable[..., Gateway]


async def collect(gw: Gateway, t: Task | None = None) -> tuple[list[object], Outcome]:
    events: list[object] = [e async for e in gw.stream(t or task())]
    outcome = events[-1]
    assert isinstance(outcome, Outcome)
    return events, outcome


def chats(server: FakeOpenAI | FakeAnthropic) -> int:
    return sum(1 for r in server.requests if r.method == "POST")


async def test_streams_deltas_then_outcome_priced_and_recorded(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text="It parses a header line.", input_tokens=1000, output_tokens=500)
    gw = make_gateway()
    events, outcome = await collect(gw)
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert (
        len(deltas) == 5
        and "".join(d.text for d in deltas) == outcome.text == "It parses a header line."
    )
    assert outcome.ref.label == "openai.default" and outcome.fallback_from is None
    assert outcome.cost_usd == Decimal("0.002")  # 1000 × $1/M + 500 × $2/M
    assert outcome.month_usd == Decimal("0.002")
    [row] = ledger_rows(gw)
    assert (row.provider, row.model, row.outcome, row.cost_usd) == (
        "openai",
        "gpt-4o-mini",
        "ok",
        Decimal("0.002"),
    )
    assert (row.input_tokens, row.output_tokens) == (1000, 500)
    assert row.first_token_ms is not None and row.first_token_ms <= row.latency_ms


@pytest.mark.parametrize(
    ("fault", "retry_after"),
    [
        (Status(429, "slow down", headers={"retry-after": "2"}), 2.0),
        (Status(429, "slow down"), None),
        (Status(500, "boom"), None),
        (Status(503, "overloaded"), None),
        (Malformed(), None),
    ],
)
async def test_retryable_faults_are_retried_on_the_same_model(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    secondary: FakeAnthropic,
    sleeps: Sleeps,
    fault: object,
    retry_after: float | None,
) -> None:
    primary.script(fault)
    gw = make_gateway()
    _, outcome = await collect(gw)
    assert outcome.ref.provider == "openai" and outcome.fallback_from is None
    assert chats(primary) == 2 and chats(secondary) == 0
    assert len(sleeps.delays) == 1
    if retry_after is not None:
        assert retry_after <= sleeps.delays[0] <= retry_after * 1.1  # honoured, jittered
    else:
        assert sleeps.delays[0] <= 0.001
    rows = sorted(ledger_rows(gw), key=lambda r: r.ts)
    assert [r.outcome for r in rows] == ["error", "ok"]
    assert len(outcome.attempts) == 1 and "openai.default" in outcome.attempts[0]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Status(401, "bad key"), "AuthError"),
        (ContextTooLong(), "ContextTooLong"),
        (Status(404, "no such model"), "Unavailable"),
    ],
)
async def test_non_retryable_faults_fall_back_without_retry(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    secondary: FakeAnthropic,
    sleeps: Sleeps,
    fault: object,
    error: str,
) -> None:
    primary.script(fault)
    gw = make_gateway()
    events, outcome = await collect(gw)
    assert chats(primary) == 1 and chats(secondary) == 1
    assert sleeps.delays == []
    [notice] = [e for e in events if isinstance(e, Fallback)]
    assert notice.failed == "openai.default" and notice.next == "anthropic.default"
    assert error in notice.error
    assert outcome.ref.label == "anthropic.default" and outcome.fallback_from == "openai.default"
    ok = [r for r in ledger_rows(gw) if r.outcome == "ok"]
    assert list(ok[0].fallback_chain) == ["openai/gpt-4o-mini"]  # provider/model, never a label
    assert [r.error_type for r in ledger_rows(gw) if r.outcome == "error"] == [error]


async def test_the_fallback_chain_names_provider_and_model_id_even_with_colons(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    """A fine-tuned OpenAI model's id is full of colons: the chain still says exactly which
    provider and model failed (the ledger's outage and health figures read the provider from
    it), by id, not by the alias the plan used."""
    fine_tuned = "ft:gpt-4o-mini:acme::9x2b"
    primary.script(Status(401, "bad key"))
    gw = make_gateway(llm={"openai": {"models": {"default": fine_tuned}}})
    _, outcome = await collect(gw)
    assert outcome.ref.provider == "anthropic"
    ok = [r for r in ledger_rows(gw) if r.outcome == "ok"]
    assert list(ok[0].fallback_chain) == [f"openai/{fine_tuned}"]


async def test_persistent_failure_exhausts_retries_then_falls_back(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    secondary: FakeAnthropic,
    sleeps: Sleeps,
) -> None:
    primary.default = Status(503, "down")
    gw = make_gateway()
    _, outcome = await collect(gw)
    assert chats(primary) == 3 and chats(secondary) == 1
    assert len(sleeps.delays) == 2
    assert outcome.fallback_from == "openai.default"


async def test_connection_refused_falls_back(
    make_gateway: MakeGateway, secondary: FakeAnthropic
) -> None:
    gw = make_gateway(llm={"openai": {"base_url": "http://127.0.0.1:9/v1"}})
    _, outcome = await collect(gw)
    assert outcome.ref.provider == "anthropic"
    assert "Unavailable" in outcome.attempts[0]


async def test_read_timeout_is_retried_then_falls_back(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    secondary: FakeAnthropic,
) -> None:
    primary.default = Hang(5)
    gw = make_gateway(llm={"openai": {"timeout_seconds": 0.2}}, retry={"max_attempts": 2})
    _, outcome = await collect(gw)
    assert outcome.ref.provider == "anthropic"
    assert [a.split(":")[1].strip() for a in outcome.attempts] == ["Timeout", "Timeout"]


async def test_stream_cut_after_text_is_an_explicit_error_not_a_fallback(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    secondary: FakeAnthropic,
) -> None:
    primary.script(CutStream(after=3, reply=Reply(text="one two three four five six")))
    gw = make_gateway(cache=True)
    seen: list[str] = []
    with pytest.raises(StreamInterrupted, match="broke off after"):
        async for event in gw.stream(task(key="k-cut")):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert seen  # the user saw partial text ...
    assert chats(secondary) == 0  # ... so no silent switch to another model
    assert [r.outcome for r in ledger_rows(gw)] == ["error"]
    assert gw.cache is not None and await gw.cache.get(gw.key_for(task(key="k-cut")) or "") is None


async def test_bad_request_is_fatal(
    make_gateway: MakeGateway, primary: FakeOpenAI, secondary: FakeAnthropic
) -> None:
    primary.script(Status(400, "invalid 'messages'"))
    gw = make_gateway()
    with pytest.raises(BadRequest):
        await collect(gw)
    assert chats(secondary) == 0


async def test_every_model_failing_is_a_clear_error(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    secondary: FakeAnthropic,
) -> None:
    primary.default = Status(401, "bad key")
    secondary.default = Status(401, "bad key")
    gw = make_gateway()
    with pytest.raises(
        AllModelsFailed, match=r"openai\.default: AuthError.*anthropic\.default: AuthError"
    ):
        await collect(gw)


async def test_cache_hit_costs_nothing_and_calls_nobody(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text="cached answer", input_tokens=1000, output_tokens=1000)
    gw = make_gateway(cache=True)
    _, first = await collect(gw, task(key="same-code"))
    _, second = await collect(gw, task(key="same-code"))
    assert chats(primary) == 1
    assert second.cached and second.text == "cached answer" and second.cost_usd == 0
    assert first.cost_usd == Decimal("0.003")
    await gw.flush()  # a hit's ledger row is written off the critical path
    cached_row = next(r for r in ledger_rows(gw) if r.cached)
    assert cached_row.cost_usd == 0 and cached_row.saved_usd == Decimal("0.003")
    # a different model policy is a different answer
    await collect(gw, task(key="same-code", model_pin="anthropic.default"))
    assert chats(primary) == 1


async def test_single_flight_50_identical_requests_one_call(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text="shared answer", chunk_delay=0.01)
    gw = make_gateway(cache=True)
    outcomes = await asyncio.gather(*(gw.run(task(key="hot")) for _ in range(50)))
    assert chats(primary) == 1
    assert all(o.text == "shared answer" for o in outcomes)
    paid = [o for o in outcomes if not o.coalesced and not o.cached]
    assert len(paid) == 1
    assert sum((o.cost_usd or 0) for o in outcomes) == paid[0].cost_usd  # paid once
    assert [r.outcome for r in ledger_rows(gw) if not r.cached] == ["ok"]


async def test_cancel_closes_the_provider_stream_and_records_it(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text=" ".join(["word"] * 200), chunk_delay=0.02)
    gw = make_gateway()
    got_text = asyncio.Event()

    async def consume() -> None:
        async for event in gw.stream(task()):
            if isinstance(event, TextDelta):
                got_text.set()

    runner = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), 10)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    await wait_for(lambda: primary.requests[-1].stream_outcome == "disconnected")
    rows = ledger_rows(gw)
    assert [r.outcome for r in rows] == ["cancelled"]
    assert 0 < rows[0].output_tokens < 200


async def test_run_many_isolates_failures(make_gateway: MakeGateway, primary: FakeOpenAI) -> None:
    gw = make_gateway(llm={"anthropic": {"enabled": False}})
    primary.script(Reply(text="a"), Status(400, "bad"), Reply(text="c"))
    results = await gw.run_many([task(), task(), task()])
    assert sum(isinstance(r, Outcome) for r in results) == 2
    assert sum(isinstance(r, BadRequest) for r in results) == 1


async def test_soak_1000_requests_30_percent_primary_failures_all_succeed(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    secondary: FakeAnthropic,
) -> None:
    rng = random.Random(42)
    primary.script(
        *[Status(500, "flaky") if rng.random() < 0.3 else Reply(text="ok") for _ in range(3000)]
    )
    gw = make_gateway(retry={"max_attempts": 1})
    results = await gw.run_many([task() for _ in range(1000)])
    failures = [r for r in results if not isinstance(r, Outcome)]
    assert failures == []
    answered_by = {r.ref.provider for r in results if isinstance(r, Outcome)}
    assert answered_by == {"openai", "anthropic"}
    assert chats(secondary) >= 200


async def test_budget_hard_limit_overshoots_by_at_most_one_estimate(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
) -> None:
    # each request: estimate = 100 in + 50 out → $0.0002; actual usage 100 + 50 → $0.0002
    primary.default = Reply(text="x", input_tokens=100, output_tokens=50)
    gw = make_gateway(llm={"anthropic": {"enabled": False}}, budget={"monthly_usd": "0.005"})
    results = await gw.run_many([task() for _ in range(100)])
    spent = gw.ledger.month_spend()
    assert spent <= Decimal("0.005") + Decimal("0.0002")
    ok = [r for r in results if isinstance(r, Outcome)]
    assert 20 <= len(ok) <= 26
    refused = [r for r in results if not isinstance(r, Outcome)]
    assert len(refused) == 100 - len(ok)
    assert all(
        isinstance(r, AllModelsFailed) and "monthly budget $0.0050 reached" in str(r)
        for r in refused
    )
    assert gw.budget_status(max_age=0).exhausted or spent + Decimal("0.0002") > Decimal("0.005")


def _no_broken_parens(text: str) -> str | None:
    return "syntax: unbalanced parenthesis" if "(:" in text else None


async def test_rejected_answer_is_paid_not_cached_and_the_next_model_answers(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    secondary: FakeAnthropic,
) -> None:
    primary.default = Reply(text="def broken(:", input_tokens=100, output_tokens=10)
    secondary.default = Reply(text="def fixed(): pass")
    gw = make_gateway(cache=True)
    events = [e async for e in gw.stream(task(key="edit"), accept=_no_broken_parens)]
    outcome = events[-1]
    assert isinstance(outcome, Outcome) and outcome.text == "def fixed(): pass"
    assert any(
        isinstance(e, Fallback) and "InvalidAnswer" in e.error and "unbalanced" in e.error
        for e in events
    )
    rows = {r.error_type: r for r in ledger_rows(gw)}
    assert rows["InvalidAnswer"].cost_usd == Decimal("0.00012")  # paid for, even though unusable
    again = await gw.run(task(key="edit"), accept=_no_broken_parens)
    assert again.cached and again.text == "def fixed(): pass"
    primary.default = Reply(text="def broken(:")
    secondary.default = Reply(text="def broken(:")
    with pytest.raises(AllModelsFailed, match="InvalidAnswer"):
        await gw.run(task(key="other"), accept=_no_broken_parens)


async def test_private_task_is_refused_where_the_request_is_sent(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    from magray_lsp.errors import PrivacyViolation
    from magray_lsp.routing.router import Plan

    gw = make_gateway(llm={"openai": {"remote": True}})
    public_plan = gw.plan(task())  # a plan made for public code ...
    with pytest.raises(PrivacyViolation, match=r"openai\.default"):
        async for _ in gw.executor.execute(
            task(private=True), Plan(public_plan.candidates[:1]), None
        ):
            pass  # ... used for private code by mistake never reaches the wire
    assert primary.requests == []


async def test_ollama_context_window_comes_from_api_show(make_gateway: MakeGateway) -> None:
    from tests.fakes.ollama import FakeModel, FakeOllama

    with FakeOllama(models=[FakeModel("tiny-coder:1b", context_length=2048)]) as ollama:
        gw = make_gateway(
            llm={"ollama": {"base_url": ollama.url, "models": {"default": "tiny-coder:1b"}}},
            routing={"default": "ollama.default"},
        )
        big = dataclasses.replace(task(), context_tokens=3000)
        outcome = await gw.run(big)  # 3,000 tokens do not fit the 2,048 Ollama reports ...
        assert outcome.ref.provider != "ollama"  # ... so another model takes it
        assert gw.router.window(gw.catalog.resolve("ollama.default")) == 2048
        assert "window 2,048" in dict(gw.plan(big).rejected)["ollama.default"]
        assert sum(1 for r in ollama.requests if r.path == "/api/chat") == 0
