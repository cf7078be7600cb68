"""A plan carried out: each model in turn (circuit breaker, reservation, retries with backoff,
fallback, the overall deadline), one provider call streamed through the privacy checks.

Before the first text reaches the caller any failure may fall back to the next model; after it,
a failure ends the stream with ``StreamInterrupted``. Every attempt leaves its ledger row.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Callable
from typing import Any

from magray_lsp.catalog import Catalog
from magray_lsp.cost.budget import Reservation
from magray_lsp.cost.prices import uncached_price_usd
from magray_lsp.cost.team import TeamHold
from magray_lsp.deadline import Deadlines
from magray_lsp.errors import (
    BudgetExceeded,
    InvalidAnswer,
    MagrayError,
    PrivacyViolation,
    ProviderError,
    StreamInterrupted,
)
from magray_lsp.gateway.call import ProviderCall
from magray_lsp.gateway.chat_request import request_for, with_cache_prefix
from magray_lsp.gateway.events import Accept, AllModelsFailed, Fallback, GatewayEvent, Outcome
from magray_lsp.gateway.rows import Attempt, LedgerRows
from magray_lsp.gateway.spending import Spending
from magray_lsp.privacy.outbound import prepare_outbound
from magray_lsp.providers.base import Completion
from magray_lsp.resilience.backoff import backoff_delay
from magray_lsp.resilience.health import HealthBoard
from magray_lsp.routing.router import Candidate, Plan
from magray_lsp.task import Task

#: what a model holds while it is tried: its local reservation and its [team] hold
Hold = tuple[Reservation | None, TeamHold | None]


class Executor:
    """Runs plans against the providers, one concurrency slot per provider section."""

    def __init__(
        self,
        catalog: Catalog,
        health: HealthBoard,
        rows: LedgerRows,
        spending: Spending,
        *,
        workspace: str,
        rng: random.Random,
        sleep: Callable[[float], Any],
    ) -> None:
        self.catalog = catalog
        self.config = catalog.loaded.config
        self.health = health
        self.rows = rows
        self.spending = spending
        self.team = spending.team  # its month goes into each outcome
        self.workspace = workspace
        self.rng = rng
        self.sleep = sleep  # between retries
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._deadlines = Deadlines()  # the calls' overall deadlines, on one loop timer

    async def execute(
        self, task: Task, plan: Plan, accept: Accept | None, incremental: bool = True
    ) -> AsyncGenerator[GatewayEvent, None]:
        """`plan`'s models in turn until one answers (its text, then its ``Outcome``). One
        generator for the whole plan: each attempt's provider events pass through no layer but
        this one (and the adapter's own); what happens before and after a call is in plain
        coroutines (`_admit`, `_prepare`, `_retried`, `_settle`) and the call's own object
        (`ProviderCall`)."""
        retry = self.config.retry
        deadline = asyncio.get_running_loop().time() + retry.deadline_seconds
        failures: list[str] = []
        for index, cand in enumerate(plan.candidates):
            hold = await self._admit(task, cand, deadline, failures)
            if hold is None:
                continue  # circuit open or over budget (said in `failures`)
            label = cand.ref.label
            reservation, team_hold = hold
            last: ProviderError | None = None
            for attempt in range(1, retry.max_attempts + 1):
                run = Attempt(task, cand, list(failures), reservation, plan.candidates, team_hold)
                try:
                    call = await self._prepare(task, run, deadline, incremental)
                    async with call:  # on failure or cancellation: its row
                        while (delta := await call.next()) is not None:
                            yield delta
                    assert call.done is not None
                    yield await self._settle(run, plan, call.done, accept, failures)
                    return
                except ProviderError as exc:
                    last = exc
                    failures.append(f"{label}: {type(exc).__name__}: {exc}")
                    if isinstance(exc, StreamInterrupted):
                        raise  # settled with what the broken-off answer cost
                    if not (exc.retryable or exc.fallback):
                        await self.spending.release(*hold)  # nothing was billed
                        raise
                    if not await self._retried(exc, attempt, label, hold, deadline):
                        break
            await self.spending.release(*hold)
            if last is not None and not last.fallback:
                raise last
            nxt = plan.candidates[index + 1].ref.label if index + 1 < len(plan.candidates) else None
            if nxt and last is not None:
                yield Fallback(label, f"{type(last).__name__}: {last}", nxt)
            if asyncio.get_running_loop().time() >= deadline:
                failures.append(f"deadline of {retry.deadline_seconds:.0f} s reached")
                break
        raise AllModelsFailed(
            f"every model failed for {task.action_name}: " + "; ".join(failures),
            provider=plan.primary.ref.label,
        )

    async def _admit(
        self, task: Task, cand: Candidate, deadline: float, failures: list[str]
    ) -> Hold | None:
        """What ``cand`` holds while it is tried (its reservations), or None when its circuit is
        open or the budget refuses it (``failures`` says which)."""
        label = cand.ref.label
        breaker = self.health.get(label).breaker
        if not breaker.allow():
            failures.append(f"{label}: circuit open")
            return None
        try:
            return await self.spending.reserve(cand, task, deadline)
        except BudgetExceeded as exc:
            breaker.release_probe()
            failures.append(f"{label}: {exc}")
            return None

    async def _retried(
        self, exc: ProviderError, attempt: int, label: str, hold: Hold, deadline: float
    ) -> bool:
        """After a failed attempt that may fall back: True when the same model is to be tried
        again (the backoff delay slept here), False when the next model is."""
        retry = self.config.retry
        if (
            not exc.retryable
            or attempt >= retry.max_attempts
            or self.health.get(label).breaker.state != "closed"
        ):
            return False
        delay = backoff_delay(
            attempt,
            base=retry.base_delay_seconds,
            cap=retry.max_delay_seconds,
            error=exc,
            retry_after_cap=retry.retry_after_cap_seconds,
            rng=self.rng,
        )
        if delay >= deadline - asyncio.get_running_loop().time():
            return False
        try:
            await self.sleep(delay)
        except asyncio.CancelledError:  # gave up between attempts
            await asyncio.shield(self.spending.release(*hold))
            raise
        return True

    async def _prepare(
        self, task: Task, run: Attempt, deadline: float, incremental: bool
    ) -> ProviderCall:
        """The call to ``run``'s model with the request as it will be sent — or, when it may
        not be sent, the error (its row recorded): nothing leaves."""
        ref = run.cand.ref
        provider = self.catalog.provider(ref.provider)
        if task.private and not provider.is_local:
            # The router already filters these; checked again where the request is sent so that
            # no future code path (a pin, a rule, a bug) can leak private code.
            await self.rows.record(run, "error", PrivacyViolation.__name__)
            raise PrivacyViolation(f"refusing to send private code to {ref.label} (not local)")
        request = request_for(self.catalog, self.workspace, task, ref)
        try:  # content safety, then redaction for a remote model: a refusal sends nothing
            outbound = prepare_outbound(request, local=provider.is_local, config=self.config)
        except MagrayError as exc:
            await self.rows.record(run, "error", type(exc).__name__)
            raise
        sent = with_cache_prefix(request, outbound)
        run.prompt = sent.messages  # estimated only for a call that ends without usage
        return ProviderCall(
            run,
            provider,
            sent,
            outbound,
            slot=self._slot(ref.provider),
            deadline=deadline,
            timers=self._deadlines,
            incremental=incremental,
            health=self.health,
            rows=self.rows,
        )

    async def _settle(
        self,
        run: Attempt,
        plan: Plan,
        done: Completion,
        accept: Accept | None,
        failures: list[str],
    ) -> Outcome:
        """A complete answer from ``run``'s model: its row committed, then its ``Outcome`` — or
        ``InvalidAnswer`` when ``accept`` refuses it (paid for and recorded, not used)."""
        cand = run.cand
        ref = cand.ref
        latency_ms = run.elapsed_ms()
        self.health.record_success(ref.label, latency_ms)
        run.done = done
        if done.usage and (done.usage.cached_input_tokens or done.usage.cache_write_tokens):
            cfg = self.catalog.sections[ref.provider]
            run.uncached_cost = uncached_price_usd(ref.kind, ref.model, done.usage, cfg.prices)
        text = "".join(run.parts)
        refusal = accept(text) if accept is not None else None
        if refusal is not None:
            await self.rows.record(run, "error", "InvalidAnswer")
            raise InvalidAnswer(
                f"the answer from {ref.label} was not usable: {refusal}", provider=ref.provider
            )
        await self.rows.record(run, "ok", None)
        status = self.spending.status()  # this row included (journaled or committed)
        return Outcome(
            text=text,
            ref=ref,
            usage=done.usage,
            cost_usd=run.cost,
            latency_ms=latency_ms,
            finish_reason=done.finish_reason,
            route=plan.why,
            fallback_from=plan.primary.ref.label if cand is not plan.primary else None,
            attempts=tuple(failures),
            month_usd=status.spent,
            budget_usd=status.limit,
            request_id=run.request_id,
            team=self.team.status if self.team else None,
            private=run.task.private,
        )

    def _slot(self, provider: str) -> asyncio.Semaphore:
        if provider not in self._slots:
            limit = self.catalog.sections[provider].max_concurrency
            self._slots[provider] = asyncio.Semaphore(limit)
        return self._slots[provider]
