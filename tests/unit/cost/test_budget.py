"""The budget guard: reservations in one transaction, across threads and OS processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.budget import BudgetGuard, BudgetStatus
from magray_lsp.cost.ledger import Ledger, LedgerEntry, LedgerError
from magray_lsp.errors import BudgetExceeded, MagrayError

WORKER = Path(__file__).with_name("_worker.py")
MID_MARCH = datetime(2025, 3, 15, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float = MID_MARCH) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def paid(cost: str | None, **kw: object) -> LedgerEntry:
    fields: dict[str, object] = {
        "action": "explain",
        "provider": "openai",
        "model": "gpt-4o",
        "cost_usd": None if cost is None else Decimal(cost),
        "ts": MID_MARCH,
    }
    fields.update(kw)
    return LedgerEntry(**fields)  # type: ignore[arg-type]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(tmp_path / "ledger.sqlite3")
    yield led
    led.close()


def guard_for(
    ledger: Ledger, limit: str | None, clock: Clock | None = None, **kw: object
) -> BudgetGuard:
    cfg = BudgetConfig.model_validate({"monthly_usd": limit, **kw})
    return BudgetGuard(ledger, cfg, clock=clock or Clock())


def test_reserve_then_settle_records_the_actual_cost(ledger: Ledger) -> None:
    guard = guard_for(ledger, "20")
    r = guard.reserve(Decimal("0.05"), request_id="req-1")
    assert r.request_id == "req-1" and r.amount == Decimal("0.05")
    assert guard.status().reserved == Decimal("0.05")
    guard.settle(r, paid("0.03"))
    status = guard.status()
    assert (status.spent, status.reserved) == (Decimal("0.03"), Decimal(0))
    assert ledger.recent(1)[0].cost_usd == Decimal("0.03")


def test_refusal_names_limit_spend_and_reservations(ledger: Ledger) -> None:
    ledger.record(paid("19.98"))
    guard = guard_for(ledger, "20")
    held = guard.reserve(Decimal("0.01"), request_id="a")
    with pytest.raises(BudgetExceeded) as info:
        guard.reserve(Decimal("0.05"), request_id="b")
    assert str(info.value) == (
        "monthly budget $20.00 reached: $19.98 spent, $0.01 reserved; "
        "this request may cost up to $0.05"
    )
    assert isinstance(info.value, MagrayError)
    guard.release(held)
    assert guard.status().reserved == 0


def test_an_estimate_that_exactly_fits_is_allowed(ledger: Ledger) -> None:
    ledger.record(paid("19.95"))
    guard = guard_for(ledger, "20")
    guard.reserve(Decimal("0.05"), request_id="fits")
    with pytest.raises(BudgetExceeded):
        guard.reserve(Decimal("0.000000000001"), request_id="one-pico-too-many")


def test_free_requests_are_never_refused_even_when_exhausted(ledger: Ledger) -> None:
    ledger.record(paid("25"))
    guard = guard_for(ledger, "20")
    r = guard.reserve(Decimal(0), request_id="local")
    guard.settle(r, paid("0", provider="local", model="smollm2"))
    guard.release(guard.reserve(Decimal(0), request_id="local-2"))
    assert ledger.read("SELECT COUNT(*) FROM reservations")[0][0] == 0
    assert guard.status().exhausted


def test_no_monthly_budget_never_refuses_but_still_records(ledger: Ledger) -> None:
    guard = guard_for(ledger, None)
    for i in range(5):
        guard.settle(guard.reserve(Decimal(1000), request_id=str(i)), paid("1000"))
    status = guard.status()
    assert status == BudgetStatus(Decimal(5000), Decimal(0), None, None, False, False, 0)
    assert status.remaining is None


def test_soft_budget_warns_but_never_refuses(ledger: Ledger) -> None:
    ledger.record(paid("30"))
    guard = guard_for(ledger, "20", hard_stop=False)
    guard.settle(guard.reserve(Decimal(5), request_id="x"), paid("5"))
    status = guard.status()
    assert status.exhausted and status.warn and status.fraction == 1.75
    assert status.remaining == 0


def test_zero_budget_refuses_every_paid_request(ledger: Ledger) -> None:
    guard = guard_for(ledger, "0")
    with pytest.raises(BudgetExceeded, match=r"monthly budget \$0 reached"):
        guard.reserve(Decimal("0.0001"), request_id="x")
    status = guard.status()
    assert status.exhausted and status.warn and status.fraction == 1.0


def test_warn_threshold(ledger: Ledger) -> None:
    guard = guard_for(ledger, "10", warn_at=0.8)
    ledger.record(paid("7.99"))
    assert not guard.status().warn
    ledger.record(paid("0.01"))
    status = guard.status()
    assert status.warn and not status.exhausted
    assert status.fraction == pytest.approx(0.8)
    assert status.limit == Decimal(10) and status.remaining == Decimal("2.00")


def test_unpriced_requests_are_reported_not_counted_as_free(ledger: Ledger) -> None:
    ledger.record(paid(None, input_tokens=500, output_tokens=50))
    status = guard_for(ledger, "10").status()
    assert status.spent == 0 and status.unpriced == 1


def test_last_months_spend_does_not_count(ledger: Ledger) -> None:
    ledger.record(paid("19.99", ts=datetime(2025, 2, 28, 23, 59, tzinfo=UTC).timestamp()))
    guard = guard_for(ledger, "20")
    guard.reserve(Decimal("19"), request_id="march")
    assert guard.status(datetime(2025, 2, 10, tzinfo=UTC)).spent == Decimal("19.99")


def test_expired_reservations_are_ignored_and_cleaned_up(ledger: Ledger) -> None:
    clock = Clock()
    guard = BudgetGuard(
        ledger, BudgetConfig(monthly_usd=Decimal(1)), clock=clock, reservation_ttl=60
    )
    stale = guard.reserve(Decimal("0.9"), request_id="crashed")
    with pytest.raises(BudgetExceeded):
        guard.reserve(Decimal("0.2"), request_id="blocked")
    clock.now += 61  # the crashed process's reservation lapses
    assert guard.status().reserved == 0
    fresh = guard.reserve(Decimal("0.2"), request_id="after")
    rows = ledger.read("SELECT request_id FROM reservations")
    assert rows == [("after",)]
    # A late settle of the lapsed reservation still records what was spent.
    guard.settle(stale, paid("0.5", ts=clock.now))
    guard.settle(fresh, paid("0.2", ts=clock.now))
    assert guard.status().spent == Decimal("0.7")


def test_settle_is_one_transaction(ledger: Ledger) -> None:
    guard = guard_for(ledger, "20")
    done = paid("0.01")
    ledger.record(done)
    r = guard.reserve(Decimal("0.05"), request_id="dup")
    with pytest.raises(LedgerError):
        guard.settle(r, done)  # same entry id: the insert fails ...
    assert guard.status().reserved == Decimal("0.05")  # ... so the reservation is kept
    guard.release(r)
    assert guard.status().reserved == 0


def test_config_changes_apply_to_the_next_reservation(ledger: Ledger) -> None:
    ledger.record(paid("5"))
    guard = guard_for(ledger, "10")
    guard.cfg = BudgetConfig(monthly_usd=Decimal("5"))
    with pytest.raises(BudgetExceeded):
        guard.reserve(Decimal("0.01"), request_id="x")


# --- 100 concurrent requests against a hard limit ---------------------------------------------


LIMIT = Decimal("1.00")
ESTIMATE = Decimal("0.05")


def test_hundred_threads_never_overspend(ledger: Ledger) -> None:
    guard = BudgetGuard(ledger, BudgetConfig(monthly_usd=LIMIT))
    start = threading.Barrier(100)
    ok: list[Decimal] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def request(i: int) -> None:
        start.wait()
        try:
            r = guard.reserve(ESTIMATE, request_id=str(i))
        except BudgetExceeded as exc:
            with lock:
                refused.append(str(exc))
            return
        except BaseException as exc:
            errors.append(exc)
            return
        actual = ESTIMATE * Decimal(50 + i % 51) / 100  # between half and all of the estimate
        time.sleep(0.001 * (i % 7))
        try:
            guard.settle(
                r, LedgerEntry(action="explain", provider="openai", model="m", cost_usd=actual)
            )
        except BaseException as exc:
            errors.append(exc)
            return
        with lock:
            ok.append(actual)

    threads = [threading.Thread(target=request, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(ok) + len(refused) == 100
    spent = ledger.month_spend()
    assert spent == sum(ok, Decimal(0))
    assert spent <= LIMIT
    assert len(ok) >= 20 and refused  # reservations admit at least limit/estimate requests
    assert ledger.read("SELECT COUNT(*) FROM reservations")[0][0] == 0


def test_hundred_requests_from_four_processes_never_overspend(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger(path).close()
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                "budget",
                str(path),
                "25",
                str(LIMIT),
                str(ESTIMATE),
                str(go),
                str(seed),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for seed in range(4)
    ]
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        results.append(json.loads(out))
    assert [r["errors"] for r in results] == [[], [], [], []]
    ok = [Decimal(x) for r in results for x in r["ok"]]
    refused = [x for r in results for x in r["refused"]]
    assert len(ok) + len(refused) == 100
    with Ledger(path) as led:
        spent = led.month_spend()
        assert spent == sum(ok, Decimal(0))
        assert spent <= LIMIT
        assert led.read("SELECT COUNT(*) FROM reservations")[0][0] == 0
    assert len(ok) >= 20 and refused
    assert all(msg.startswith("monthly budget $1.00 reached") for msg in refused)
