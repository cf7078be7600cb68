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
        flight = self._flights.get(key)
        follower = flight is not None
        if flight is None:
            flight = self._start(key, fn)
        flight.waiters += 1
        try:
            # shield: cancelling this caller must not cancel the shared task.
            result = await asyncio.shield(flight.task)
        except BaseException:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                # This caller was cancelled and nobody else wants the answer: stop the work, and
                # let a new caller start afresh instead of joining a task being cancelled.
                self._forget(key, flight)
                flight.task.cancel()
            raise
        flight.waiters -= 1
        return result, follower

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
