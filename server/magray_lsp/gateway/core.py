"""`Gateway`, the one entry point for "run this Task": plan, stream, run; it builds the parts.

The parts, in the order a request meets them: `caching.CachedRuns` (response cache, single
flight) → `execution.Executor` (models in turn, retries, fallback, the provider call) →
`spending.Spending` (reservations) and `rows.LedgerRows` (one ledger row per attempt).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any

from magray_lsp.cache import ResponseCache
from magray_lsp.catalog import Catalog, ModelRef
from magray_lsp.cost.budget import BudgetGuard, BudgetStatus
from magray_lsp.cost.ledger import Ledger, default_ledger_path
from magray_lsp.cost.team import TeamBudget
from magray_lsp.errors import MagrayError
from magray_lsp.gateway.caching import CachedRuns
from magray_lsp.gateway.chat_request import request_for
from magray_lsp.gateway.events import Accept, GatewayEvent, Outcome
from magray_lsp.gateway.execution import Executor
from magray_lsp.gateway.rows import LedgerRows
from magray_lsp.gateway.spending import Spending
from magray_lsp.gateway.windows import ContextWindows
from magray_lsp.providers.base import ChatRequest
from magray_lsp.resilience.health import HealthBoard
from magray_lsp.routing.router import Plan, Router
from magray_lsp.task import Task

DEFAULT_CONTEXT_BUDGET = 6000  # tokens of surrounding code when every window is large


class Gateway:
    def __init__(
        self,
        catalog: Catalog,
        *,
        ledger: Ledger,
        cache: ResponseCache | None = None,
        health: HealthBoard | None = None,
        workspace: str = "",
        rng: random.Random | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.catalog = catalog
        self.config = catalog.loaded.config
        self.ledger = ledger
        self.budget = BudgetGuard(ledger, self.config.budget)
        #: [team] limits, on top of the local budget (None without team mode)
        self.team = TeamBudget.for_config(self.config.team, ledger, workspace=workspace)
        self.rows = LedgerRows(catalog, ledger, self.budget, self.team, workspace)
        # every ledger write goes through this one thread, many rows per transaction
        self.writer = self.rows.writer
        self.spending = Spending(catalog, self.rows, workspace)
        self.cache = cache
        self.health = health or HealthBoard()
        self.windows = ContextWindows(catalog)
        self.router = Router(
            catalog,
            self.health,
            budget_allows_paid=self.spending.allows_paid,
            window_hint=self.windows.hint,
        )
        self.workspace = workspace
        self.executor = Executor(
            catalog,
            self.health,
            self.rows,
            self.spending,
            workspace=workspace,
            rng=rng or random.Random(),
            sleep=sleep,
        )
        self.runs = CachedRuns(
            cache,
            catalog,
            router=self.router,
            windows=self.windows,
            executor=self.executor,
            rows=self.rows,
            spending=self.spending,
        )

    @classmethod
    def open(
        cls,
        catalog: Catalog,
        *,
        workspace: str = "",
        on_warning: Callable[[str], None] | None = None,
    ) -> Gateway:
        """The gateway with the shared on-disk ledger and the configured cache tiers."""
        cache = ResponseCache(catalog.loaded.config.cache, on_warning=on_warning)
        return cls(catalog, ledger=Ledger(default_ledger_path()), cache=cache, workspace=workspace)

    # -- planning -----------------------------------------------------------

    def plan(self, task: Task) -> Plan:
        return self.router.plan(task)

    def context_budget(self, private: bool, max_output_tokens: int = 700) -> int:
        """Tokens of code context worth assembling: the default, shrunk so the prompt (which
        shows the target twice: in place and on its own) still fits the largest window among
        the models that may take the task — the embedded model has only 4K."""
        windows = [
            self.router.window(ref)
            for ref in self.router.candidates()
            if not private or self.catalog.provider(ref.provider).is_local
        ]
        room = (max(windows, default=DEFAULT_CONTEXT_BUDGET * 4) - max_output_tokens - 400) // 2
        return max(256, min(DEFAULT_CONTEXT_BUDGET, room))

    def budget_status(self, max_age: float = 1.0) -> BudgetStatus:
        """This month's spend, at most ``max_age`` seconds old (`Spending.status`)."""
        return self.spending.status(max_age)

    def request_for(self, task: Task, ref: ModelRef) -> ChatRequest:
        """What `task` sends to the model `ref`."""
        return request_for(self.catalog, self.workspace, task, ref)

    def key_for(self, task: Task) -> str | None:
        """`task`'s response-cache key (None: not cached)."""
        return self.runs.key_for(task)

    # -- running ------------------------------------------------------------

    async def run(self, task: Task, *, accept: Accept | None = None) -> Outcome:
        """The outcome only: the provider is asked for one whole (non-streamed) answer."""
        last: GatewayEvent | None = None
        events = self.runs.stream(task, accept, False)
        try:
            # to the end (the outcome is the last event, nothing to look at before it): a stream
            # left open would be closed by the garbage collector's hook, a task of its own, and
            # count as a request until then
            async for event in events:
                last = event
        finally:
            await events.aclose()  # now, if cancelled: not by the GC's hook
        if not isinstance(last, Outcome):  # pragma: no cover
            raise MagrayError("the gateway ended without an outcome")
        return last

    async def run_many(self, tasks: Iterable[Task]) -> list[Outcome | BaseException]:
        """Run tasks concurrently (provider concurrency limits apply); failures stay per task."""
        return list(await asyncio.gather(*(self.run(t) for t in tasks), return_exceptions=True))

    def stream(
        self, task: Task, *, accept: Accept | None = None, incremental: bool = True
    ) -> AsyncGenerator[GatewayEvent, None]:
        """Run `task`; `accept(text)` may reject an answer (saying why), which then counts as a
        failure of that model (paid for and recorded, not cached) and the next model is tried.
        A cached or shared answer passes the same check, against this request, before it is
        used; one that fails is skipped (a ``Fallback`` and an entry in the outcome's
        ``attempts`` say why) and the models are asked.
        ``incremental=False`` asks providers for the whole answer in one response (one delta).
        The events come straight from `CachedRuns.stream` (no generator layer of its own)."""
        return self.runs.stream(task, accept, incremental)

    async def flush(self) -> None:
        """Wait until every ledger write submitted so far is committed, and every answer stored
        so far is in the shared cache tiers."""
        await self.runs.flush()
        await self.rows.flush()

    async def aclose(self) -> None:
        await self.flush()
        await self.catalog.aclose()
        if self.cache is not None:
            await self.cache.aclose()
        if self.team is not None:
            await self.team.aclose()
        await asyncio.to_thread(self.writer.close)
        await asyncio.to_thread(self.ledger.close)
