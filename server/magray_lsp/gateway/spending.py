"""Money set aside before a call (local hard budget, then the team's limits) and freed after.

A call reserves the most it can cost, so calls in flight together never pass a limit even when
their token estimates were low; `LedgerRows.record` settles the reservation with the real cost.

The status counts every row this process acknowledged: the writer's status after its last
commit, plus the rows appended to the row journal that commit did not hold yet (their cost
spent, their reservations no longer reserved). Which rows those are is read together with the
status (`LedgerWriter.journaled`), so a row is counted once however the fold and the read
interleave.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal
from functools import partial

from magray_lsp.catalog import Catalog
from magray_lsp.cost.budget import BudgetStatus, Reservation
from magray_lsp.cost.journal import JournalTail
from magray_lsp.cost.ledger import month_hours, to_pico
from magray_lsp.cost.prices import price_usd
from magray_lsp.cost.team import TeamHold
from magray_lsp.gateway.chat_request import request_for
from magray_lsp.gateway.rows import LedgerRows
from magray_lsp.routing.pricing import UNKNOWN_PRICE, hard_budget, most_usage
from magray_lsp.routing.router import Candidate
from magray_lsp.task import Task


class Spending:
    """Reservations against the local budget and the team's, and this month's budget status."""

    def __init__(self, catalog: Catalog, rows: LedgerRows, workspace: str) -> None:
        self.catalog = catalog
        self.config = catalog.loaded.config
        self.rows = rows
        self.budget = rows.budget
        self.team = rows.team
        self.workspace = workspace
        #: the last fresh status, when, and the journal offset its snapshot held
        self._status: tuple[float, BudgetStatus, int] | None = None

    def status(self, max_age: float = 1.0) -> BudgetStatus:
        """This month's spend: the writer's status after its last commit, or a fresh query when
        that is older than ``max_age`` seconds (other processes may have spent meanwhile): the
        tracker's, which only reads the rows written since its last commit; either with the
        journaled rows it does not hold yet added."""
        writer = self.rows.writer
        month_start = month_hours(self.budget.now())[0]
        latest, tail = writer.journaled(month_start)
        now = time.monotonic()
        if latest is not None and now - latest[0] <= max_age:
            return self._with(latest[1], tail)
        cached = self._status
        if cached is None or now - cached[0] > max_age:
            status, upto, tail = writer.journaled_past(self._fresh, month_start)
            self._status = (now, status, upto)
            return self._with(status, tail)
        return self._with(cached[1], writer.journaled(month_start, cached[2])[1])

    def _fresh(self) -> tuple[BudgetStatus, int]:
        """The tracker's status and, in the same snapshot, this journal's folded offset."""
        ledger, name = self.budget.ledger, self.rows.writer.journal_name
        with ledger.snapshot():
            status = self.rows.tracker.status()
            if name is None:
                return status, 0
            row = ledger.read("SELECT upto FROM journal_folded WHERE name = ?", (name,))
        return status, int(row[0][0]) if row else 0

    def _with(self, status: BudgetStatus, tail: JournalTail) -> BudgetStatus:
        """``status`` with the journaled rows it does not hold: their cost this month spent,
        their reservations (settled by them) no longer reserved."""
        if not tail.rows:
            return status
        return self.budget.status_of(
            to_pico(status.spent) + tail.cost_pico,
            max(to_pico(status.reserved) - tail.reserved_pico, 0),
            status.unpriced + tail.unpriced,
        )

    def allows_paid(self) -> bool:
        """Whether a paid model may be planned (the router asks)."""
        budget = self.config.budget
        if budget.monthly_usd is None or not budget.hard_stop:
            return True  # nothing can be refused: no status needed
        return not self.status().exhausted

    async def reserve(
        self, cand: Candidate, task: Task, deadline: float
    ) -> tuple[Reservation | None, TeamHold | None]:
        """Set aside the most this call can cost (see `routing/pricing.py`) against the local hard
        budget, then against the team's limits (which releases the local one if it refuses), so
        calls in flight together never pass a limit even when their token estimates were low."""
        local = hard_budget(self.config.budget)
        if not local and self.team is None:
            return None, None  # nothing can be refused: skip a transaction on the hot path
        if cand.estimate_usd is not None and cand.estimate_usd == 0:
            most = Decimal(0)  # free: no local reservation (the team may still refuse it)
        else:
            usage = most_usage(request_for(self.catalog, self.workspace, task, cand.ref), task)
            charged = self.rows.charge(cand, usage)[0]
            if charged is None:  # unpriced, no local hard budget: the team holds the placeholder
                charged = price_usd(cand.ref.kind, "unknown", usage, {"unknown": UNKNOWN_PRICE})
            most = charged or Decimal(0)
        reservation = await self._reserve_local(most) if local else None
        if self.team is None:
            return reservation, None
        try:
            ttl = deadline - asyncio.get_running_loop().time() + 60  # outlives the call
            return reservation, await self.team.reserve(most, deadline=deadline, ttl=ttl)
        except BaseException:  # refused, or cancelled while asking the team's Redis
            await asyncio.shield(self.release(reservation, None))
            raise

    async def release(self, reservation: Reservation | None, team_hold: TeamHold | None) -> None:
        """Free what a call that cost nothing had set aside, locally and in the team's Redis."""
        if reservation is not None:
            await self.rows.write(partial(self.budget.release_in, reservation=reservation))
        if self.team is not None:
            await self.team.release(team_hold)

    async def _reserve_local(self, most: Decimal | None) -> Reservation | None:
        if not most:
            return None  # free models are never refused and need no reservation
        reservation = self.budget.reservation(most, request_id=uuid.uuid4().hex)
        await self.rows.write(lambda tx: self.budget.reserve_in(tx, reservation))
        return reservation
