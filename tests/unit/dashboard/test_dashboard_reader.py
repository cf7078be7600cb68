"""The read-only ledger view: every way a ledger file can be unusable has its own clear error,
and looking never changes the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from tests.dashboard import seed

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.ledger import Ledger, LedgerEntry, LedgerError
from magray_lsp.dashboard import queries
from magray_lsp.dashboard.filters import parse_filters
from magray_lsp.dashboard.reader import LedgerReader, LedgerUnavailable


def reason_for(path: Path) -> LedgerUnavailable:
    with pytest.raises(LedgerUnavailable) as caught:
        LedgerReader(path, busy_timeout=0.2).close()
    assert str(path) in str(caught.value)
    return caught.value


def test_missing_file(tmp_path: Path) -> None:
    err = reason_for(tmp_path / "nope.sqlite3")
    assert err.reason == "missing"
    assert not (tmp_path / "nope.sqlite3").exists()  # not created by looking


def test_corrupt_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "bad.sqlite3"
    path.write_bytes(b"not sqlite at all " * 300)
    err = reason_for(path)
    assert err.reason == "corrupt" and "damaged" in str(err)
    assert path.read_bytes() == b"not sqlite at all " * 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.sqlite3"]  # not moved aside


def test_a_database_that_is_not_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (x)")
    assert reason_for(path).reason == "not_a_ledger"


def test_a_ledger_from_a_newer_magray(tmp_path: Path) -> None:
    path = seed.seed_ledger(tmp_path / "l.sqlite3", seed.SEED[:1])
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    err = reason_for(path)
    assert err.reason == "too_new" and "upgrade magray-lsp" in str(err)


def test_a_ledger_locked_by_another_process(tmp_path: Path) -> None:
    path = seed.seed_ledger(tmp_path / "l.sqlite3", seed.SEED[:1])
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        err = reason_for(path)
        assert err.reason == "locked" and "locked by another process" in str(err)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    LedgerReader(path).close()  # readable again once the lock is gone


def test_reading_never_writes(tmp_path: Path) -> None:
    path = seed.seed_ledger(tmp_path / "l.sqlite3")
    with Ledger(path) as ledger:
        before = ledger.read("SELECT COUNT(*), SUM(requests) FROM requests, rollup")
    reader = LedgerReader(path)
    try:
        data = queries.dashboard(
            reader, parse_filters({"range": "all"}, seed.NOW), BudgetConfig(), now=seed.NOW
        )
        assert data["totals"]["requests"] == len(seed.SEED)
        with pytest.raises(LedgerError, match="read-only"):
            reader.record(LedgerEntry(action="explain", provider="p", model="m"))
        with pytest.raises(LedgerUnavailable, match=r"readonly|read-only"):
            reader.read("DELETE FROM requests")
    finally:
        reader.close()
    with Ledger(path) as ledger:
        assert ledger.read("SELECT COUNT(*), SUM(requests) FROM requests, rollup") == before
