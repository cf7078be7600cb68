"""Answers shared before the models are asked: the response cache, and one provider call per set
of identical requests in flight (single flight).

A stored or shared answer is sealed (the user's secrets as placeholders): each request restores
it from its own prompt and re-checks it with its own `accept` before using it; one that does not
fit is skipped (a ``Fallback`` says why) and the models are asked. Answers reach the memory tier
at once and the disk and Redis tiers in the background.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import replace
from decimal import Decimal
from typing import Any

from magray_lsp.cache import CachedAnswer, KeyMaker, ResponseCache, SingleFlight
from magray_lsp.catalog import Catalog, ModelRef
from magray_lsp.errors import MagrayError
from magray_lsp.gateway.events import Accept, Fallback, GatewayEvent, Outcome
from magray_lsp.gateway.execution import Executor
from magray_lsp.gateway.rows import LedgerRows
from magray_lsp.gateway.spending import Spending
from magray_lsp.gateway.windows import ContextWindows
from magray_lsp.privacy.outbound import seal_answer, unresolved_placeholders, unseal_answer
from magray_lsp.providers.base import TextDelta, Usage
from magray_lsp.routing.router import Router
from magray_lsp.task import Task

log = logging.getLogger(__name__)
KEY_MEMO_SIZE = 1024  # recent cache keys remembered by their parts


class Channel:
    """Events from a flight's task to the request that started it: a deque, and one future to
    wake the reader when it waits (a chunk costs no task or wait set of its own)."""

    __slots__ = ("_waiter", "items")

    def __init__(self) -> None:
        self.items: deque[GatewayEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, event: GatewayEvent) -> None:
        self.items.append(event)
        self.wake()

    def wake(self, _done: object = None) -> None:
        """Wake the reader (also the flight's done callback: then nothing more comes)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until ``put`` or ``wake``."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


class CachedRuns:
    """A task's events: from the cache when a stored answer fits, else from one shared call."""

    def __init__(
        self,
        cache: ResponseCache | None,
        catalog: Catalog,
        *,
        router: Router,
        windows: ContextWindows,
        executor: Executor,
        rows: LedgerRows,
        spending: Spending,
    ) -> None:
        self.cache = cache
        self.catalog = catalog
        self.config = catalog.loaded.config
        self.router = router
        self.windows = windows
        self.executor = executor
        self.rows = rows
        self.spending = spending
        self.team = spending.team  # its month goes into each outcome
        self._flights: SingleFlight[Outcome] = SingleFlight()
        #: cache keys with the configuration's part (providers' defaults) made canonical once
        self._key_maker: KeyMaker | None = None
        self._auto_policy = ""  # the routing policy's part (set with `_key_maker`)
        self._keys: dict[tuple[Any, ...], str] = {}  # recent cache keys by their parts
        self._cache_writes: set[asyncio.Future[None]] = set()  # shared cache tiers being written

    def key_for(self, task: Task) -> str | None:
        """Cache key: the task's content key + what else changes the answer."""
        if not task.cache_key or self.cache is None:
            return None
        # the key is a function of these parts alone (the configuration is fixed for this
        # gateway's life): a repeated request (a cache hit) skips the canonical JSON and hash
        parts = (
            task.action,
            task.extra.get("template", ""),
            task.cache_key,
            task.extra.get("context_hash", ""),
            task.max_output_tokens,
            task.model_pin,
        )
        key = self._keys.get(parts)
        if key is None:
            key = self._keys[parts] = self.compute_key(task)
            if len(self._keys) > KEY_MEMO_SIZE:
                del self._keys[next(iter(self._keys))]
        return key

    def compute_key(self, task: Task) -> str:
        """The key afresh: canonical JSON of every part, hashed (as `cache.keys.cache_key`)."""
        if self._key_maker is None:  # the configuration is fixed for this gateway's life
            self._key_maker = KeyMaker(
                {
                    "providers": {
                        name: cfg.defaults.model_dump(exclude_none=True)
                        for name, cfg in sorted(self.catalog.sections.items())
                    }
                }
            )
            routing = self.config.routing
            self._auto_policy = f"auto:{sorted(routing.rules.items())}:{routing.default}"
        return self._key_maker.key(
            action=task.action_name,
            template_version=task.extra.get("template", ""),
            target_key=task.cache_key,
            context_hash=task.extra.get("context_hash", ""),
            params={"max_output_tokens": task.max_output_tokens},
            policy=task.model_pin or self._auto_policy,
        )

    async def stream(
        self, task: Task, accept: Accept | None, incremental: bool
    ) -> AsyncGenerator[GatewayEvent, None]:
        """A fitting cached answer, else the plan's events (`Executor.execute`), shared with the
        identical requests in flight. What `Gateway.stream` returns: counted in
        ``rows.in_flight`` from the first event until it ends or is closed."""
        rows = self.rows
        rows.in_flight += 1  # `LedgerRows.write` commits alone when this is the only request
        try:
            key = self.key_for(task)
            skipped: list[str] = []  # cached or shared answers that did not fit this request
            stale: str | None = None
            if key and self.cache is not None:
                hit = await self.cache.get(key)
                if hit is not None:
                    cached = await self._cached_outcome(task, hit[0], accept)
                    if isinstance(cached, Outcome):
                        yield TextDelta(cached.text)
                        yield cached
                        return
                    stale = cached
                    skipped.append(f"cache: {stale}")
            await self.windows.learn(self.router, local_only=task.private)
            plan = self.router.plan(task)
            if key and stale is None and self.cache is not None and key not in self._flights:
                # A flight that ended since the lookup above missed left its answer in memory (it
                # stores it there before it ends, and no other task runs between here and joining or
                # starting a flight): use it rather than ask again.
                late = self.cache.get_memory(key)
                if late is not None:
                    cached = await self._cached_outcome(task, late, accept)
                    if isinstance(cached, Outcome):
                        yield TextDelta(cached.text)
                        yield cached
                        return
                    stale = cached
                    skipped.append(f"cache: {stale}")
            if stale is not None:  # the fresh answer will replace the entry
                yield Fallback("cache", stale, plan.primary.ref.label)
            if key is None:
                events = self.executor.execute(task, plan, accept, incremental)
                try:
                    async for event in events:
                        yield event
                finally:
                    # a reader that stops early closes the call now (its row, its connection),
                    # not the garbage collector's hook later
                    await events.aclose()
                return
            # Identical requests in flight share one provider call. The shared work runs in its own
            # task; this caller streams its events live only if it is the one that started it.
            live = Channel()
            fresh: list[Outcome] = []  # the answer as this request's own call produced it
            stored = False  # this request's own call answered and shared its answer

            async def work() -> Outcome:
                nonlocal stored
                async for event in self.executor.execute(task, plan, accept, incremental):
                    if isinstance(event, Outcome):  # the last event
                        fresh.append(event)
                        continue
                    # no yield here: the call waits for the network between chunks anyway, and
                    # chunks that arrived together are handed over together (µs apart)
                    live.put(event)
                if not fresh:  # pragma: no cover
                    raise MagrayError("the gateway ended without an outcome")
                # stored inside the flight: a request whose cache lookup missed just before finds
                # the flight and joins it, one that comes after finds the memory tier. Shared
                # sealed, like a cache entry: each follower restores the values from its own prompt.
                sealed = self._store(key, task, fresh[0])
                stored = True
                live.wake()  # the leader takes its answer now, not after the flight's callbacks
                return sealed

            runner = self._flights.join(key, work)
            runner.add_done_callback(live.wake)
            try:
                while True:
                    while live.items:
                        yield live.items.popleft()
                    if stored:
                        self._flights.forget_finished(key)  # as its done callback would
                        break
                    if runner.done():
                        break
                    await live.wait()
                # the leader needs no result from the flight (two loop rounds of done callbacks
                # later): its answer is its own call's, already shared
                outcome, follower = (fresh[0], False) if stored else runner.result()
            finally:
                runner.cancel()
            if not follower:
                outcome = fresh[0]
            else:
                text, refusal = self._fits(task, outcome.text, accept)
                if refusal is None:
                    yield TextDelta(text)
                    # served by another request's call: a free row of its own, like a cache hit
                    usage = outcome.usage or Usage()
                    row = await self.rows.free(task, outcome.ref, usage, outcome.cost_usd)
                    outcome = replace(
                        outcome, text=text, coalesced=True, cost_usd=Decimal(0), request_id=row
                    )
                else:  # the shared answer does not fit this request: ask for its own
                    skipped.append(f"shared answer: {refusal}")
                    yield Fallback("shared answer", refusal, plan.primary.ref.label)
                    events = self.executor.execute(task, plan, accept, incremental)
                    try:
                        async for event in events:
                            if isinstance(event, Outcome):
                                outcome = event
                                self._store(key, task, event)
                            else:
                                yield event
                    finally:
                        await events.aclose()
            if skipped:
                outcome = replace(outcome, attempts=(*skipped, *outcome.attempts))
            yield outcome
        finally:
            rows.in_flight -= 1

    def _to_cache(self, outcome: Outcome) -> CachedAnswer:
        usage = outcome.usage or Usage()
        return CachedAnswer(
            text=outcome.text,
            provider=outcome.ref.provider,
            model=outcome.ref.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            cost_usd=outcome.cost_usd,
            finish_reason=outcome.finish_reason,
            created_at=time.time(),
            private=outcome.private,
        )

    def _fits(self, task: Task, sealed: str, accept: Accept | None) -> tuple[str, str | None]:
        """A stored (sealed) answer restored for ``task``, and why it cannot be used (None: it
        can): a placeholder this request has no value for, or ``accept`` refusing it."""
        text, missing = unseal_answer(task, sealed)
        if missing:
            return text, f"it holds {', '.join(missing)}, which this request has no value for"
        refusal = accept(text) if accept is not None else None
        return text, refusal

    def _store(self, key: str, task: Task, fresh: Outcome) -> Outcome:
        """``fresh`` sealed (the user's secrets as placeholders), cached under ``key`` in place of
        what it held — unless cut off, or holding a placeholder no one can restore. The memory
        tier has it at once; the disk and Redis tiers are written in the background (``flush``
        and ``aclose`` wait for them), off the answer's path."""
        sealed = replace(fresh, text=seal_answer(task, fresh.text))
        if (
            self.cache is not None
            and fresh.finish_reason != "length"
            and not unresolved_placeholders(task, fresh.text)
        ):
            shared = self.cache.put_memory(key, self._to_cache(sealed))
            if shared is not None:
                write = asyncio.ensure_future(shared)
                self._cache_writes.add(write)
                write.add_done_callback(self._cache_written)
        return sealed

    def _cache_written(self, write: asyncio.Future[None]) -> None:
        self._cache_writes.discard(write)
        if not write.cancelled() and (error := write.exception()) is not None:
            # the cache tiers report their own problems; this would be a bug in them
            log.warning("writing an answer to the shared cache tiers failed: %r", error)

    async def _cached_outcome(
        self, task: Task, hit: CachedAnswer, accept: Accept | None
    ) -> Outcome | str:
        """The hit as this request's outcome (with its free ledger row), or why it does not fit
        (then no row: the models are asked instead)."""
        text, refusal = self._fits(task, hit.text, accept)
        if refusal is not None:
            return f"the cached answer from {hit.provider}/{hit.model} does not fit: {refusal}"
        ref = ModelRef(hit.provider, self._kind(hit.provider), hit.model)
        usage = Usage(hit.input_tokens, hit.output_tokens, hit.cached_input_tokens)
        row = await self.rows.free(task, ref, usage, hit.cost_usd)
        status = self.spending.status()
        return Outcome(
            text,
            ref,
            usage,
            Decimal(0),
            0.0,
            hit.finish_reason,
            "cache hit",
            cached=True,
            month_usd=status.spent,
            budget_usd=status.limit,
            request_id=row,
            team=self.team.status if self.team else None,
        )

    def _kind(self, provider: str) -> str:
        from magray_lsp.config.models import provider_kind

        cfg = self.catalog.sections.get(provider)
        return (provider_kind(provider, cfg) if cfg else None) or "openai"

    async def flush(self) -> None:
        """Until every answer stored so far is in the shared cache tiers."""
        if self._cache_writes:
            await asyncio.gather(*self._cache_writes, return_exceptions=True)
