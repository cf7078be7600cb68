"""How a request's ledger row is committed: right away, inside `record`, when the request is
alone in the gateway; a free row (a cache hit) at the end of the loop iteration, with the rows
of the requests that arrived with it; by the writer thread under concurrency. On asyncio's
event loop and on uvloop (which has no `_ready` queue to peek at)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.unit.gateway.conftest import settings, task
from tests.unit.gateway.test_durability import committed

from magray_lsp.cache import ResponseCache
from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import load_config
from magray_lsp.config.models import CacheConfig
from magray_lsp.cost.ledger import Ledger, LedgerEntry
from magray_lsp.gateway import Gateway

MakeGateway = Callable[..., Gateway]
T = TypeVar("T")
LOOPS = ("asyncio", "uvloop")


def row() -> LedgerEntry:
    return LedgerEntry(
        ts=time.time(),
        action="explain",
        provider="openai",
        model="gpt-4o-mini",
        input_tokens=11,
        output_tokens=7,
        cost_usd=Decimal("0.000025"),
    )


async def test_a_lone_row_is_committed_before_record_returns_without_yielding(
    make_gateway: MakeGateway,
) -> None:
    gw = make_gateway()
    entry = row()
    step = gw.rows.commit(entry)
    with pytest.raises(StopIteration):  # it finished without ever waiting for the loop
        step.send(None)
    assert entry.id in committed(gw) and gw.writer.inline == 1
    assert gw.spending.status().spent == Decimal("0.000025")  # the status counts it too


async def test_a_lone_row_waits_for_another_process_lock_off_the_loop(
    make_gateway: MakeGateway,
) -> None:
    gw = make_gateway()
    other = sqlite3.connect(gw.ledger.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process is writing
    entry = row()
    try:
        pending = asyncio.ensure_future(gw.rows.commit(entry))
        ticks = 0
        while ticks < 20:  # the loop keeps running meanwhile
            await asyncio.sleep(0.005)
            ticks += 1
        assert not pending.done() and gw.writer.inline == 0
    finally:
        other.execute("COMMIT")
        other.close()
    await asyncio.wait_for(pending, 30)
    assert entry.id in committed(gw)


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


def writes_in_one_step(gw: Gateway, steps: list[str]) -> None:
    """Make every row `gw` writes say whether it was committed without waiting for the loop
    (its `write` finished at the first step) or not; those that wait go on as usual."""
    write = gw.rows.write

    async def stepped(body: Any, **kw: Any) -> Any:
        coro = write(body, **kw)
        try:
            waits_for = coro.send(None)
        except StopIteration as done:
            steps.append("inline")
            return done.value
        steps.append("waited")
        while True:  # drive the rest as the task would
            try:
                got = await _Yield(waits_for)
            except BaseException as exc:
                waits_for = coro.throw(exc)
                continue
            try:
                waits_for = coro.send(got)
            except StopIteration as done:
                return done.value

    gw.rows.write = stepped  # type: ignore[method-assign]


class _Yield:
    """Awaitable that hands what a coroutine yielded (a future, or None) to the loop's task."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return (yield self.value)


@pytest.mark.parametrize("loop", LOOPS)
def test_a_lone_request_commits_its_row_inside_record_with_no_loop_round(
    loop: str, tmp_path: Path, primary: FakeOpenAI, secondary: FakeAnthropic
) -> None:
    async def use(gw: Gateway) -> None:
        steps: list[str] = []
        writes_in_one_step(gw, steps)
        inline = gw.writer.inline
        outcome = await gw.run(task())  # no cache key: a provider call
        assert steps == ["inline"]  # committed before `write` first returned to the loop
        assert gw.writer.inline == inline + 1
        assert outcome.request_id in committed(gw)  # acknowledged with its row committed

    on_loop(loop, lambda: with_gateway(tmp_path, primary, secondary, use))


@pytest.mark.parametrize("loop", LOOPS)
def test_cache_hits_arriving_together_share_one_transaction(
    loop: str, tmp_path: Path, primary: FakeOpenAI, secondary: FakeAnthropic
) -> None:
    async def use(gw: Gateway) -> None:
        await gw.run(task(key="hot"))  # paid once, then in the memory tier
        batches, writes = gw.writer.batches, gw.writer.writes
        # requests dispatched in one loop iteration, as a language server does with the
        # messages of one read: each hit is answered in its first step
        hits = await asyncio.gather(*(gw.run(task(key="hot")) for _ in range(8)))
        assert all(h.cached for h in hits) and len({h.request_id for h in hits}) == 8
        assert (gw.writer.writes - writes, gw.writer.batches - batches) == (8, 1)
        assert {h.request_id for h in hits} <= set(committed(gw))

    on_loop(loop, lambda: with_gateway(tmp_path, primary, secondary, use))


@pytest.mark.parametrize("loop", LOOPS)
def test_a_lone_cache_hit_waits_one_loop_round_and_is_acknowledged_after_its_commit(
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
        before, inline = rounds, gw.writer.inline
        hit = await gw.run(task(key="k"))
        took, stop = rounds - before, True
        await ticks
        assert hit.cached and hit.request_id in committed(gw)
        assert gw.writer.inline == inline + 1  # on this thread, no hop to the writer's
        assert took == 1  # one round: the commit ran before the hit's next step

    on_loop(loop, lambda: with_gateway(tmp_path, primary, secondary, use))


@pytest.mark.parametrize("loop", LOOPS)
def test_a_hit_cancelled_while_its_row_waits_for_the_round_still_has_its_row(
    loop: str, tmp_path: Path, primary: FakeOpenAI, secondary: FakeAnthropic
) -> None:
    async def use(gw: Gateway) -> None:
        await gw.run(task(key="k"))
        writes = gw.writer.writes
        hit = asyncio.ensure_future(gw.run(task(key="k")))
        await asyncio.sleep(0)  # the hit ran its first step: its row waits for the round
        assert len(gw.rows._soon) == 1
        hit.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hit
        assert gw.writer.writes == writes + 1  # the row was committed all the same
        await asyncio.sleep(0)  # nothing left behind: no error for an unread future

    on_loop(loop, lambda: with_gateway(tmp_path, primary, secondary, use))


@pytest.mark.parametrize("loop", LOOPS)
def test_a_hit_whose_round_cannot_commit_waits_for_the_writer_and_its_commit(
    loop: str, tmp_path: Path, primary: FakeOpenAI, secondary: FakeAnthropic
) -> None:
    async def use(gw: Gateway) -> None:
        await gw.run(task(key="k"))
        other = sqlite3.connect(gw.ledger.path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process is writing
        try:
            hit = asyncio.ensure_future(gw.run(task(key="k")))
            for _ in range(20):  # the loop keeps running meanwhile
                await asyncio.sleep(0.005)
            assert not hit.done()  # not acknowledged: its row is not committed
        finally:
            other.execute("COMMIT")
            other.close()
        outcome = await asyncio.wait_for(hit, 30)
        assert outcome.cached and outcome.request_id in committed(gw)

    on_loop(loop, lambda: with_gateway(tmp_path, primary, secondary, use))
