"""Property: whatever the sequence of reserve/settle/release, spend never passes the budget.

A request settles for at most its estimate. Then, with reservations, spend stays within the limit:
zero overshoot. The only way past it is a reservation that expired (its process looked crashed)
and settled late, and then by no more than the estimates of such late reservations.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.budget import BudgetGuard, Reservation
from magray_lsp.cost.ledger import Ledger, LedgerEntry
from magray_lsp.errors import BudgetExceeded

TTL = 60.0
money = st.integers(min_value=0, max_value=2000).map(lambda c: Decimal(c) / 1000)  # $0–$2


@dataclass
class InFlight:
    reservation: Reservation
    estimate: Decimal


class BudgetMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="budget-prop-"))
        self.ledger = Ledger(self.dir / "ledger.sqlite3")
        self.now = datetime(2025, 6, 10, tzinfo=UTC).timestamp()
        self.limit = Decimal(0)
        self.guard: BudgetGuard | None = None
        self.inflight: list[InFlight] = []
        self.spent = Decimal(0)
        self.allowance = Decimal(0)  # estimates of reservations that lapsed, then settled

    def teardown(self) -> None:
        self.ledger.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @precondition(lambda self: self.guard is None)
    @rule(limit=st.integers(min_value=0, max_value=500).map(lambda c: Decimal(c) / 100))
    def configure(self, limit: Decimal) -> None:
        self.limit = limit
        self.guard = BudgetGuard(
            self.ledger,
            BudgetConfig(monthly_usd=limit, hard_stop=True),
            reservation_ttl=TTL,
            clock=lambda: self.now,
        )

    def live(self) -> list[InFlight]:
        return [f for f in self.inflight if f.reservation.expires > self.now]

    @precondition(lambda self: self.guard is not None)
    @rule(estimate=money)
    def reserve(self, estimate: Decimal) -> None:
        assert self.guard is not None
        reserved = sum((f.estimate for f in self.live()), Decimal(0))
        would_fit = estimate == 0 or self.spent + reserved + estimate <= self.limit
        try:
            r = self.guard.reserve(estimate, request_id=f"r{len(self.inflight)}")
        except BudgetExceeded:
            assert not would_fit, "refused a request that fits"
            return
        assert would_fit, "admitted a request that does not fit"
        self.inflight.append(InFlight(r, estimate))

    @precondition(lambda self: self.inflight)
    @rule(data=st.data(), percent=st.integers(min_value=0, max_value=100))
    def settle(self, data: st.DataObject, percent: int) -> None:
        assert self.guard is not None
        f = self.inflight.pop(data.draw(st.integers(0, len(self.inflight) - 1)))
        actual = f.estimate * percent / 100
        if f.reservation.expires <= self.now:
            self.allowance += f.estimate
        self.guard.settle(
            f.reservation,
            LedgerEntry(action="explain", provider="p", model="m", cost_usd=actual, ts=self.now),
        )
        self.spent += actual

    @precondition(lambda self: self.inflight)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        assert self.guard is not None
        f = self.inflight.pop(data.draw(st.integers(0, len(self.inflight) - 1)))
        self.guard.release(f.reservation)

    @rule(seconds=st.sampled_from([0.0, 1.0, 30.0, 59.0, 61.0, 600.0]))
    def tick(self, seconds: float) -> None:
        self.now += seconds

    @invariant()
    def never_past_the_limit(self) -> None:
        if self.guard is None:
            return
        status = self.guard.status()
        assert status.spent == self.spent  # exact decimals
        assert status.spent <= self.limit + self.allowance
        assert status.reserved == sum((f.estimate for f in self.live()), Decimal(0))


BudgetMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestBudgetProperty = BudgetMachine.TestCase
