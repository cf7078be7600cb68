"""One timer for a whole streamed call: the overall deadline (`magray_lsp.deadline`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from magray_lsp.deadline import Deadline, Deadlines


class Source:
    """An async iterator whose items arrive after ``gaps`` seconds; notes when it was closed."""

    def __init__(self, *gaps: float) -> None:
        self.gaps = list(gaps)
        self.closed = False

    async def items(self) -> AsyncGenerator[int, None]:
        try:
            for index, gap in enumerate(self.gaps):
                await asyncio.sleep(gap)
                yield index
        finally:
            self.closed = True


async def test_items_flow_while_the_deadline_is_ahead() -> None:
    source = Source(0, 0, 0)
    loop = asyncio.get_running_loop()
    async with Deadline(loop.time() + 30) as until:
        gen = source.items()
        got = [await until.next(gen) for _ in range(3)]
        with pytest.raises(StopAsyncIteration):
            await until.next(gen)
    assert got == [0, 1, 2]


async def test_a_wait_past_the_deadline_times_out_and_the_source_sees_the_cancel() -> None:
    source = Source(0, 30)
    loop = asyncio.get_running_loop()
    async with Deadline(loop.time() + 0.2) as until:
        gen = source.items()
        assert await until.next(gen) == 0
        with pytest.raises(TimeoutError):
            await until.next(gen)
    assert source.closed
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_deadline_passed_between_items_stops_the_next_one() -> None:
    source = Source(0, 0)
    loop = asyncio.get_running_loop()
    async with Deadline(loop.time() + 0.1) as until:
        gen = source.items()
        assert await until.next(gen) == 0
        await asyncio.sleep(0.3)  # the caller is busy when the deadline passes
        with pytest.raises(TimeoutError):
            await until.next(gen)
    await gen.aclose()


async def test_an_outside_cancel_stays_a_cancel() -> None:
    source = Source(30)
    loop = asyncio.get_running_loop()

    async def consume() -> None:
        async with Deadline(loop.time() + 0.2) as until:
            await until.next(source.items())

    runner = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner


async def test_the_timer_is_gone_after_the_block() -> None:
    loop = asyncio.get_running_loop()
    async with Deadline(loop.time() + 0.05) as until:
        pass
    await asyncio.sleep(0.1)  # nothing fires, nothing cancels this task
    assert until.when > 0


# -- many deadlines, one loop timer (`Deadlines`) -------------------------------------------------


async def test_shared_deadlines_each_expire_at_their_own_time() -> None:
    loop = asyncio.get_running_loop()
    shared = Deadlines()
    late = Source(0, 30)
    early = Source(0, 30)
    never = Source(30)

    async def consume(source: Source, seconds: float) -> float:
        until = Deadline(loop.time() + seconds)
        until.start(shared)
        gen = source.items()
        try:
            await until.next(gen)
            started = loop.time()
            with pytest.raises(TimeoutError):
                await until.next(gen)
            return loop.time() - started
        finally:
            until.stop()
            await gen.aclose()

    # started late but due first: the shared timer is moved to the earlier deadline
    slow = asyncio.create_task(consume(late, 0.6))
    await asyncio.sleep(0.05)
    quick = asyncio.create_task(consume(early, 0.2))
    ended = Deadline(loop.time() + 0.1)  # stopped before it is due: it never fires
    ended.start(shared)
    ended.stop()
    waited_quick, waited_slow = await asyncio.gather(quick, slow)
    assert 0.05 < waited_quick < 0.5 and waited_slow > waited_quick
    assert late.closed and early.closed and not never.closed
    assert len(shared) == 0 and not ended._expired


async def test_shared_deadlines_hold_one_loop_timer_however_many_calls_ran() -> None:
    loop = asyncio.get_running_loop()
    shared = Deadlines()
    timers: set[object] = set()
    for _ in range(50):  # calls that end long before their deadline
        until = Deadline(loop.time() + 0.1)
        until.start(shared)
        timers.add(shared._handle)
        until.stop()
    assert len(timers) == 1 and None not in timers  # set by the first call, kept
    # it fires at the first call's deadline, finds nothing due and nothing more to wait for
    await asyncio.sleep(0.3)
    assert shared._handle is None and not until._expired


async def test_a_shared_deadline_passed_between_items_stops_the_next_one() -> None:
    loop = asyncio.get_running_loop()
    shared = Deadlines()
    source = Source(0, 0)
    until = Deadline(loop.time() + 0.1)
    until.start(shared)
    gen = source.items()
    assert await until.next(gen) == 0
    await asyncio.sleep(0.3)  # the caller is busy when the deadline passes
    with pytest.raises(TimeoutError):
        await until.next(gen)
    until.stop()
    await gen.aclose()
