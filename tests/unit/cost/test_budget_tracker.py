"""BudgetTracker: the status kept up to date from the rows written since, always equal to the one
``BudgetGuard.status_in`` sums from the rollup (other processes, threads, rollbacks, new months)."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from tests.unit.cost.test_ledger import run_workers

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.budget import BudgetGuard, BudgetStatus, Reservation
from magray_lsp.cost.budget_tracker import BudgetTracker
from magray_lsp.cost.ledger import Ledger, LedgerEntry, LedgerTx

WORKER = Path(__file__).with_name("_worker.py")
DAY = 86400.0


def row(rnd: random.Random, now: float) -> LedgerEntry:
    """A row as the gateway writes them: priced, unpriced, free, cached; now or last month."""
    return LedgerEntry(
        id=uuid.uuid4().hex,
        ts=now - rnd.choice([0.0, 0.0, 0.0, 40 * DAY]),
        action="explain",
        provider="openai",
        model=rnd.choice(["gpt-4o-mini", "gpt-4o"]),
        input_tokens=rnd.randint(0, 500),
        output_tokens=rnd.randint(0, 50),
        cost_usd=rnd.choice([None, Decimal(0), Decimal("0.000123"), Decimal("0.5")]),
        cached=rnd.random() < 0.2,
        outcome=rnd.choice(["ok", "ok", "error", "cancelled"]),
    )


def random_batch(
    rnd: random.Random, tracker: BudgetTracker, guard: BudgetGuard
) -> tuple[BudgetStatus, BudgetStatus]:
    """Random rows and reservations in one transaction; both statuses computed inside it."""
    now = time.time()

    def body(tx: LedgerTx) -> tuple[BudgetStatus, BudgetStatus]:
        for _ in range(rnd.randint(0, 3)):
            tx.record(row(rnd, now))
        if rnd.random() < 0.3:
            reservation = guard.reservation(Decimal("0.01"), request_id=uuid.uuid4().hex)
            guard.reserve_in(tx, reservation)
        assert tracker.spent_pico_in(tx, now) == tx.month_spend_pico(now)
        return tracker.status_in(tx), guard.status_in(tx)

    return guard.ledger.write(body)


def test_equals_the_rollup_sums_while_another_process_and_another_thread_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger(path)
    guard = BudgetGuard(ledger, BudgetConfig(monthly_usd=Decimal(1000)))
    tracker = BudgetTracker(guard)
    rnd = random.Random(18)
    go = tmp_path / "go"
    other = subprocess.Popen(
        [sys.executable, str(WORKER), "record", str(path), "400", str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    go.touch()
    checked = 0
    # each batch on this thread or another one (two connections of this process)
    with ThreadPoolExecutor(1) as pool:
        while other.poll() is None or checked < 200:
            if rnd.random() < 0.5:
                tracked, summed = random_batch(rnd, tracker, guard)
            else:
                tracked, summed = pool.submit(random_batch, rnd, tracker, guard).result()
            assert tracked == summed
            with ledger.snapshot():  # outside a transaction, read in one snapshot
                assert tracker.status() == guard.status()
            checked += 1
    out, err = other.communicate(timeout=120)
    assert other.returncode == 0, err.decode()
    assert '"errors": []' in out.decode()
    assert ledger.read("SELECT COUNT(*) FROM requests WHERE model = 'gpt-4o-mini'")[0][0] >= 400
    # the other process's rows were added, not re-summed: one full sum, at the first batch
    assert tracker.recomputed == 1
    ledger.close()


def test_a_rolled_back_transaction_is_not_counted(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    guard = BudgetGuard(ledger, BudgetConfig(monthly_usd=Decimal(10)))
    tracker = BudgetTracker(guard)
    rnd = random.Random(1)
    random_batch(rnd, tracker, guard)

    def rolled_back(tx: LedgerTx) -> None:
        tx.record(LedgerEntry(action="explain", provider="openai", model="m", cost_usd=Decimal(3)))
        assert tracker.status_in(tx).spent >= Decimal(3)
        raise RuntimeError("the commit failed")

    with pytest.raises(RuntimeError):
        ledger.write(rolled_back)

    # the next transaction reuses the rolled-back row's rowid: its cost must not linger
    def recorded(tx: LedgerTx) -> tuple[BudgetStatus, BudgetStatus]:
        tx.record(LedgerEntry(action="explain", provider="openai", model="m"))
        return tracker.status_in(tx), guard.status_in(tx)

    tracked, summed = ledger.write(recorded)
    assert tracked == summed
    assert tracker.recomputed == 2
    assert tracker.status() == guard.status()
    ledger.close()


def test_a_new_month_starts_from_zero(tmp_path: Path) -> None:
    clock = [datetime(2026, 1, 31, 23, 59, tzinfo=UTC).timestamp()]
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    guard = BudgetGuard(ledger, BudgetConfig(monthly_usd=Decimal(10)), clock=lambda: clock[0])

    tracker = BudgetTracker(guard)

    def spend(tx: LedgerTx) -> BudgetStatus:
        tx.record(
            LedgerEntry(
                ts=clock[0], action="explain", provider="openai", model="m", cost_usd=Decimal(2)
            )
        )
        return tracker.status_in(tx)

    assert ledger.write(spend).spent == Decimal(2)
    clock[0] += 120  # February
    february = ledger.write(lambda tx: tracker.status_in(tx))
    assert february.spent == Decimal(0)
    assert february == ledger.write(lambda tx: guard.status_in(tx))
    assert ledger.write(spend).spent == Decimal(2)
    ledger.close()


def test_reservations_checked_against_the_tracked_spend_never_overspend_across_processes(
    tmp_path: Path,
) -> None:
    """As test_budget.py's four processes, two of them (25 threads each, one connection per
    thread) checking reservations against a tracker's month spend, as the gateway does."""
    limit, estimate = Decimal("1.00"), Decimal("0.04")
    path = tmp_path / "ledger.sqlite3"
    Ledger(path).close()
    go = tmp_path / "go"
    args = ["budget", str(path), "25", str(limit), str(estimate), str(go)]
    results = run_workers(
        [[*args, str(seed), *(["tracked"] if seed % 2 else [])] for seed in range(4)], go
    )
    assert [r["errors"] for r in results] == [[], [], [], []]
    ok = [Decimal(x) for r in results for x in r["ok"]]
    assert len(ok) + sum(len(r["refused"]) for r in results) == 100
    assert any(r["refused"] for r in results[1::2])  # the tracked ones refuse too
    with Ledger(path) as led:
        assert led.month_spend() == sum(ok, Decimal(0)) <= limit
        assert led.read("SELECT COUNT(*) FROM reservations")[0][0] == 0


def test_a_read_while_another_thread_is_mid_transaction_does_not_count_its_rows(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    guard = BudgetGuard(ledger, BudgetConfig(monthly_usd=Decimal(10)))
    tracker = BudgetTracker(guard)
    spend = LedgerEntry(action="explain", provider="openai", model="m", cost_usd=Decimal(1))

    def spent(tx: LedgerTx) -> BudgetStatus:
        tx.record(spend)
        return tracker.status_in(tx)

    ledger.write(spent)
    inside, done = threading.Event(), threading.Event()

    def open_transaction(tx: LedgerTx) -> None:
        tx.record(LedgerEntry(action="explain", provider="openai", model="m", cost_usd=Decimal(2)))
        assert tracker.status_in(tx).spent == Decimal(3)  # remembered, not committed yet
        inside.set()
        assert done.wait(60)

    with ThreadPoolExecutor(1) as pool:
        writing = pool.submit(ledger.write, open_transaction)
        assert inside.wait(60)
        try:
            assert tracker.status() == guard.status()
            assert tracker.status().spent == Decimal(1)
        finally:
            done.set()
        writing.result()
    assert tracker.status().spent == Decimal(3) == guard.status().spent
    ledger.close()


def test_the_status_without_a_query_equals_the_sums_whatever_else_writes(tmp_path: Path) -> None:
    """The writer's way: rows appended, the status taken at the end of each transaction. Between
    them, at random: nothing (the next status needs no query), another process's rows, this
    process's other connection (another thread), a fold, a reservation, a rolled-back
    transaction, rows written after the status in the same transaction: every status equals
    the sums, and the shortcut is taken only where nothing but this connection wrote."""
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger(path)
    guard = BudgetGuard(ledger, BudgetConfig(monthly_usd=Decimal(1000)))
    tracker = BudgetTracker(guard)
    rnd = random.Random(6)
    now = time.time()
    go = tmp_path / "go"
    other = subprocess.Popen(
        [sys.executable, str(WORKER), "record", str(path), "150", str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    go.touch()
    reservations: list[Reservation] = []
    shortcuts, seen, previous = 0, set(), "start"
    exited = False  # the other process had exited before the previous transaction

    def batch(tx: LedgerTx) -> tuple[BudgetStatus, BudgetStatus, bool, bool]:
        for _ in range(rnd.choice([0, 1, 1, 1, 2, 5])):
            tx.record(row(rnd, now))
        reserves = rnd.random() < 0.05
        if reserves:  # a reservation in the same transaction as rows: queried on purpose
            reservations.append(guard.reservation(Decimal("0.25"), request_id="s"))
            guard.reserve_in(tx, reservations[-1])
        before = tracker.unqueried
        tracked = tracker.status_in(tx)
        return tracked, guard.status_in(tx), tracker.unqueried > before, reserves

    def rolled_back(tx: LedgerTx) -> None:
        tx.record(row(rnd, now))
        tracker.status_in(tx)
        raise RuntimeError("the commit failed")

    def recorded_after_the_status(tx: LedgerTx) -> None:
        tracker.status_in(tx)
        tx.record(row(rnd, now))

    with ThreadPoolExecutor(1) as pool:
        for step in range(600):
            # nothing else can have written since the previous status only if the other process
            # had exited before it was taken (its last rows may come just before it exits)
            alone = exited and not reservations
            exited = other.poll() is not None
            tracked, summed, shortcut, reserved_here = ledger.append(batch)
            assert tracked == summed, step
            shortcuts += shortcut
            if shortcut:
                seen.add(previous)
            else:  # a query only when something else wrote, or money is (or was) reserved
                assert previous != "none" or not alone or reserved_here, step
            between = previous = rnd.choice(
                ["none"] * 6 + ["thread", "fold", "reserve", "back", "after"]
            )
            if between == "thread":
                pool.submit(ledger.append, lambda tx: tx.record(row(rnd, now))).result()
            elif between == "fold":
                ledger.fold()
            elif between == "reserve":
                if reservations:  # held for a few transactions, then released
                    held, reservations[:] = list(reservations), []
                    ledger.append(partial(release_all, guard, held))
                else:
                    reservations.append(guard.reservation(Decimal("0.5"), request_id="r"))
                    ledger.append(lambda tx: guard.reserve_in(tx, reservations[-1]))
            elif between == "back":
                with pytest.raises(RuntimeError):
                    ledger.append(rolled_back)
            elif between == "after":
                ledger.append(recorded_after_the_status)
    _, err = other.communicate(timeout=120)
    assert other.returncode == 0, err.decode()
    assert shortcuts > 100 and seen == {"none"}
    ledger.close()


def test_a_clock_set_back_counts_reservations_that_had_expired(tmp_path: Path) -> None:
    """Reservations only expire as the clock moves forward: set back, one counts again."""
    clock = [datetime(2026, 3, 10, tzinfo=UTC).timestamp()]
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    guard = BudgetGuard(ledger, BudgetConfig(monthly_usd=Decimal(10)), clock=lambda: clock[0])
    tracker = BudgetTracker(guard)
    reservation = guard.reservation(Decimal(1), request_id="r")
    ledger.append(lambda tx: guard.reserve_in(tx, reservation))
    clock[0] = reservation.expires + 60
    assert ledger.append(tracker.status_in).reserved == 0  # expired
    assert ledger.append(tracker.status_in).reserved == 0
    assert tracker.unqueried == 1  # the second: without a query
    clock[0] = reservation.expires - 60
    assert ledger.append(tracker.status_in).reserved == Decimal(1)
    assert ledger.append(lambda tx: guard.status_in(tx)).reserved == Decimal(1)
    ledger.close()


def release_all(guard: BudgetGuard, held: list[Reservation], tx: LedgerTx) -> None:
    for reservation in held:
        guard.release_in(tx, reservation)
