"""The budget status after each ledger commit, kept up to date from the rows written since.

``BudgetGuard.status_in`` sums this month's rollup rows: a cost that grows with the month
(0.2 ms at 440 rollup rows, a few days into a month), paid by every commit of the gateway's
writer, on the request's path. ``BudgetTracker.status_in`` does it once, remembers the totals
and the last request row they include (its rowid and id), and afterwards adds only the request
rows past that one — whichever process or connection wrote them: every change to the month's
spend is a row inserted into ``requests`` (folded into the rollup later; the sum from the rollup
counts the rows not folded yet), and the ledger never
deletes request rows, so rowids only grow. The reservations, which expire with time, are
summed live (that table only holds requests in flight).

The totals are recomputed from the rollup when the month changes, or when the remembered row is
no longer at its rowid (a transaction that wrote it was rolled back and the rowid reused, or the
file was replaced after corruption): so the status always equals ``BudgetGuard.status_in``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from magray_lsp.cost.budget import BudgetGuard, BudgetStatus
from magray_lsp.cost.ledger import LedgerTx, month_hours
from magray_lsp.cost.ledger.schema import ROLLUP_COLUMNS, hour_of, hours_total

_COST = ROLLUP_COLUMNS["cost_pico"].format(r="")
_UNPRICED = ROLLUP_COLUMNS["unpriced"].format(r="")
_RESERVED = "(SELECT COALESCE(SUM(amount_pico), 0) FROM reservations WHERE expires > ?2)"

#: the month's totals from the rollup (and the rows not folded yet), and the last request row
#: they include
_FULL = (
    f"SELECT {hours_total('cost_pico', '?3', '?4')}, {hours_total('unpriced', '?3', '?4')}, "
    f"{_RESERVED}, last.rowid, last.id "
    "FROM (SELECT 1) LEFT JOIN (SELECT rowid, id FROM requests ORDER BY rowid DESC LIMIT 1) AS last"
)
#: what the request rows past the remembered one add to this month (MAX(rowid)'s bare ``id`` is
#: that row's: SQLite's documented min/max rule), and whether the remembered row is still there
_SINCE = (
    f"SELECT (SELECT id FROM requests WHERE rowid = ?1), {_RESERVED}, MAX(rowid), id, "
    f"COALESCE(SUM(CASE WHEN {hour_of()} >= ?3 AND {hour_of()} < ?4 THEN {_COST} END), 0), "
    f"COALESCE(SUM(CASE WHEN {hour_of()} >= ?3 AND {hour_of()} < ?4 THEN {_UNPRICED} END), 0) "
    "FROM requests WHERE rowid > ?1"
)


@dataclass(frozen=True, slots=True)
class _Totals:
    month: tuple[int, int]  # its first and end hour
    spent_pico: int
    unpriced: int
    mark: int  # rowid of the last request row counted (0: none)
    mark_id: str | None  # and its id


class BudgetTracker:
    """``after_batch`` for the gateway's ledger writer: ``BudgetGuard.status_in``, incrementally;
    and the month's spend its reservations are checked against (``BudgetGuard.month_spend_in``).

    Runs inside a write transaction, which serializes every caller (threads and processes)."""

    def __init__(self, guard: BudgetGuard) -> None:
        self.guard = guard
        self._totals: _Totals | None = None
        #: full recomputations from the rollup (for tests and benchmarks)
        self.recomputed = 0

    def status_in(self, tx: LedgerTx) -> BudgetStatus:
        """``BudgetGuard.status_in(tx)``."""
        totals, reserved = self._update(tx, self.guard.now())
        return self.guard.status_of(totals.spent_pico, reserved, totals.unpriced)

    def status(self) -> BudgetStatus:
        """``BudgetGuard.status()`` outside a transaction: the remembered totals plus the rows
        since, read in one statement (so one snapshot) and never written back (only a write
        transaction updates them); a full sum when they do not apply (a new month, or totals
        of a transaction not committed, or rolled back)."""
        now = self.guard.now()
        since = self._since(lambda sql, params: self.guard.ledger.read(sql, params)[0], now)
        if since is None:
            return self.guard.status(now)
        totals, reserved = since
        return self.guard.status_of(totals.spent_pico, reserved, totals.unpriced)

    def spent_pico_in(self, tx: LedgerTx, now: float) -> int:
        """``tx.month_spend_pico(now)`` (what a reservation is checked against)."""
        return self._update(tx, now)[0].spent_pico

    def _update(self, tx: LedgerTx, now: float) -> tuple[_Totals, int]:
        """The month's totals as of ``tx`` (remembered), and the money reserved at ``now``."""
        since = self._since(lambda sql, params: tx.execute(sql, params).fetchone(), now)
        if since is not None:
            self._totals = since[0]
            return since
        start, end = month_hours(now)
        row = tx.execute(_FULL, (None, now, start, end)).fetchone()
        spent, unpriced, reserved, mark, mark_id = row
        self._totals = _Totals((start, end), int(spent), int(unpriced), int(mark or 0), mark_id)
        self.recomputed += 1
        return self._totals, int(reserved)

    def _since(
        self, fetch: Callable[[str, tuple[Any, ...]], Any], now: float
    ) -> tuple[_Totals, int] | None:
        """The remembered totals plus the request rows past them (``fetch``: one row of a
        query), and the money reserved at ``now``; None when they do not apply."""
        totals, month = self._totals, month_hours(now)
        if totals is None or totals.month != month:
            return None
        mark_id, reserved, top, top_id, spent, unpriced = fetch(_SINCE, (totals.mark, now, *month))
        if mark_id != totals.mark_id:  # rolled back, not committed yet, or another file
            return None
        if top is not None:  # rows were written since
            spent_pico, unpriced = totals.spent_pico + int(spent), totals.unpriced + int(unpriced)
            totals = _Totals(month, spent_pico, unpriced, int(top), top_id)
        return totals, int(reserved)
