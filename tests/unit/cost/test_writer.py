"""The group-commit ledger writer: batching, per-job failures, budget safety, inline commits."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.budget import BudgetGuard, BudgetStatus
from magray_lsp.cost.ledger import Ledger, LedgerEntry, LedgerError, LedgerTx
from magray_lsp.cost.ledger.store import _NOWAIT
from magray_lsp.cost.writer import CHECKPOINT_EVERY, LedgerWriter, WriterBusy
from magray_lsp.errors import BudgetExceeded


def row(cost: str = "0.01", **kw: Any) -> LedgerEntry:
    return LedgerEntry(
        action="explain", provider="openai", model="gpt-4o", cost_usd=Decimal(cost), **kw
    )


def committed_ids(path: Path) -> set[str]:
    """What another connection (another process, say) sees: committed rows only."""
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM requests")}
    finally:
        conn.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3") as led:
        yield led


def test_a_future_resolves_only_once_its_row_is_visible_to_other_connections(
    ledger: Ledger,
) -> None:
    writer: LedgerWriter[None] = LedgerWriter(ledger)
    entries = [row() for _ in range(50)]
    seen_at_resolution: list[bool] = []
    lock = threading.Lock()

    def checked(entry: LedgerEntry, _future: Future[None]) -> None:
        visible = entry.id in committed_ids(ledger.path)
        with lock:
            seen_at_resolution.append(visible)

    futures = []
    for entry in entries:
        future = writer.record(entry)
        future.add_done_callback(partial(checked, entry))
        futures.append(future)
    for future in futures:
        future.result(timeout=30)
    writer.close()
    assert len(seen_at_resolution) == 50 and all(seen_at_resolution)


def test_concurrent_writes_are_committed_in_batches(ledger: Ledger) -> None:
    writer: LedgerWriter[None] = LedgerWriter(ledger)
    futures: list[Future[None]] = []
    go = threading.Event()

    def submit_many() -> None:
        go.wait()
        for _ in range(100):
            futures.append(writer.record(row()))

    threads = [threading.Thread(target=submit_many) for _ in range(8)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    for future in futures:
        future.result(timeout=30)
    assert writer.writes == 800
    assert writer.batches < 800  # group commit: many rows per transaction
    assert len(committed_ids(ledger.path)) == 800
    writer.close()


def test_a_failing_job_fails_alone(ledger: Ledger) -> None:
    writer: LedgerWriter[None] = LedgerWriter(ledger)
    first = row()
    ledger.record(first)
    hold = threading.Event()
    blocker = writer.submit(lambda tx: hold.wait(10) and None)  # the next three share a batch
    good1, dup, good2 = writer.record(row()), writer.record(first), writer.record(row())
    hold.set()
    blocker.result(timeout=30)
    good1.result(timeout=30)
    good2.result(timeout=30)
    with pytest.raises(sqlite3.IntegrityError):
        dup.result(timeout=30)
    assert len(committed_ids(ledger.path)) == 3
    writer.close()


def test_batched_reservations_never_overshoot_the_budget(ledger: Ledger) -> None:
    guard = BudgetGuard(ledger, BudgetConfig(monthly_usd=Decimal("1.00")))
    writer: LedgerWriter[BudgetStatus] = LedgerWriter(ledger, after_batch=guard.status_in)
    hold = threading.Event()
    writer.submit(lambda tx: hold.wait(10) and None)
    reservations = [guard.reservation(Decimal("0.03"), request_id=str(i)) for i in range(100)]
    futures = [writer.submit(partial(guard.reserve_in, reservation=r)) for r in reservations]
    hold.set()  # all 100 in one transaction
    granted = refused = 0
    for future in futures:
        try:
            future.result(timeout=30)
            granted += 1
        except BudgetExceeded:
            refused += 1
    assert (granted, refused) == (33, 67)  # 33 × $0.03 = $0.99 ≤ $1.00 < 34 × $0.03
    assert writer.latest is not None and writer.latest[1].reserved == Decimal("0.99")
    writer.close()


def test_an_idle_writer_commits_on_the_calling_thread(ledger: Ledger) -> None:
    writer: LedgerWriter[None] = LedgerWriter(ledger)
    entry = row()
    future = writer.write(lambda tx: tx.record(entry))
    assert future.done() and writer.inline == 1  # no thread hop
    assert entry.id in committed_ids(ledger.path)
    writer.close()


def test_an_inline_write_never_waits_for_another_process_lock(ledger: Ledger) -> None:
    writer: LedgerWriter[None] = LedgerWriter(ledger)
    other = sqlite3.connect(ledger.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing
    entry = row()
    future = writer.write(lambda tx: tx.record(entry))
    assert not future.done() and writer.inline == 0  # queued for the writer thread instead
    other.execute("COMMIT")
    other.close()
    future.result(timeout=30)
    assert entry.id in committed_ids(ledger.path)
    writer.close()


def test_write_now_commits_here_and_returns_the_result_or_the_error(ledger: Ledger) -> None:
    writer: LedgerWriter[None] = LedgerWriter(ledger)
    entry = row()

    def body(tx: LedgerTx) -> str:
        tx.record(entry)
        return entry.id

    assert writer.write_now(body) == entry.id  # no future: committed when it returns
    assert entry.id in committed_ids(ledger.path) and writer.inline == 1
    with pytest.raises(sqlite3.IntegrityError):  # its own failure, as the body raised it
        writer.write_now(body)
    assert writer.write_now(lambda tx: tx.record(row())) is None  # and it still works
    writer.close()


def test_write_now_does_nothing_when_the_file_or_the_writer_is_busy(ledger: Ledger) -> None:
    writer: LedgerWriter[None] = LedgerWriter(ledger)
    other = sqlite3.connect(ledger.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing: never waited for
    entry = row()
    with pytest.raises(WriterBusy):
        writer.write_now(lambda tx: tx.record(entry))
    queued = writer.submit(lambda tx: tx.record(row()))  # the writer thread waits for it
    with pytest.raises(WriterBusy):  # and a row never overtakes those queued before it
        writer.write_now(lambda tx: tx.record(entry))
    other.execute("COMMIT")
    other.close()
    queued.result(timeout=30)
    assert entry.id not in committed_ids(ledger.path) and writer.inline == 0
    writer.close()
    with pytest.raises(WriterBusy):  # closed: the caller's submit then says so
        writer.write_now(lambda tx: tx.record(entry))


def test_close_commits_what_is_queued_then_refuses(ledger: Ledger) -> None:
    writer: LedgerWriter[None] = LedgerWriter(ledger)
    futures = [writer.record(row()) for _ in range(200)]
    writer.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert len(committed_ids(ledger.path)) == 200
    with pytest.raises(LedgerError, match="closed"):
        writer.record(row())


def test_flush_waits_for_everything_submitted(ledger: Ledger) -> None:
    writer: LedgerWriter[None] = LedgerWriter(ledger)
    futures = [writer.record(row()) for _ in range(100)]
    assert writer.flush(timeout=30)
    assert all(f.done() for f in futures) and writer.pending == 0
    writer.close()


def test_the_status_after_each_batch_counts_its_rows(ledger: Ledger) -> None:
    guard = BudgetGuard(ledger, BudgetConfig(monthly_usd=Decimal("10")))
    writer: LedgerWriter[BudgetStatus] = LedgerWriter(ledger, after_batch=guard.status_in)
    for _ in range(3):
        writer.record(row("0.25")).result(timeout=30)
    assert writer.latest is not None
    assert writer.latest[1].spent == Decimal("0.75") == guard.status().spent
    writer.close()


def test_the_writer_thread_checkpoints_the_wal_not_the_commits(ledger: Ledger) -> None:
    writer: LedgerWriter[None] = LedgerWriter(ledger)
    for _ in range(CHECKPOINT_EVERY * 2 + 5):
        assert writer.write(lambda tx: tx.record(row())).done()  # inline, on this thread
    # the connection that committed them (this thread's for writes that never wait) never does
    inline = ledger._holder(_NOWAIT).conn
    assert inline.execute("PRAGMA wal_autocheckpoint").fetchall() == [(0,)]
    deadline = time.monotonic() + 30
    while writer.checkpoints < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.flush(30)
    assert writer.checkpoints >= 1  # the thread did, when it had nothing else to do
    busy, wal_pages, copied = ledger.read("PRAGMA wal_checkpoint(PASSIVE)")[0]
    assert busy == 0 and copied == wal_pages  # nothing left behind
    assert len(committed_ids(ledger.path)) == CHECKPOINT_EVERY * 2 + 5
    writer.close()
