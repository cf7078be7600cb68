"""The usage ledger on real SQLite files: schema, history, exact money, concurrency, recovery."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from magray_lsp.cost.ledger import (
    SCHEMA_VERSION,
    Ledger,
    LedgerBusy,
    LedgerEntry,
    LedgerError,
    default_ledger_path,
    from_pico,
    month_bounds,
    to_pico,
)
from magray_lsp.errors import MagrayError

WORKER = Path(__file__).with_name("_worker.py")


def entry(**kw: object) -> LedgerEntry:
    fields: dict[str, object] = {"action": "explain", "provider": "openai", "model": "gpt-4o-mini"}
    fields.update(kw)
    return LedgerEntry(**fields)  # type: ignore[arg-type]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(tmp_path / "ledger.sqlite3")
    yield led
    led.close()


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


# --- schema ---------------------------------------------------------------------------------------


def test_schema_is_created_on_first_open_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "ledger.sqlite3"
    Ledger(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"requests", "reservations", "rollup", "rollup_latency", "outages"} <= tables
        columns = {r[1] for r in conn.execute("PRAGMA table_info(requests)")}
    finally:
        conn.close()
    # The ledger has nowhere to put a prompt, a completion or code.
    assert not {c for c in columns if any(w in c for w in ("prompt", "code", "text", "content"))}


def test_reopening_keeps_history_and_connection_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as first:
        first.record(entry(cost_usd=Decimal("0.5")))
    with Ledger(path, busy_timeout=2.5) as again:
        assert len(again.recent(10)) == 1
        assert again.read("PRAGMA busy_timeout")[0][0] == 2500
        assert again.read("PRAGMA synchronous")[0][0] == 1  # NORMAL


def test_default_path_follows_xdg_data_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_ledger_path() == tmp_path / "data" / "magray" / "ledger.sqlite3"
    with Ledger() as led:
        assert led.path == default_ledger_path()
        assert led.path.exists()


def test_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(LedgerError, match="newer than this magray-lsp") as info:
        Ledger(path)
    assert str(path) in str(info.value)


def test_unusable_location_is_a_magray_error_naming_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(MagrayError, match="not-a-dir"):
        Ledger(blocker / "ledger.sqlite3")


# --- record / recent ------------------------------------------------------------------------------


def test_record_and_recent_round_trip_every_field(ledger: Ledger) -> None:
    full = entry(
        workspace="/w/proj",
        action="refactor",
        source_path="/w/proj/src/app.py",
        provider="anthropic",
        model="claude-3-5-haiku-latest",
        input_tokens=1200,
        output_tokens=340,
        cached_input_tokens=1000,
        cost_usd=Decimal("0.00123456789012345"),
        estimated_usd=Decimal("0.002"),
        latency_ms=812.5,
        first_token_ms=120.25,
        cached=False,
        fallback_chain=["openai/gpt-4o", "google/gemini-2.0-flash"],
        outcome="ok",
        ts=1_700_000_000.125,
    )
    ledger.record(full)
    (back,) = ledger.recent(5)
    assert back == full
    assert back.cost_usd == Decimal("0.00123456789012345")  # exact, not a float
    assert back.fallback_chain == ("openai/gpt-4o", "google/gemini-2.0-flash")
    assert len(back.id) == 32


def test_recent_is_newest_first_limited_and_filtered_by_since(ledger: Ledger) -> None:
    for i in range(10):
        ledger.record(entry(ts=1000.0 + i, latency_ms=float(i)))
    assert [e.ts for e in ledger.recent(3)] == [1009.0, 1008.0, 1007.0]
    assert [e.ts for e in ledger.recent(100, since=1007.0)] == [1009.0, 1008.0, 1007.0]
    assert ledger.recent(0) == []


def test_errors_cancellations_and_refusals_are_history_too(ledger: Ledger) -> None:
    ledger.record(entry(outcome="error", error_type="RateLimited", latency_ms=30.0))
    ledger.record(entry(outcome="cancelled", output_tokens=17, cost_usd=Decimal("0.00001")))
    ledger.record(entry(outcome="budget_refused", estimated_usd=Decimal("0.05")))
    outcomes = sorted(e.outcome for e in ledger.recent(10))
    assert outcomes == ["budget_refused", "cancelled", "error"]
    assert {e.error_type for e in ledger.recent(10)} == {"RateLimited", None}


def test_invalid_entries_are_rejected_before_touching_the_file(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="outcome"):
        entry(outcome="maybe")
    with pytest.raises(ValueError, match="non-negative"):
        ledger.record(entry(cost_usd=Decimal("-1")))
    with pytest.raises(ValueError, match="finite"):
        ledger.record(entry(cost_usd=Decimal("NaN")))
    assert ledger.recent(10) == []


def test_a_duplicate_id_is_a_ledger_error(ledger: Ledger) -> None:
    one = entry()
    ledger.record(one)
    with pytest.raises(LedgerError, match=r"ledger\.sqlite3"):
        ledger.record(one)
    assert len(ledger.recent(10)) == 1


def test_closed_ledger_says_so(tmp_path: Path) -> None:
    led = Ledger(tmp_path / "ledger.sqlite3")
    led.close()
    with pytest.raises(LedgerError, match="closed"):
        led.recent(1)


# --- money ----------------------------------------------------------------------------------------


def test_ten_thousand_hundredths_of_a_cent_make_exactly_one_dollar(ledger: Ledger) -> None:
    now = ts(2025, 3, 15)
    with ledger.transaction() as tx:
        for i in range(10_000):
            tx.record(entry(cost_usd=Decimal("0.0001"), ts=now + i))
    spent = ledger.month_spend(now)
    assert spent == Decimal(1)
    assert str(spent) == "1"
    assert sum((e.cost_usd or Decimal(0) for e in ledger.recent(10_000)), Decimal(0)) == 1


def test_sub_micro_dollar_costs_add_up_exactly(ledger: Ledger) -> None:
    # One gpt-4o-mini input token: $0.15 per million.
    now = ts(2025, 3, 15)
    for i in range(7):
        ledger.record(entry(cost_usd=Decimal("0.00000015"), ts=now + i))
    assert ledger.month_spend(now) == Decimal("0.00000105")


def test_pico_conversion_rounds_up_and_back_is_exact() -> None:
    assert to_pico(Decimal("0.0001")) == 100_000_000
    assert to_pico(Decimal("1e-13")) == 1  # never under-count spend
    assert from_pico(20 * 10**12) == Decimal("20")
    assert str(from_pico(20 * 10**12)) == "20"
    assert from_pico(150_000) == Decimal("0.00000015")
    assert from_pico(19_980_000_000_000) == Decimal("19.98")


def test_unknown_prices_are_not_zero_and_are_counted_apart(ledger: Ledger) -> None:
    now = ts(2025, 3, 15)
    ledger.record(entry(cost_usd=None, input_tokens=100, output_tokens=10, ts=now))
    ledger.record(entry(cost_usd=Decimal("0.25"), ts=now + 1))
    ledger.record(entry(cost_usd=None, outcome="error", ts=now + 2))  # no tokens: nothing unpriced
    assert ledger.month_spend(now) == Decimal("0.25")
    assert ledger.month_unpriced(now) == 1
    assert [e.cost_usd for e in ledger.recent(3)] == [None, Decimal("0.25"), None]


def test_month_spend_is_the_utc_calendar_month_across_new_year(ledger: Ledger) -> None:
    last_of_dec = ts(2024, 12, 31, 23, 59, 59) + 0.999
    first_of_jan = ts(2025, 1, 1)
    ledger.record(entry(cost_usd=Decimal("1.10"), ts=ts(2024, 12, 1)))
    ledger.record(entry(cost_usd=Decimal("2.20"), ts=last_of_dec))
    ledger.record(entry(cost_usd=Decimal("3.30"), ts=first_of_jan))
    ledger.record(entry(cost_usd=Decimal("4.40"), ts=ts(2025, 1, 31, 23, 59, 59)))
    ledger.record(entry(cost_usd=Decimal("5.50"), ts=ts(2025, 2, 1)))
    assert ledger.month_spend(ts(2024, 12, 15)) == Decimal("3.30")
    assert ledger.month_spend(datetime(2025, 1, 1, tzinfo=UTC)) == Decimal("7.70")
    assert ledger.month_spend(first_of_jan - 0.5) == Decimal("3.30")
    assert ledger.month_spend(ts(2025, 2, 28)) == Decimal("5.50")
    assert ledger.month_spend(ts(2025, 3, 1)) == Decimal(0)
    assert month_bounds(ts(2024, 12, 31)) == (ts(2024, 12, 1), ts(2025, 1, 1))


def test_month_spend_defaults_to_now(ledger: Ledger) -> None:
    ledger.record(entry(cost_usd=Decimal("0.42")))
    assert ledger.month_spend() == Decimal("0.42")


# --- concurrency ----------------------------------------------------------------------------------


def test_threads_write_concurrently_without_lock_errors(ledger: Ledger) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer() -> None:
        start.wait()
        try:
            for _ in range(100):
                ledger.record(entry(cost_usd=Decimal("0.0001")))
                ledger.recent(1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ledger.read("SELECT COUNT(*) FROM requests")[0][0] == 800
    assert ledger.month_spend() == Decimal("0.08")


def run_workers(args: list[list[str]], go: Path) -> list[dict[str, list[str]]]:
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), *a], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for a in args
    ]
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        results.append(json.loads(out))
    return results


def test_four_processes_write_one_file_without_lock_errors(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    go = tmp_path / "go"
    results = run_workers([["record", str(path), "250", str(go)] for _ in range(4)], go)
    assert [r["errors"] for r in results] == [[], [], [], []]
    with Ledger(path) as led:
        assert led.read("SELECT COUNT(*) FROM requests")[0][0] == 1000
        assert led.month_spend() == Decimal("0.1")
        assert led.read("SELECT SUM(requests) FROM rollup")[0][0] == 1000


def test_processes_racing_to_create_a_new_file_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "ledger.sqlite3"
    go = tmp_path / "go"
    go.touch()  # no waiting: all six open the missing file at once
    results = run_workers([["record", str(path), "5", str(go)] for _ in range(6)], go)
    assert all(r["errors"] == [] for r in results)
    with Ledger(path) as led:
        assert len(led.recent(100)) == 30


# --- damaged or busy files ------------------------------------------------------------------------


def test_corrupt_file_is_moved_aside_and_a_fresh_ledger_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not a database, it is garbage " * 200)
    with caplog.at_level(logging.WARNING, logger="magray_lsp.cost.ledger"):
        led = Ledger(path)
    try:
        (aside,) = tmp_path.glob("ledger.sqlite3.corrupt-*Z")
        assert aside.read_bytes().startswith(b"this is not a database")
        assert led.warnings and str(aside) in led.warnings[0] and str(path) in led.warnings[0]
        assert any("corrupt" in r.getMessage() for r in caplog.records)
        led.record(entry(cost_usd=Decimal("0.01")))
        assert led.month_spend() == Decimal("0.01")
    finally:
        led.close()


def test_a_healthy_file_is_never_moved(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger(path).close()
    with Ledger(path) as led:
        assert led.warnings == []
    assert list(tmp_path.glob("*.corrupt-*")) == []


def test_damage_found_while_running_is_moved_aside_too(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    led = Ledger(path)
    other = Ledger(path)  # another server sharing the file
    try:
        with led.transaction() as tx:
            for i in range(2000):
                tx.record(entry(ts=1000.0 + i, source_path="/x" * 50))
        led.close()
        other.close()
        led, other = Ledger(path), Ledger(path)  # both open cleanly: the schema pages are intact
        assert led.warnings == [] and len(other.recent(1)) == 1
        data = bytearray(path.read_bytes())
        page = led.read("PRAGMA page_size")[0][0]
        for offset in range(len(data) // 2 // page * page, len(data), page):
            data[offset : offset + page] = b"\xff" * page  # smash data pages behind their backs
        path.write_bytes(bytes(data))

        assert led.recent(5000) == []  # found damage, moved the file aside, read the fresh one
        (aside,) = tmp_path.glob("ledger.sqlite3.corrupt-*Z")
        assert str(aside) in led.warnings[0]
        # The other server follows the path to the fresh file instead of writing to the old one.
        other.record(entry(cost_usd=Decimal("0.02")))
        assert [e.cost_usd for e in led.recent(10)] == [Decimal("0.02")]
        assert other.warnings == []
    finally:
        led.close()
        other.close()


def test_a_deleted_ledger_is_recreated(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as led:
        led.record(entry())
        for p in tmp_path.glob("ledger.sqlite3*"):
            p.unlink()
        led.record(entry(cost_usd=Decimal("0.01")))
        assert [e.cost_usd for e in led.recent(10)] == [Decimal("0.01")]
    assert path.exists()


def test_a_deleted_ledger_is_recreated_for_writes_that_never_wait_too(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as led:
        led.append(lambda tx: tx.record(entry()), nowait=True)
        for p in tmp_path.glob("ledger.sqlite3*"):
            p.unlink()
        led.append(lambda tx: tx.record(entry(cost_usd=Decimal("0.01"))), nowait=True)
        assert [e.cost_usd for e in led.recent(10)] == [Decimal("0.01")]


def test_writes_that_never_wait_change_no_busy_timeout(tmp_path: Path) -> None:
    """``append(nowait=True)`` has a connection of its own whose busy timeout stays 0: its commits
    run no PRAGMA, and this thread's other connection still waits for a lock held a while."""
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as led:
        led.append(lambda tx: tx.record(entry()), nowait=True)
        statements: list[str] = []
        for holder in led._holders:
            holder.conn.set_trace_callback(statements.append)
        led.append(lambda tx: tx.record(entry()), nowait=True)
        words = [s.split()[0].upper() for s in statements]
        assert words[0] == "BEGIN" and words[-1] == "COMMIT" and "PRAGMA" not in words
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(LedgerBusy):
                led.append(lambda tx: tx.record(entry()), nowait=True)
            threading.Timer(0.3, other.execute, ("ROLLBACK",)).start()
            led.record(entry())  # waits for the lock, then writes
        finally:
            other.close()
        assert len(led.recent(10)) == 3


def test_a_lock_held_too_long_is_a_ledger_busy_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    led = Ledger(path, busy_timeout=0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(LedgerBusy, match=r"locked by another process for 0\.2 s") as info:
            led.record(entry())
        assert str(path) in str(info.value)
        assert led.recent(1) == []  # readers are not blocked by a writer under WAL
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    led.record(entry())
    led.close()


def test_connections_of_finished_threads_are_closed(ledger: Ledger) -> None:
    import gc

    def use() -> None:
        ledger.recent(1)

    for _ in range(20):
        t = threading.Thread(target=use)
        t.start()
        t.join()
    gc.collect()
    assert len(ledger._holders) <= 2  # the fixture's thread, maybe one not yet collected


def test_snapshot_reads_one_state_while_others_write(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as reader, Ledger(path) as writer:
        writer.record(entry())
        with reader.snapshot():
            assert len(reader.recent(10)) == 1
            writer.record(entry())  # a writer is never blocked by the snapshot
            assert len(reader.recent(10)) == 1
        assert len(reader.recent(10)) == 2
