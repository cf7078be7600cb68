"""An overall deadline over many awaits, with one timer instead of one per await.

``asyncio.timeout_at`` around each chunk of a streamed answer schedules and cancels a timer per
chunk (about 12 µs each here: a quarter of a millisecond for a 20-chunk answer). ``Deadline`` arms
one timer for the whole call: if it fires while ``next`` is waiting, the waiting task is cancelled
and the cancellation becomes ``TimeoutError``; if it fires between two awaits (the caller is busy
with the previous chunk), the next ``next`` raises at once.

Calls that share a ``Deadlines`` share one loop timer too: a timer per call, cancelled minutes
before it was due, stays in the loop's heap until the loop sweeps it (about 6 µs a call here,
scheduling and sweeping together); the shared one is set for the earliest deadline and moved on
when it fires, which is rare: calls end long before their deadline.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    """``async with Deadline(when) as d: ... await d.next(gen) ...``; ``when`` in loop time.
    ``start(shared)`` / ``stop()`` instead of ``async with``: on a shared timer."""

    __slots__ = ("_expired", "_handle", "_shared", "_waiting", "when")

    def __init__(self, when: float) -> None:
        self.when = when
        self._handle: asyncio.TimerHandle | None = None
        self._shared: Deadlines | None = None
        self._waiting: asyncio.Task[object] | None = None
        self._expired = False

    async def __aenter__(self) -> Deadline:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    def start(self, shared: Deadlines | None = None) -> None:
        """Arm the timer (what ``async with`` does on entry): a loop timer of its own, or the
        one of ``shared``."""
        if shared is None:
            self._handle = asyncio.get_running_loop().call_at(self.when, self._expire)
        else:
            self._shared = shared
            shared.add(self)

    def stop(self) -> None:
        """Disarm it (on exit)."""
        if self._handle is not None:
            self._handle.cancel()
        if self._shared is not None:
            self._shared.discard(self)

    def _expire(self) -> None:
        self._expired = True
        if self._waiting is not None:
            self._waiting.cancel()

    async def next(self, items: AsyncIterator[T]) -> T:
        """``anext(items)``, or ``TimeoutError`` once the deadline has passed."""
        if self._expired:
            raise TimeoutError
        task = asyncio.current_task()
        assert task is not None
        self._waiting = task
        before = task.cancelling()
        try:
            return await anext(items)
        except asyncio.CancelledError:
            # ours only if nobody else asked for cancellation too (as asyncio.timeout decides)
            if self._expired and task.uncancel() <= before:
                raise TimeoutError from None
            raise
        finally:
            self._waiting = None


class Deadlines:
    """The deadlines started on it (`Deadline.start`), under one loop timer set for the
    earliest of them; each expires once its time has come, as with a timer of its own."""

    __slots__ = ("_active", "_armed_at", "_handle", "_loop")

    def __init__(self) -> None:
        self._active: set[Deadline] = set()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at = math.inf
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, deadline: Deadline) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # first use, or a new loop: the old one's timer is gone
            self._loop, self._handle, self._armed_at = loop, None, math.inf
            self._active.clear()
        self._active.add(deadline)
        if deadline.when < self._armed_at:
            self._arm(loop, deadline.when)

    def discard(self, deadline: Deadline) -> None:
        self._active.discard(deadline)  # the timer stays: it finds nothing due, or the next one

    def __len__(self) -> int:
        return len(self._active)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = loop.call_at(when, self._fire)
        self._armed_at = when

    def _fire(self) -> None:
        self._handle, self._armed_at = None, math.inf
        loop = self._loop
        assert loop is not None
        now = loop.time()
        due = [deadline for deadline in self._active if deadline.when <= now]
        for deadline in due:
            self._active.discard(deadline)
            deadline._expire()
        if self._active:
            self._arm(loop, min(deadline.when for deadline in self._active))
