"""SingleFlight: one execution per key for concurrent callers, shared failures, and
cancellation of any one caller never hurting the others."""

from __future__ import annotations

import asyncio

import pytest

from magray_lsp.cache import SingleFlight


class Work:
    """An fn that counts its executions and blocks until released."""

    def __init__(self, result: str = "answer", error: Exception | None = None) -> None:
        self.result = result
        self.error = error
        self.calls = 0
        self.cancelled = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self) -> str:
        self.calls += 1
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.error is not None:
            raise self.error
        return f"{self.result} #{self.calls}"


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_fifty_concurrent_calls_execute_once() -> None:
    sf: SingleFlight[str] = SingleFlight()
    work = Work()
    tasks = [asyncio.create_task(sf.run("k", work)) for _ in range(50)]
    await settle()
    assert "k" in sf and len(sf) == 1
    work.release.set()
    results = await asyncio.gather(*tasks)
    assert work.calls == 1
    assert {r for r, _ in results} == {"answer #1"}
    assert sorted(follower for _, follower in results) == [False] + [True] * 49
    assert len(sf) == 0  # no entry outlives its work


async def test_different_keys_run_separately_and_later_calls_run_again() -> None:
    sf: SingleFlight[str] = SingleFlight()
    work = Work()
    work.release.set()
    a, b = await asyncio.gather(sf.run("a", work), sf.run("b", work))
    assert work.calls == 2 and not a[1] and not b[1]
    assert (await sf.run("a", work)) == ("answer #3", False)  # nothing is memoized
    assert len(sf) == 0


async def test_failure_reaches_every_caller() -> None:
    sf: SingleFlight[str] = SingleFlight()
    boom = RuntimeError("provider down")
    work = Work(error=boom)
    tasks = [asyncio.create_task(sf.run("k", work)) for _ in range(50)]
    await settle()
    work.release.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert work.calls == 1
    assert all(o is boom for o in outcomes)
    assert len(sf) == 0
    # The failure is not remembered: the next call runs again.
    work.error = None
    assert (await sf.run("k", work)) == ("answer #2", False)


async def test_leader_cancelled_followers_still_get_the_result() -> None:
    sf: SingleFlight[str] = SingleFlight()
    work = Work()
    leader = asyncio.create_task(sf.run("k", work))
    await work.started.wait()
    followers = [asyncio.create_task(sf.run("k", work)) for _ in range(10)]
    await settle()
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert work.cancelled == 0  # the work goes on for the followers
    work.release.set()
    results = await asyncio.gather(*followers)
    assert results == [("answer #1", True)] * 10
    assert work.calls == 1
    assert len(sf) == 0


async def test_follower_cancelled_leader_continues() -> None:
    sf: SingleFlight[str] = SingleFlight()
    work = Work()
    leader = asyncio.create_task(sf.run("k", work))
    await work.started.wait()
    quitter = asyncio.create_task(sf.run("k", work))
    stayer = asyncio.create_task(sf.run("k", work))
    await settle()
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert not leader.done() and work.cancelled == 0
    work.release.set()
    assert await leader == ("answer #1", False)
    assert await stayer == ("answer #1", True)
    assert work.calls == 1 and len(sf) == 0


async def test_everyone_cancelled_cancels_the_work_and_frees_the_key() -> None:
    sf: SingleFlight[str] = SingleFlight()
    work = Work()
    callers = [asyncio.create_task(sf.run("k", work)) for _ in range(3)]
    await work.started.wait()
    await settle()
    for task in callers:
        task.cancel()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
    await settle()
    assert work.cancelled == 1  # cancellation reached the work itself (end to end)
    assert len(sf) == 0
    # A new caller starts fresh rather than joining the cancelled work.
    work.release.set()
    assert (await sf.run("k", work)) == ("answer #2", False)


async def test_leader_cancelled_after_followers_left_cancels_the_work() -> None:
    sf: SingleFlight[str] = SingleFlight()
    work = Work()
    leader = asyncio.create_task(sf.run("k", work))
    await work.started.wait()
    follower = asyncio.create_task(sf.run("k", work))
    await settle()
    follower.cancel()
    await asyncio.gather(follower, return_exceptions=True)
    assert work.cancelled == 0
    leader.cancel()
    await asyncio.gather(leader, return_exceptions=True)
    await settle()
    assert work.cancelled == 1 and len(sf) == 0


async def test_joiner_after_leader_cancel_shares_the_running_work() -> None:
    sf: SingleFlight[str] = SingleFlight()
    work = Work()
    leader = asyncio.create_task(sf.run("k", work))
    await work.started.wait()
    follower = asyncio.create_task(sf.run("k", work))
    await settle()
    leader.cancel()
    await asyncio.gather(leader, return_exceptions=True)
    late = asyncio.create_task(sf.run("k", work))
    await settle()
    work.release.set()
    assert await follower == ("answer #1", True)
    assert await late == ("answer #1", True)
    assert work.calls == 1


async def test_join_takes_part_at_once_even_if_the_flight_ends_before_the_first_await() -> None:
    sf: SingleFlight[str] = SingleFlight()
    work, other = Work(), Work()
    leader = sf.join("k", work)
    await work.started.wait()
    work.release.set()
    follower = sf.join("k", other)  # joined now: the flight may end before this is awaited
    await settle()
    assert "k" not in sf  # ended
    assert await leader == ("answer #1", False)
    assert await follower == ("answer #1", True) and other.calls == 0


async def test_cancelling_joined_waiters_cancels_the_work_only_when_the_last_one_leaves() -> None:
    sf: SingleFlight[str] = SingleFlight()
    work = Work()
    first, second = sf.join("k", work), sf.join("k", work)
    await work.started.wait()
    first.cancel()
    await settle()
    assert work.cancelled == 0 and "k" in sf
    second.cancel()
    await settle()
    assert work.cancelled == 1 and "k" not in sf
    again = Work()
    again.release.set()
    assert await sf.join("k", again) == ("answer #1", False)  # a fresh flight


async def test_forget_finished_drops_an_ended_flight_at_once_and_keeps_a_running_one() -> None:
    flights: SingleFlight[str] = SingleFlight()
    work = Work()
    seen: list[tuple[bool, bool]] = []

    def between() -> None:
        # queued by the work's last step: runs once the task has ended, before its callbacks
        before = "k" in flights
        flights.forget_finished("k")
        seen.append((before, "k" in flights))

    async def ending() -> str:
        result = await work()
        asyncio.get_running_loop().call_soon(between)
        return result

    waiter = flights.join("k", ending)
    await work.started.wait()
    flights.forget_finished("k")
    assert "k" in flights  # still running: kept
    work.release.set()
    assert await waiter == ("answer #1", False)
    assert seen == [(True, False)]  # present until then, gone after
    again = Work()
    second = flights.join("k", again)  # a later caller starts afresh
    again.release.set()
    assert await second == ("answer #1", False) and again.calls == 1
