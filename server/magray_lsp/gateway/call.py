"""One provider call as the executor drives it: its concurrency slot and the overall deadline,
the adapter's events checked one by one (`providers/guard.py`) with the user's values put back
in place of their placeholders, and the call's ledger row when it fails or is cancelled.

``async with call: while (delta := await call.next()) is not None: ...``, then ``call.done`` is
the completion. No generator of its own: the executor yields what ``next`` returns, so a chunk
passes through one generator between the adapter and the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from types import TracebackType

from magray_lsp.deadline import Deadline, Deadlines
from magray_lsp.errors import ProviderError, StreamInterrupted, Timeout
from magray_lsp.gateway.rows import Attempt, LedgerRows
from magray_lsp.privacy.outbound import Outbound
from magray_lsp.providers.base import ChatRequest, Completion, Provider, TextDelta
from magray_lsp.providers.events import StreamEvent
from magray_lsp.providers.guard import StreamCheck
from magray_lsp.providers.locality import private_content
from magray_lsp.resilience.health import HealthBoard


class ProviderCall:
    """One call to ``run``'s model with the request as sent (``sent``, ``outbound``)."""

    __slots__ = (
        "_check",
        "_events",
        "_health",
        "_incremental",
        "_outbound",
        "_private",
        "_provider",
        "_rows",
        "_sent",
        "_slot",
        "_timers",
        "_until",
        "done",
        "run",
    )

    def __init__(
        self,
        run: Attempt,
        provider: Provider,
        sent: ChatRequest,
        outbound: Outbound,
        *,
        slot: asyncio.Semaphore,
        deadline: float,
        timers: Deadlines,
        incremental: bool,
        health: HealthBoard,
        rows: LedgerRows,
    ) -> None:
        self.run = run
        self._provider = provider
        self._sent = sent
        self._outbound = outbound
        self._slot = slot
        self._until = Deadline(deadline)
        self._timers = timers  # one loop timer for every call of this executor
        self._incremental = incremental
        self._health = health
        self._rows = rows
        #: set while a private task's call waits for the adapter: the transport's locality
        #: guard then refuses non-local sends (not across a yield: the caller's code runs there)
        self._private = f"private code for {run.cand.ref.label}" if run.task.private else None
        self._events: AsyncGenerator[StreamEvent, None] | None = None
        self._check: StreamCheck | None = None
        #: the completion, once ``next`` returned None
        self.done: Completion | None = None

    async def __aenter__(self) -> ProviderCall:
        try:
            await self._slot.acquire()
        except asyncio.CancelledError:
            await self._ended(asyncio.CancelledError())
            raise
        try:
            self._until.start(self._timers)
            self._events, self._check = self._provider.unguarded(
                self._sent, stream=self._incremental
            )
        except BaseException as error:  # as if the call had raised it: slot freed, row kept
            await self.__aexit__(type(error), error, error.__traceback__)
            raise
        self.run.sent = True
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            try:
                if self._events is not None:  # a cut or cancelled answer: its connection now
                    await self._events.aclose()
            finally:
                self._until.stop()
                self._slot.release()
        except BaseException as closing:  # as if the call had raised it
            await self._ended(closing)
            raise
        if error is not None:
            await self._ended(error)  # then `error` goes on (or the StreamInterrupted it is)

    async def next(self) -> TextDelta | None:
        """The answer's next text for the caller, or None once it is complete (``done``)."""
        if self.done is not None:
            return None
        assert self._events is not None and self._check is not None, "inside `async with`"
        outbound = self._outbound
        while True:
            try:
                if self._private is None:
                    event = self._check(await self._until.next(self._events))
                else:
                    with private_content(self._private):
                        event = self._check(await self._until.next(self._events))
            except StopAsyncIteration:
                raise ProviderError(
                    "stream ended without a completion", provider=self.run.cand.ref.provider
                ) from None
            except TimeoutError:
                raise Timeout(
                    "overall deadline reached", provider=self.run.cand.ref.provider
                ) from None
            if isinstance(event, TextDelta):
                text = outbound.restore(event.text)  # placeholders → values
                if not text:
                    continue  # a placeholder's start, held back
                self.run.received(text)
                return event if text is event.text else TextDelta(text)
            self.done = event
            if tail := outbound.flush():
                self.run.received(tail)
                return TextDelta(tail)
            return None

    async def _ended(self, error: BaseException) -> None:
        """The row of a call that ended with ``error``: a failure (settled with what a
        broken-off answer cost — raised as ``StreamInterrupted`` then; otherwise the provider
        refused the call, nothing was billed, and the reservation stays for a retry), or a
        cancelled call."""
        run = self.run
        label = run.cand.ref.label
        if isinstance(error, ProviderError):
            self._health.record_failure(label)
            await self._rows.record(run, "error", type(error).__name__, settle=bool(run.parts))
            if run.parts:
                raise StreamInterrupted(
                    f"the answer from {label} broke off after {len(run.parts)} chunks: {error}",
                    provider=run.cand.ref.provider,
                ) from error
        elif isinstance(error, asyncio.CancelledError | GeneratorExit):
            self._health.get(label).breaker.release_probe()
            await asyncio.shield(self._rows.record(run, "cancelled", None))
