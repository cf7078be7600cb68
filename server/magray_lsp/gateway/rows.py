"""The ledger rows a request leaves: one per attempt, a free one per cache hit.

Without a team budget a row is committed by appending it to this process's row journal
(`cost/journal.py`: one ``os.write``, as durable as a SQLite commit in WAL mode with
``synchronous=NORMAL``) and `commit` returns: no SQLite on the event loop. The `LedgerWriter`
thread puts it into the ledger right after, in batches under load; the budget status counts it
from the moment it is appended (`gateway/spending.py`). With a team budget (whose share of a row
needs the transaction's result) or without a journal (Windows, a journal that failed), a lone
request commits on the event loop's thread (no thread hop), and under concurrency the writer
thread commits rows in batches. `record` is the one place a call is settled: what it cost, and
its reservations dropped with its row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from magray_lsp.catalog import Catalog, ModelRef
from magray_lsp.context.tokens import estimate_tokens
from magray_lsp.cost.budget import BudgetGuard, BudgetStatus, Reservation
from magray_lsp.cost.budget_tracker import BudgetTracker
from magray_lsp.cost.journal import Journal, available
from magray_lsp.cost.ledger import Ledger, LedgerEntry, LedgerError, LedgerTx, new_id, to_pico
from magray_lsp.cost.ledger import Outcome as LedgerOutcome
from magray_lsp.cost.team import TeamBudget, TeamHold
from magray_lsp.cost.team_local import TeamTotal
from magray_lsp.cost.writer import LedgerWriter, WriterBusy
from magray_lsp.providers.base import Completion, Message, Usage
from magray_lsp.routing.pricing import charged_cost
from magray_lsp.routing.router import Candidate
from magray_lsp.task import Task

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class Attempt:
    """One call to one model: what the ledger needs to know about it."""

    task: Task
    cand: Candidate
    failures: list[str]  # earlier failures of this request, "label: error"
    reservation: Reservation | None
    plan: Sequence[Candidate]  # every model the plan holds, to name the failed ones
    team_hold: TeamHold | None = None
    request_id: str = field(default_factory=new_id)
    started: float = field(default_factory=time.perf_counter)
    wall_started: float = field(default_factory=time.time)
    parts: list[str] = field(default_factory=list)
    first_token_ms: float | None = None
    done: Completion | None = None
    #: the request left for the provider: cut short after this, it is paid for
    sent: bool = False
    #: the prompt's messages as sent (a call cut short is billed for their estimated tokens)
    prompt: tuple[Message, ...] = ()
    #: what the call is billed for, as `LedgerRows.record` settled it (None: nothing billed)
    usage: Usage | None = None
    tokens_estimated: bool = False
    cost: Decimal | None = None
    uncached_cost: Decimal | None = None  # set when the provider's prompt cache played a part
    price_assumed: bool = False

    def received(self, text: str) -> None:
        if self.first_token_ms is None:
            self.first_token_ms = self.elapsed_ms()
        self.parts.append(text)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def fallback_chain(self) -> list[str]:
        """Other models that failed before this one (retries of this model have their own rows),
        as "provider/model" like every model in the ledger: never a label ("openai.default"),
        which the ledger's health and outage figures would take for a provider's name."""
        if not self.failures:  # the usual row
            return []
        this = (self.cand.ref.provider, self.cand.ref.model)
        failed = (
            c.ref
            for c in self.plan
            if (c.ref.provider, c.ref.model) != this
            and any(f.startswith(f"{c.ref.label}: ") for f in self.failures)
        )
        return list(dict.fromkeys(f"{ref.provider}/{ref.model}" for ref in failed))

    def billed_usage(self) -> tuple[Usage, bool]:
        """The provider's usage when it sent one; else (a call cut short, or a server that
        reports none) the prompt and the text received so far, estimated with the router's
        estimator — the second item says so."""
        if self.done is not None and self.done.usage is not None:
            return self.done.usage, False
        language = self.task.language
        prompt = estimate_tokens("".join(m.content for m in self.prompt), language)
        return Usage(prompt, estimate_tokens("".join(self.parts), language)), True

    def entry(self, workspace: str, outcome: LedgerOutcome, error_type: str | None) -> LedgerEntry:
        usage = self.usage
        return LedgerEntry(
            id=self.request_id,
            ts=self.wall_started,
            workspace=workspace,
            action=self.task.action_name,
            source_path=self.task.source_path,
            provider=self.cand.ref.provider,
            model=self.cand.ref.model,
            input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            cached_input_tokens=usage.cached_input_tokens if usage else 0,
            cache_write_tokens=usage.cache_write_tokens if usage else 0,
            cost_usd=self.cost,
            uncached_usd=self.uncached_cost,
            estimated_usd=self.cand.estimate_usd,
            latency_ms=self.elapsed_ms(),
            first_token_ms=self.first_token_ms,
            fallback_chain=self.fallback_chain(),
            outcome=outcome,
            error_type=error_type,
            tokens_estimated=self.tokens_estimated,
            price_assumed=self.price_assumed,
        )


class LedgerRows:
    """Writes a gateway's rows (and reservations) to the ledger, settling the team's share."""

    def __init__(
        self,
        catalog: Catalog,
        ledger: Ledger,
        budget: BudgetGuard,
        team: TeamBudget | None,
        workspace: str,
    ) -> None:
        self.catalog = catalog
        self.config = catalog.loaded.config
        self.budget = budget
        self.team = team
        self.workspace = workspace
        # After each commit the writer brings the budget status up to date from the rows written
        # since the last one (cost/budget_tracker.py), so reading it costs no query.
        self.tracker = BudgetTracker(budget)
        budget.month_spend_in = self.tracker.spent_pico_in  # reservations: no re-sum either
        self.writer: LedgerWriter[BudgetStatus] = LedgerWriter(
            ledger,
            after_batch=self.tracker.status_in,
            # a team budget settles its share with the transaction's result: no journal
            journal=_open_journal(ledger) if team is None else None,
        )
        self.in_flight = 0  # requests inside `Gateway.stream` right now (see `write`)

    def charge(self, cand: Candidate, usage: Usage) -> tuple[Decimal | None, bool]:
        """What `usage` on `cand` counts as, and whether at the placeholder price."""
        cfg = self.catalog.sections[cand.ref.provider]
        return charged_cost(cand.ref, cfg, usage, local=cand.local, budget=self.config.budget)

    async def write(self, body: Callable[[LedgerTx], T]) -> T:
        """Apply ``body`` through the writer; returns once its transaction committed."""
        if self.in_flight > 1:
            # others in flight: the writer thread commits rows in batches meanwhile
            return await self.writer.submit_async(body)
        # No other request is in the gateway, so no other row can come before this one is
        # committed: committed right here, without a loop round or a future.
        try:
            return self.writer.write_now(body)
        except WriterBusy:
            return await self.writer.submit_async(body)

    async def record(
        self, run: Attempt, outcome: LedgerOutcome, error_type: str | None, *, settle: bool = True
    ) -> None:
        """The one place a call is settled: one ledger row per attempt with what it cost — the
        provider's usage, or for a call cut short (cancelled, broken off) or answered without
        usage the prompt and the text received, estimated — and, with ``settle``, its reservation
        dropped in the same transaction, so the month total counts every call that was paid.
        A call that was never sent, or that the provider refused with an error, costs nothing.
        Returns once the row is committed (journaled or in SQLite), so an answer is never
        acknowledged before its row."""
        if run.done is not None or (run.sent and (outcome == "cancelled" or run.parts)):
            run.usage, run.tokens_estimated = run.billed_usage()
            run.cost, run.price_assumed = self.charge(run.cand, run.usage)
        entry = run.entry(self.workspace, outcome, error_type)
        if settle:
            await self.commit(entry, run.reservation, run.team_hold)
        else:
            await self.commit(entry)

    async def commit(
        self,
        entry: LedgerEntry,
        reservation: Reservation | None = None,
        team_hold: TeamHold | None = None,
    ) -> None:
        """Write ``entry``, settling ``reservation`` with it (in the same transaction, where
        the team counts the row too), then settle ``team_hold`` in the team's Redis with that
        cost. Without a team: appended to the journal, the reservation dropped when the writer
        folds it into the ledger."""
        team = self.team
        if team is None:
            held = (
                (None, 0) if reservation is None else (reservation.id, to_pico(reservation.amount))
            )
            if self.writer.journal(entry, *held):
                return

        def body(tx: LedgerTx) -> TeamTotal | None:
            if reservation is not None:
                self.budget.settle_in(tx, reservation, entry)
            else:
                tx.record(entry)
            return team.record_in(tx, entry, team_hold) if team is not None else None

        total = await self.write(body)
        if team is not None and total is not None:
            await team.settle(team_hold, entry, total)

    async def free(self, task: Task, ref: ModelRef, usage: Usage, saved: Decimal | None) -> str:
        """Record an answer that cost nothing (a cache hit, a coalesced request); its id.
        Returns once the row is committed: no request is acknowledged without its row."""
        entry = LedgerEntry(
            id=new_id(),
            ts=time.time(),
            workspace=self.workspace,
            action=task.action_name,
            source_path=task.source_path,
            provider=ref.provider,
            model=ref.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            cost_usd=Decimal(0),
            estimated_usd=None,
            saved_usd=saved,
            latency_ms=0.0,
            first_token_ms=None,
            cached=True,
            fallback_chain=[],
            outcome="ok",
            error_type=None,
        )
        await self.commit(entry)
        return entry.id

    async def flush(self) -> None:
        """Until every row submitted (or journaled) so far is in SQLite."""
        if self.writer.pending:
            await asyncio.to_thread(self.writer.flush)


def _open_journal(ledger: Ledger) -> Journal | None:
    """This process's row journal beside ``ledger``; None where there can be none (no
    ``flock``) or it cannot be created (then rows go to SQLite directly)."""
    if not available():  # pragma: no cover - Windows
        return None
    try:
        return Journal(ledger.path)
    except LedgerError as exc:
        log.warning("%s; ledger rows are committed to SQLite directly", exc)
        return None
