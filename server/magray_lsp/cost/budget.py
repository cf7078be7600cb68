"""The monthly budget, enforced where a request is sent, across every process sharing the ledger.

Before a paid call the gateway ``reserve``s the most it can cost (its prompt bounded by its bytes,
its answer by ``max_tokens``: ``routing/pricing.py``). Inside one ``BEGIN IMMEDIATE`` transaction
the guard adds this month's spend, every unexpired reservation and that amount; past the limit
(with ``hard_stop``) it raises ``BudgetExceeded``, otherwise it writes a reservation row. After the
call, ``settle`` records the ledger entry with what the call cost — a call cancelled or broken off
included — and drops the reservation in one transaction; ``release`` drops it when the call was
refused or never sent, so cost nothing.

So N concurrent requests (threads or processes), each costing at most what it reserved, can never
together spend more than the limit, however wrong the token estimates were. A reservation expires
(10 minutes by default) so a crashed process cannot block the budget forever.

Free requests (local models, estimate $0) are never refused and write no reservation. Without
``monthly_usd`` nothing is refused, but everything is still recorded.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.ledger import (
    Ledger,
    LedgerEntry,
    LedgerTx,
    from_pico,
    month_hours,
    to_pico,
)
from magray_lsp.cost.ledger.schema import hours_total
from magray_lsp.cost.prices import format_usd
from magray_lsp.errors import BudgetExceeded

DEFAULT_RESERVATION_TTL = 600.0


@dataclass(frozen=True, slots=True)
class Reservation:
    """Money set aside for one request in flight."""

    id: str
    request_id: str
    amount: Decimal
    created: float
    expires: float


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """This month against the budget. ``limit`` None: no budget (never warns, never exhausted)."""

    spent: Decimal
    reserved: Decimal
    limit: Decimal | None
    #: spent / limit (1.0 for a zero budget), None without a budget
    fraction: float | None
    #: spent has reached ``warn_at`` of the limit
    warn: bool
    #: spent has reached the limit
    exhausted: bool
    #: requests this month whose price is unknown, hence missing from ``spent``
    unpriced: int = 0

    @property
    def remaining(self) -> Decimal | None:
        if self.limit is None:
            return None
        return max(self.limit - self.spent - self.reserved, Decimal(0))


class BudgetGuard:
    """Reserve → settle/release against ``BudgetConfig``; safe across threads and processes."""

    def __init__(
        self,
        ledger: Ledger,
        cfg: BudgetConfig,
        *,
        reservation_ttl: float = DEFAULT_RESERVATION_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        #: may be replaced when the configuration changes
        self.cfg = cfg
        self.reservation_ttl = reservation_ttl
        self._clock = clock
        #: this month's spend inside a write transaction, in pico-dollars, at a time: a re-sum of
        #: the month's rollup, unless a ``BudgetTracker`` keeps it (the gateway's does)
        self.month_spend_in: Callable[[LedgerTx, float], int] = LedgerTx.month_spend_pico

    def now(self) -> float:
        """The guard's clock (seconds since the epoch)."""
        return self._clock()

    def reservation(self, estimate: Decimal, *, request_id: str) -> Reservation:
        """A reservation of ``estimate`` to be made with ``reserve_in`` (nothing written yet)."""
        to_pico(estimate)  # validates the amount before anything is queued
        now = self._clock()
        return Reservation(
            id=uuid.uuid4().hex,
            request_id=request_id,
            amount=estimate,
            created=now,
            expires=now + self.reservation_ttl,
        )

    def reserve(self, estimate: Decimal, *, request_id: str) -> Reservation:
        """Set ``estimate`` aside, or raise ``BudgetExceeded`` if it would cross a hard limit.

        Callers that cannot price a request should pass a conservative estimate, not zero.
        """
        reservation = self.reservation(estimate, request_id=request_id)
        if to_pico(estimate) != 0:  # free requests are never refused and hold nothing
            self.ledger.write(lambda tx: self.reserve_in(tx, reservation))
        return reservation

    def reserve_in(self, tx: LedgerTx, reservation: Reservation) -> None:
        """``reserve`` inside a write transaction (the gateway's writer batches these)."""
        amount_pico = to_pico(reservation.amount)
        if amount_pico == 0:
            return
        cfg, now = self.cfg, reservation.created
        tx.execute("DELETE FROM reservations WHERE expires <= ?", (now,))
        if cfg.monthly_usd is not None and cfg.hard_stop:
            spent = self.month_spend_in(tx, now)
            row = tx.execute(
                "SELECT COALESCE(SUM(amount_pico), 0) FROM reservations WHERE expires > ?",
                (now,),
            ).fetchone()
            reserved = int(row[0])
            if spent + reserved + amount_pico > _limit_pico(cfg.monthly_usd):
                raise BudgetExceeded(
                    f"monthly budget {format_usd(cfg.monthly_usd)} reached: "
                    f"{format_usd(from_pico(spent))} spent, "
                    f"{format_usd(from_pico(reserved))} reserved; this request may cost up to "
                    f"{format_usd(reservation.amount)}"
                )
        tx.execute(
            "INSERT INTO reservations (id, request_id, amount_usd, amount_pico, created, "
            "expires) VALUES (?, ?, ?, ?, ?, ?)",
            (
                reservation.id,
                reservation.request_id,
                format(reservation.amount, "f"),
                amount_pico,
                reservation.created,
                reservation.expires,
            ),
        )

    def settle(self, reservation: Reservation, entry: LedgerEntry) -> None:
        """Record what the request really cost and free its reservation, atomically."""
        self.ledger.write(lambda tx: self.settle_in(tx, reservation, entry))

    @staticmethod
    def settle_in(tx: LedgerTx, reservation: Reservation, entry: LedgerEntry) -> None:
        tx.record(entry)
        tx.execute("DELETE FROM reservations WHERE id = ?", (reservation.id,))

    def release(self, reservation: Reservation) -> None:
        """Free a reservation without recording anything (the call never cost money)."""
        if to_pico(reservation.amount) == 0:
            return
        self.ledger.write(lambda tx: self.release_in(tx, reservation))

    @staticmethod
    def release_in(tx: LedgerTx, reservation: Reservation) -> None:
        tx.execute("DELETE FROM reservations WHERE id = ?", (reservation.id,))

    def status(self, now: datetime | float | None = None) -> BudgetStatus:
        """Spend this month (UTC), money reserved by requests in flight, and the thresholds."""
        return self.status_in(self.ledger.read, now)

    def status_in(
        self,
        read: Callable[[str, Sequence[Any]], Any] | LedgerTx,
        now: datetime | float | None = None,
    ) -> BudgetStatus:
        """``status`` via ``read`` (``Ledger.read``) or inside a transaction (a ``LedgerTx``)."""
        at = self._clock() if now is None else now
        clock_now = at.timestamp() if isinstance(at, datetime) else at
        start, end = month_hours(at)
        query = (
            f"SELECT {hours_total('cost_pico', '?1', '?2')}, "
            "(SELECT COALESCE(SUM(amount_pico), 0) FROM reservations WHERE expires > ?3), "
            f"{hours_total('unpriced', '?1', '?2')}"
        )
        params = (start, end, clock_now)
        if isinstance(read, LedgerTx):
            spent_pico, reserved_pico, unpriced = read.execute(query, params).fetchone()
        else:
            spent_pico, reserved_pico, unpriced = read(query, params)[0]
        return self.status_of(int(spent_pico), int(reserved_pico), int(unpriced))

    def status_of(self, spent_pico: int, reserved_pico: int, unpriced: int) -> BudgetStatus:
        """The status for these month totals against the current configuration."""
        spent, reserved = from_pico(spent_pico), from_pico(reserved_pico)
        limit = self.cfg.monthly_usd
        if limit is None:
            return BudgetStatus(spent, reserved, None, None, False, False, unpriced)
        fraction = float(spent / limit) if limit > 0 else 1.0
        warn_line = limit * Decimal(str(self.cfg.warn_at))
        return BudgetStatus(
            spent=spent,
            reserved=reserved,
            limit=limit,
            fraction=fraction,
            warn=spent >= warn_line,
            exhausted=spent >= limit,
            unpriced=unpriced,
        )


def _limit_pico(limit: Decimal) -> int:
    """The limit in pico-dollars, rounded down (never allow more than the user set)."""
    return int(limit.scaleb(12).to_integral_value(rounding=ROUND_FLOOR))
