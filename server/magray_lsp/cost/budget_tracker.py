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

Most transactions need no query at all (`_Quiet`): when the last status was taken on the same
connection, at the end of the transaction just before this one (which committed), no other
connection committed since (``PRAGMA data_version``: it changes for commits of any other
connection, this process's own others included), nothing was reserved, and this transaction only
recorded rows, then the totals are the remembered ones plus those rows, added up in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from magray_lsp.cost.budget import BudgetGuard, BudgetStatus
from magray_lsp.cost.ledger import LedgerTx, month_hours
from magray_lsp.cost.ledger.schema import COLUMN_NAMES, ROLLUP_COLUMNS, hour_of, hours_total

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


#: where a stored row (`LedgerTx.recorded`) keeps what the month's totals add up
_TS, _COST_PICO, _ID = (COLUMN_NAMES.index(c) for c in ("ts", "cost_pico", "id"))
_INPUT, _OUTPUT = COLUMN_NAMES.index("input_tokens"), COLUMN_NAMES.index("output_tokens")


class _Quiet(NamedTuple):  # a tuple: built at every commit, cheaper than a frozen dataclass
    """Where the connection stood when the totals were last brought up to date, inside a write
    transaction: if the next transaction on it finds it unchanged, only its own rows are new."""

    holder: object  # the connection (`LedgerTx.holder`)
    commits: int  # its commits by then: the next transaction comes after exactly one more
    changes: int  # its ``total_changes``: nothing was written after the status was taken
    data_version: int  # no other connection committed since
    now: float  # the clock then (reservations only expire as it moves forward)
    reserved: int  # money reserved then: the shortcut is taken only when it was 0


class _Totals(NamedTuple):
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
        self._quiet: _Quiet | None = None
        #: full recomputations from the rollup, and statuses taken without a query (for tests
        #: and benchmarks)
        self.recomputed = 0
        self.unqueried = 0

    def status_in(self, tx: LedgerTx) -> BudgetStatus:
        """``BudgetGuard.status_in(tx)``; at the end of a transaction (the writer's
        ``after_batch``), so that the next one may take the shortcut."""
        now = self.guard.now()
        version = tx.data_version()
        got = self._quietly(tx, now, version)
        if got is None:
            got = self._update(tx, now)
        else:
            self._totals = got[0]
            self.unqueried += 1
        totals, reserved = got
        holder = tx.holder
        self._quiet = _Quiet(holder, holder.commits, tx.total_changes(), version, now, reserved)
        return self.guard.status_of(totals.spent_pico, reserved, totals.unpriced)

    def _quietly(self, tx: LedgerTx, now: float, version: int) -> tuple[_Totals, int] | None:
        """The totals as of ``tx`` without a query (see the module's docstring), or None."""
        quiet, totals = self._quiet, self._totals
        if (
            quiet is None
            or totals is None
            or not tx.only_records
            or quiet.holder is not tx.holder
            or quiet.commits + 1 != tx.holder.commits
            or quiet.changes != tx.changes_at_start
            or quiet.data_version != version
            or quiet.reserved
            or now < quiet.now
            or totals.month != month_hours(now)
        ):
            return None
        if not tx.recorded:
            return totals, 0
        start, end = totals.month
        spent, unpriced = totals.spent_pico, totals.unpriced
        for row in tx.recorded:
            if start <= int(row[_TS] / 3600) < end:  # `hour_of`
                cost = row[_COST_PICO]
                if cost is None:
                    unpriced += row[_INPUT] + row[_OUTPUT] > 0
                else:
                    spent += cost
        last = tx.recorded[-1]
        assert tx.last_rowid is not None
        return _Totals(totals.month, spent, unpriced, tx.last_rowid, last[_ID]), 0

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
        self._quiet = None  # until a status at the end of a transaction
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
