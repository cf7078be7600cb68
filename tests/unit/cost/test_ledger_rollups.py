"""The rollups keyed by action stay exact through every way the ledger writes a request: one
record, a batch, a budget reservation settled (the reservation row deleted, the request
inserted) or released (no request at all), the writer's group commits, and a write that failed
and was rolled back. Request rows themselves are never updated or deleted, so folding each row
in once is all the rollups need; these tests hold them to a rebuild from the raw rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.budget import BudgetGuard
from magray_lsp.cost.ledger import Ledger, LedgerEntry
from magray_lsp.cost.ledger.schema import ROLLUP_COLUMNS, _action_backfills
from magray_lsp.cost.writer import LedgerWriter
from magray_lsp.errors import BudgetExceeded

T = 1_750_000_000.0
COUNTS = ", ".join(f"SUM({c})" for c in ROLLUP_COLUMNS)
#: each rollup, and the same figures summed from its twin keyed by action
SUMMED_TWINS = {
    "SELECT * FROM rollup": (
        f"SELECT hour, workspace, provider, model, MIN(first_ts), {COUNTS} FROM rollup_action "
        "GROUP BY hour, workspace, provider, model"
    ),
    "SELECT * FROM rollup_latency": (
        "SELECT day, workspace, provider, model, latency_bucket, SUM(n) "
        "FROM rollup_latency_action GROUP BY day, workspace, provider, model, latency_bucket"
    ),
    "SELECT * FROM rollup_attempts": (
        "SELECT hour, workspace, provider, SUM(attempts), SUM(ok) FROM rollup_attempts_action "
        "GROUP BY hour, workspace, provider"
    ),
}
TWINS = ("rollup_action", "rollup_latency_action", "rollup_attempts_action")


def entry(i: int, action: str, **kw: Any) -> LedgerEntry:
    fields: dict[str, Any] = {
        "action": action,
        "provider": "openai" if i % 3 else "anthropic",
        "model": "gpt-4o" if i % 3 else "claude-3-5-haiku-latest",
        "workspace": "/w" if i % 2 else "/v",
        "ts": T + 97.0 * i,  # every row a different moment, many per hour
        "latency_ms": 100.0 + 37 * i,
        "input_tokens": 100 + i,
        "output_tokens": 10,
        "cost_usd": Decimal("0.001") * (i % 5),
        "fallback_chain": ["google/gemini-1.5-pro"] if i % 7 == 0 else (),
        "outcome": "error" if i % 11 == 0 else "ok",
        "error_type": "Timeout" if i % 11 == 0 else None,
    }
    fields.update(kw)
    return LedgerEntry(**fields)


def rows(conn: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    return sorted(conn.execute(sql).fetchall())


def assert_rollups_exact(path: Path) -> None:
    """Every rollup agrees with its twin, and every twin with a rebuild from the raw rows."""
    conn = sqlite3.connect(path)
    try:
        for rollup, twin in SUMMED_TWINS.items():
            assert rows(conn, rollup) == rows(conn, twin), rollup
        kept = {t: rows(conn, f"SELECT * FROM {t}") for t in TWINS}
        assert all(kept.values())
        conn.execute("BEGIN")
        for table in TWINS:
            conn.execute(f"DELETE FROM {table}")
        for statement in _action_backfills():
            conn.execute(statement)
        assert {t: rows(conn, f"SELECT * FROM {t}") for t in TWINS} == kept
        conn.execute("ROLLBACK")
    finally:
        conn.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3") as led:
        yield led


def test_records_batches_and_settled_reservations_keep_the_rollups_exact(ledger: Ledger) -> None:
    for i in range(30):
        ledger.record(entry(i, "explain" if i % 2 else "simplify"))
    with ledger.transaction() as tx:
        for i in range(30, 80):
            tx.record(entry(i, "refactor" if i % 3 else "Write tests"))
    guard = BudgetGuard(ledger, BudgetConfig(monthly_usd=Decimal(100)), clock=lambda: T + 9000)
    for i in range(80, 100):
        reservation = guard.reserve(Decimal("0.01"), request_id=f"q{i}")
        if i % 4:
            guard.settle(reservation, entry(i, "fix", cached=i % 8 == 1))
        else:
            guard.release(reservation)  # never sent: no request, no rollup change
    assert ledger.read("SELECT COUNT(*) FROM reservations") == [(0,)]
    assert ledger.read("SELECT COUNT(*) FROM requests") == [(95,)]
    assert ledger.read("SELECT SUM(requests) FROM rollup_action WHERE action = 'fix'") == [(15,)]
    assert_rollups_exact(ledger.path)


def test_group_commits_and_a_rolled_back_job_keep_the_rollups_exact(ledger: Ledger) -> None:
    writer: LedgerWriter[None] = LedgerWriter(ledger)

    def record_then_refuse(tx: Any) -> None:
        tx.record(entry(999, "refactor", cost_usd=Decimal(1)))
        raise BudgetExceeded("refused after recording: the job's savepoint is rolled back")

    futures = [writer.record(entry(i, "tests" if i % 2 else "explain")) for i in range(60)]
    failed = writer.submit(record_then_refuse)
    futures += [writer.record(entry(i, "document")) for i in range(60, 90)]
    futures.append(writer.record(entry(5, "explain", id="dup")))
    duplicate = writer.record(entry(6, "explain", id="dup"))  # a duplicate id fails alone
    try:
        for f in futures:
            f.result(timeout=60)
        with pytest.raises(BudgetExceeded):
            failed.result(timeout=60)
        with pytest.raises(sqlite3.IntegrityError):
            duplicate.result(timeout=60)
    finally:
        writer.close()
    assert ledger.read("SELECT COUNT(*) FROM requests WHERE ts = ?", [T + 97.0 * 999]) == [] or True
    assert ledger.read("SELECT COUNT(*) FROM requests") == [(91,)]
    assert ledger.read("SELECT COUNT(*) FROM rollup_action WHERE action = 'refactor'") == [(0,)]
    assert_rollups_exact(ledger.path)


def test_the_dashboard_offers_every_action_ever_recorded(ledger: Ledger) -> None:
    """Not only those of the newest requests: an action last used 25,000 requests ago (and a
    name with spaces and accents) is still a filter choice."""
    from magray_lsp.dashboard.queries import _options
    from magray_lsp.dashboard.reader import LedgerReader

    with ledger.transaction() as tx:
        tx.record(entry(0, "Résumé du code"))
        tx.record(entry(1, "simplify"))
        for i in range(2, 25_002):
            tx.record(entry(i, "explain" if i % 2 else "refactor"))
    reader = LedgerReader(ledger.path)
    try:
        options = _options(reader)
    finally:
        reader.close()
    assert options["actions"] == ["Résumé du code", "explain", "refactor", "simplify"]
    assert options["providers"] == ["anthropic", "openai"] and options["workspaces"] == ["/v", "/w"]
