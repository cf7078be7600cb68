"""How a request's ledger row is committed without a team budget: appended to the process's row
journal inside `commit` (no SQLite on the event loop, no loop round), then put into the ledger
by the writer thread; the budget status counts it from the moment it is appended, once. On
asyncio's event loop and on uvloop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.unit.gateway.conftest import settings, task
from tests.unit.gateway.test_durability import committed, in_ledger

from magray_lsp.cache import ResponseCache
from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import load_config
from magray_lsp.config.models import CacheConfig
from magray_lsp.cost.ledger import Ledger, LedgerEntry, month_hours
from magray_lsp.errors import BudgetExceeded
from magray_lsp.gateway import Gateway

MakeGateway = Callable[..., Gateway]
T = TypeVar("T")
LOOPS = ("asyncio", "uvloop")


def row(cost: str = "0.000025") -> LedgerEntry:
    return LedgerEntry(
        ts=time.time(),
        action="explain",
        provider="openai",
        model="gpt-4o-mini",
        input_tokens=11,
        output_tokens=7,
        cost_usd=Decimal(cost),
    )


def hold_writer(gw: Gateway) -> threading.Event:
    """Keep ``gw``'s writer thread busy (inside a transaction of its own) until the event is
    set: rows journaled meanwhile stay out of the ledger."""
    release, started = threading.Event(), threading.Event()

    def held(tx: object) -> None:
        started.set()
        release.wait(60)

    gw.writer.submit(held)
    assert started.wait(30)
    return release


async def test_a_row_is_journaled_before_commit_returns_and_the_status_counts_it_once(
    make_gateway: MakeGateway,
) -> None:
    gw = make_gateway()
    release = hold_writer(gw)
    entry = row()
    step = gw.rows.commit(entry)
    with pytest.raises(StopIteration):  # it finished without ever waiting for the loop
        step.send(None)
    assert entry.id not in in_ledger(gw) and entry.id in committed(gw)  # durable: journaled
    assert gw.writer.inline == 0  # no SQLite on the loop's thread
    assert gw.spending.status().spent == Decimal("0.000025")  # counted right away
    assert gw.spending.status(max_age=0).spent == Decimal("0.000025")  # by a fresh query too
    release.set()
    await gw.rows.flush()
    assert in_ledger(gw)[entry.id] == (0, "0.000025")
    assert gw.spending.status().spent == Decimal("0.000025")  # once, not twice
    assert gw.spending.status(max_age=0).spent == Decimal("0.000025")
    assert gw.writer.journaled(0)[1].rows == 0


async def test_the_status_never_counts_a_row_twice_while_the_writer_folds_them(
    make_gateway: MakeGateway,
) -> None:
    """Rows appended one after another while the writer thread folds them concurrently: the
    status right after each one is exactly the running total (by the writer's status, and by a
    fresh query)."""
    gw = make_gateway()
    total = Decimal(0)
    for i in range(150):
        await gw.rows.commit(row("0.000003"))
        total += Decimal("0.000003")
        assert gw.spending.status(max_age=0 if i % 3 == 0 else 1.0).spent == total, i
        if i % 10 == 0:
            await asyncio.sleep(0.001)  # let the writer catch up now and then
    await gw.rows.flush()
    assert gw.spending.status(max_age=0).spent == total == gw.ledger.month_spend()


async def test_hundreds_of_waiting_rows_and_a_month_that_turned_are_counted_exactly(
    make_gateway: MakeGateway,
) -> None:
    """Under load hundreds of rows wait for the writer: the status adds them from running
    totals (not row by row, per status: that made concurrency 100 CPU-bound at 3.6× ideal),
    and a row of last month still waiting is settled but not this month's spend."""
    gw = make_gateway()
    release = hold_writer(gw)
    start = month_hours(gw.budget.now())[0]
    last_month = replace(row("0.5"), ts=start * 3600 - 1.0)  # the previous month's last second
    await gw.rows.commit(last_month)
    for _ in range(300):
        await gw.rows.commit(row("0.000003"))
    assert gw.writer.journaled(start)[1].rows == 301
    this_month = Decimal("0.000003") * 300
    assert gw.spending.status().spent == this_month
    assert gw.spending.status(max_age=0).spent == this_month  # by a fresh query too
    release.set()
    await gw.rows.flush()
    assert gw.spending.status(max_age=0).spent == this_month == gw.ledger.month_spend()
    assert in_ledger(gw)[last_month.id] == (0, "0.5")  # in the ledger, in its own month


async def test_a_reservation_right_after_a_journaled_row_sees_that_row(
    make_gateway: MakeGateway,
) -> None:
    """A hard budget in this process counts every row it acknowledged: the reservation's own
    transaction takes the journal's waiting rows in first (here the writer thread is kept from
    folding them itself), and they stay in the ledger though the reservation is refused."""
    gw = make_gateway(budget={"monthly_usd": "0.0001", "hard_stop": True})
    await gw.rows.flush()
    gw.writer._journal_retry = time.monotonic() + 3600  # the thread leaves the journal alone
    entry = row("0.00008")
    await gw.rows.commit(entry)
    assert entry.id not in in_ledger(gw)
    assert gw.spending.status().spent == Decimal("0.00008")
    budget = gw.budget

    def reserve(amount: str) -> Any:
        held = budget.reservation(Decimal(amount), request_id=amount)
        return gw.rows.write(lambda tx: budget.reserve_in(tx, held))

    with pytest.raises(BudgetExceeded):  # 0.00008 spent + 0.00003 > 0.0001
        await reserve("0.00003")
    assert entry.id in in_ledger(gw)  # taken in by the refused reservation's transaction
    await reserve("0.00001")  # what is left still fits
    assert gw.ledger.month_spend() == Decimal("0.00008")


async def test_a_row_is_acknowledged_while_another_process_holds_the_lock_and_lands_after(
    make_gateway: MakeGateway,
) -> None:
    gw = make_gateway()
    other = sqlite3.connect(gw.ledger.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process is writing
    entry = row()
    try:
        await asyncio.wait_for(gw.rows.commit(entry), 5)  # no wait for the lock
        assert entry.id in committed(gw) and entry.id not in in_ledger(gw)
    finally:
        other.execute("COMMIT")
        other.close()
    await asyncio.wait_for(gw.rows.flush(), 30)
    assert entry.id in in_ledger(gw)


# -- on both event loops ----------------------------------------------------------------------


def on_loop(name: str, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``main`` on a fresh event loop of the kind ``name``."""
    if name == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main())
    with asyncio.Runner() as runner:
        return runner.run(main())


async def with_gateway(
    tmp_path: Path,
    primary: FakeOpenAI,
    secondary: FakeAnthropic,
    use: Callable[[Gateway], Awaitable[T]],
) -> T:
    loaded = load_config(settings=settings(primary, secondary), env={}, include_user=False)
    gw = Gateway(
        Catalog(loaded),
        ledger=Ledger(tmp_path / "ledger.sqlite3"),
        cache=ResponseCache(CacheConfig(dir=str(tmp_path / "cache"))),
        workspace=str(tmp_path),
    )
    try:
        await asyncio.to_thread(gw.writer.flush)  # its start-up fold: the writer is idle now
        return await use(gw)
    finally:
        await gw.aclose()


def journal_calls(gw: Gateway, calls: list[str]) -> None:
    """Record every row `gw` journals, and every write it commits to SQLite on the loop."""
    journal, write = gw.writer.journal, gw.rows.write

    def journaled(entry: LedgerEntry, reservation_id: str | None, reserved_pico: int) -> bool:
        calls.append("journal")
        return journal(entry, reservation_id, reserved_pico)

    async def written(body: Any) -> Any:
        calls.append("write")
        return await write(body)

    gw.writer.journal = journaled  # type: ignore[method-assign]
    gw.rows.write = written  # type: ignore[method-assign]


@pytest.mark.parametrize("loop", LOOPS)
def test_a_lone_request_journals_its_row_with_no_sqlite_write_on_the_loop(
    loop: str, tmp_path: Path, primary: FakeOpenAI, secondary: FakeAnthropic
) -> None:
    async def use(gw: Gateway) -> None:
        calls: list[str] = []
        journal_calls(gw, calls)
        outcome = await gw.run(task())  # no cache key: a provider call
        assert calls == ["journal"] and gw.writer.inline == 0
        assert outcome.request_id in committed(gw)  # acknowledged with its row durable
        await gw.rows.flush()
        assert outcome.request_id in in_ledger(gw)

    on_loop(loop, lambda: with_gateway(tmp_path, primary, secondary, use))


@pytest.mark.parametrize("loop", LOOPS)
def test_cache_hits_arriving_together_are_each_journaled_and_land_once(
    loop: str, tmp_path: Path, primary: FakeOpenAI, secondary: FakeAnthropic
) -> None:
    async def use(gw: Gateway) -> None:
        await gw.run(task(key="hot"))  # paid once, then in the memory tier
        await gw.rows.flush()
        writes = gw.writer.writes
        hits = await asyncio.gather(*(gw.run(task(key="hot")) for _ in range(8)))
        assert all(h.cached for h in hits) and len({h.request_id for h in hits}) == 8
        assert {h.request_id for h in hits} <= set(committed(gw))
        await gw.rows.flush()
        assert gw.writer.writes - writes == 8
        assert {h.request_id for h in hits} <= set(in_ledger(gw))

    on_loop(loop, lambda: with_gateway(tmp_path, primary, secondary, use))


@pytest.mark.parametrize("loop", LOOPS)
def test_a_lone_cache_hit_takes_no_loop_round_and_is_acknowledged_with_its_row(
    loop: str, tmp_path: Path, primary: FakeOpenAI, secondary: FakeAnthropic
) -> None:
    async def use(gw: Gateway) -> None:
        await gw.run(task(key="k"))
        rounds = 0
        stop = False

        async def ticker() -> None:  # counts the loop rounds the hit takes
            nonlocal rounds
            while not stop:
                rounds += 1
                await asyncio.sleep(0)

        ticks = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)  # the ticker runs once first
        before = rounds
        hit = await gw.run(task(key="k"))
        took, stop = rounds - before, True
        await ticks
        assert hit.cached and hit.request_id in committed(gw)
        assert took == 0  # answered in its first step, its row journaled there

    on_loop(loop, lambda: with_gateway(tmp_path, primary, secondary, use))


@pytest.mark.parametrize("loop", LOOPS)
def test_a_hit_is_acknowledged_while_another_process_writes_and_its_row_lands_after(
    loop: str, tmp_path: Path, primary: FakeOpenAI, secondary: FakeAnthropic
) -> None:
    async def use(gw: Gateway) -> None:
        await gw.run(task(key="k"))
        other = sqlite3.connect(gw.ledger.path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process is writing
        try:
            hit = await asyncio.wait_for(gw.run(task(key="k")), 5)  # not held up by it
            assert hit.cached and hit.request_id in committed(gw)
            assert hit.request_id not in in_ledger(gw)
        finally:
            other.execute("COMMIT")
            other.close()
        await asyncio.wait_for(gw.rows.flush(), 30)
        assert hit.request_id in in_ledger(gw)

    on_loop(loop, lambda: with_gateway(tmp_path, primary, secondary, use))
