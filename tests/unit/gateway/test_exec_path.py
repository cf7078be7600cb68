"""The executor's one generator per plan, at the edges a flattened path could lose something:
the overall deadline between chunks and before the first, a reader that stops early, a
non-streaming call cancelled, and a coalesced request whose leader is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for
from tests.unit.gateway.conftest import ledger_rows, task

from magray_lsp.errors import BadRequest, StreamInterrupted
from magray_lsp.gateway import AllModelsFailed, Gateway, Outcome
from magray_lsp.providers.base import TextDelta

MakeGateway = Callable[..., Gateway]
ONLY_OPENAI = {"anthropic": {"enabled": False}}


def chats(server: FakeOpenAI) -> int:
    return sum(1 for r in server.requests if r.method == "POST")


async def test_the_deadline_passed_between_chunks_breaks_the_answer_off_and_bills_it(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text=" ".join(["word"] * 200), chunk_delay=0.05)
    gw = make_gateway(llm=ONLY_OPENAI, retry={"deadline_seconds": 1.5})
    received: list[str] = []
    with pytest.raises(StreamInterrupted, match="overall deadline reached"):
        async for event in gw.stream(task()):
            if isinstance(event, TextDelta):
                received.append(event.text)
    assert 0 < len(received) < 200  # some text reached the caller, then the deadline struck
    await wait_for(lambda: primary.requests[-1].stream_outcome == "disconnected")
    [row] = ledger_rows(gw)
    assert (row.outcome, row.error_type) == ("error", "Timeout")
    assert row.output_tokens > 0 and row.cost_usd is not None and row.cost_usd > 0
    assert chats(primary) == 1  # a broken-off answer is not retried


async def test_the_deadline_passed_before_any_text_ends_the_request_unbilled(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text="late", delay=2.0)
    gw = make_gateway(llm=ONLY_OPENAI, retry={"deadline_seconds": 0.3})
    with pytest.raises(AllModelsFailed, match="deadline"):
        await gw.run(task())
    rows = ledger_rows(gw)
    assert rows and all((r.outcome, r.error_type) == ("error", "Timeout") for r in rows)
    assert all(r.cost_usd in (None, 0) for r in rows)  # refused by time, nothing received


async def test_a_reader_that_stops_early_leaves_its_cancelled_row_when_it_closes_the_stream(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text=" ".join(["word"] * 200), chunk_delay=0.02)
    gw = make_gateway(llm=ONLY_OPENAI)
    events = gw.stream(task())
    async for event in events:
        if isinstance(event, TextDelta):
            break
    await events.aclose()
    # closed through every layer at once, not later by the garbage collector's hook
    [row] = ledger_rows(gw)
    assert row.outcome == "cancelled" and row.output_tokens > 0
    assert gw.health.get("openai.default").breaker.allow()  # no probe left held
    await wait_for(lambda: primary.requests[-1].stream_outcome == "disconnected")


async def test_a_whole_answer_cancelled_while_it_is_awaited_is_recorded_as_cancelled(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text="slow whole answer", delay=5.0)
    gw = make_gateway(llm=ONLY_OPENAI)
    runner = asyncio.create_task(gw.run(task()))
    await wait_for(lambda: chats(primary) == 1)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    [row] = ledger_rows(gw)
    assert row.outcome == "cancelled"
    assert gw.health.get("openai.default").breaker.allow()


async def test_a_request_cancelled_while_it_waits_for_a_concurrency_slot_sends_nothing(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    """`ProviderCall` takes the provider's slot on entry: cancelled while waiting there, the
    request leaves its cancelled row (unbilled), frees its breaker probe and never reaches the
    provider; the call holding the slot answers as usual."""
    primary.default = Reply(text="slow whole answer", delay=0.5)
    gw = make_gateway(llm={**ONLY_OPENAI, "openai": {"max_concurrency": 1}})
    holder = asyncio.create_task(gw.run(task(unit="first")))
    await wait_for(lambda: chats(primary) == 1)
    waiting = asyncio.create_task(gw.run(task(unit="second")))
    await wait_for(lambda: len(ledger_rows(gw)) == 0 and gw.rows.in_flight == 2)
    await asyncio.sleep(0.05)  # the second is parked on the slot
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    [row] = ledger_rows(gw)
    assert row.outcome == "cancelled" and not row.cost_usd
    assert gw.health.get("openai.default").breaker.allow()
    assert (await holder).text == "slow whole answer"
    assert chats(primary) == 1  # the cancelled request never reached the provider


async def test_a_call_that_fails_as_it_starts_frees_its_slot_and_leaves_its_row(
    make_gateway: MakeGateway, primary: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An adapter that raises while its call is being set up (no fake can: it is before any
    byte is sent) is a failed call like any other: its row, its breaker count, and the
    concurrency slot free for the next request."""
    gw = make_gateway(llm={**ONLY_OPENAI, "openai": {"max_concurrency": 1}})
    provider = gw.catalog.provider("openai")
    real = provider.unguarded

    def refuse(*args: object, **kwargs: object) -> object:
        raise BadRequest("refused while starting", provider="openai")

    monkeypatch.setattr(provider, "unguarded", refuse)
    with pytest.raises(BadRequest, match="refused while starting"):
        await gw.run(task())
    [row] = ledger_rows(gw)
    assert (row.outcome, row.error_type) == ("error", "BadRequest")
    monkeypatch.setattr(provider, "unguarded", real)
    outcome = await asyncio.wait_for(gw.run(task(unit="next")), timeout=30)
    assert outcome.text and chats(primary) == 1  # the slot was given back


async def test_a_follower_keeps_the_shared_answer_when_the_leader_is_cancelled(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text=" ".join(["shared"] * 30), chunk_delay=0.03)
    gw = make_gateway(llm=ONLY_OPENAI, cache=True)
    first_text = asyncio.Event()

    async def lead() -> None:
        async for event in gw.stream(task(key="same")):
            if isinstance(event, TextDelta):
                first_text.set()

    leader = asyncio.create_task(lead())
    await asyncio.wait_for(first_text.wait(), 10)
    follower = asyncio.create_task(gw.run(task(key="same")))
    await asyncio.sleep(0.05)  # the follower has joined the flight
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    outcome = await asyncio.wait_for(follower, 20)
    assert isinstance(outcome, Outcome)
    assert outcome.text == " ".join(["shared"] * 30) and outcome.coalesced
    assert chats(primary) == 1  # the call went on for the follower, and was not made again
    await gw.flush()
    paid = [r for r in ledger_rows(gw) if not r.cached]
    assert [r.outcome for r in paid] == ["ok"]
