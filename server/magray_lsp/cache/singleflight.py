"""Single flight: concurrent callers asking for the same key share one execution.

The work runs in its own task, owned by nobody in particular: every caller (the leader that
started it and the followers that joined) just waits for it. So a cancelled caller, leader or
follower, only stops waiting; the others still get the result. When the *last* waiter is
cancelled the work itself is cancelled, so cancellation still reaches the provider end to end.
A failure is raised to every caller, the same exception object.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(eq=False)
class _Flight(Generic[T]):
    task: asyncio.Task[T]
    waiters: int = 0


class SingleFlight(Generic[T]):
    """Deduplicate concurrent async calls by key."""

    def __init__(self) -> None:
        self._flights: dict[str, _Flight[T]] = {}

    def __len__(self) -> int:
        """Keys with work in flight right now."""
        return len(self._flights)

    def __contains__(self, key: object) -> bool:
        return key in self._flights

    async def run(self, key: str, fn: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """``(result, follower)``: ``fn()``'s result, run once for concurrent callers of ``key``.

        ``follower`` is True when this caller joined work another caller had started.
        """
        return await self.join(key, fn)

    def join(self, key: str, fn: Callable[[], Awaitable[T]]) -> asyncio.Future[tuple[T, bool]]:
        """``run``, except that the flight is joined (or started) right now, not when the caller
        first awaits: no flight can end between a caller's check and its joining. Cancelling the
        returned future only stops this caller waiting (the last one to stop cancels the work).
        """
        flight = self._flights.get(key)
        follower = flight is not None
        if flight is None:
            flight = self._start(key, fn)
        flight.waiters += 1
        waiter: asyncio.Future[tuple[T, bool]] = asyncio.get_running_loop().create_future()

        def finished(task: asyncio.Task[T]) -> None:
            if waiter.done():  # this caller had stopped waiting
                return
            flight.waiters -= 1
            if task.cancelled():
                waiter.cancel()
            elif (error := task.exception()) is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result((task.result(), follower))

        def left(_waiter: asyncio.Future[tuple[T, bool]]) -> None:
            if not waiter.cancelled() or flight.task.done():
                return
            flight.task.remove_done_callback(finished)
            flight.waiters -= 1
            if flight.waiters == 0:
                # This caller was cancelled and nobody else wants the answer: stop the work, and
                # let a new caller start afresh instead of joining a task being cancelled.
                self._forget(key, flight)
                flight.task.cancel()

        flight.task.add_done_callback(finished)
        waiter.add_done_callback(left)
        return waiter

    def forget_finished(self, key: str) -> None:
        """Drop ``key``'s flight now if its work has ended although its done callbacks have not
        run yet: for a caller that took the result another way (the gateway's leader), so that
        no later caller joins the ended flight instead of starting afresh."""
        flight = self._flights.get(key)
        if flight is not None and flight.task.done():
            self._forget(key, flight)

    def _start(self, key: str, fn: Callable[[], Awaitable[T]]) -> _Flight[T]:
        async def work() -> T:
            return await fn()

        flight: _Flight[T] = _Flight(asyncio.get_running_loop().create_task(work()))
        self._flights[key] = flight
        # Runs before any waiter resumes, so no entry outlives its work.
        flight.task.add_done_callback(lambda _t: self._finished(key, flight))
        return flight

    def _finished(self, key: str, flight: _Flight[T]) -> None:
        self._forget(key, flight)
        task = flight.task
        if not task.cancelled():
            # Mark the exception retrieved: when every waiter was cancelled nobody else will.
            with contextlib.suppress(BaseException):
                task.exception()

    def _forget(self, key: str, flight: _Flight[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
