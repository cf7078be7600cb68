"""Schema 3 → 4: a user's ledger gets the rollups keyed by action, in place, and every figure it
showed before is the same after. The schema-3 file and its figures were made by that version
(tests/data/make_ledger_v3.py): 400 requests over three days in eight actions, built-in and
custom, read through windows that cut hours; its action-filtered figures came from raw rows."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from tests.unit.cost.ledger_files import DATA, old_ledger

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.ledger import SCHEMA_VERSION, Ledger
from magray_lsp.dashboard import queries
from magray_lsp.dashboard.filters import Filters
from magray_lsp.dashboard.reader import LedgerReader, LedgerUnavailable
from magray_lsp.metrics import jsonable, summary

FIGURES: dict[str, list[dict[str, Any]]] = json.loads((DATA / "ledger_v3_figures.json").read_text())
#: what schema 3 had, which the upgrade must leave exactly as it was
KEPT = ("requests", "rollup", "rollup_latency", "rollup_attempts", "outages", "reservations")
TWINS = ("rollup_action", "rollup_latency_action", "rollup_attempts_action")


@pytest.fixture
def v3_file(tmp_path: Path) -> Path:
    return old_ledger(tmp_path / "ledger.sqlite3", 3)


def contents(path: Path, tables: tuple[str, ...]) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}
    finally:
        conn.close()


def test_the_upgrade_keeps_every_table_and_every_figure(v3_file: Path) -> None:
    before = contents(v3_file, KEPT)
    with Ledger(v3_file) as led:
        assert led.read("PRAGMA user_version") == [(SCHEMA_VERSION,)] and SCHEMA_VERSION == 7
        assert len(FIGURES["summary"]) == 18
        for case in FIGURES["summary"]:
            got = jsonable(
                summary(led, since=case["since"], until=case["until"], **case["filters"])
            )
            assert got == case["summary"], case["filters"]
    assert contents(v3_file, KEPT) == before


def test_the_dashboard_shows_the_same_after_the_upgrade(v3_file: Path) -> None:
    with pytest.raises(LedgerUnavailable, match="older than this magray-lsp"):
        LedgerReader(v3_file)  # a viewer never upgrades: the next server does
    Ledger(v3_file).close()
    reader = LedgerReader(v3_file)
    try:
        for case in FIGURES["dashboard"]:
            filters = Filters(
                range="custom", since=case["since"], until=case["until"], **case["filters"]
            )
            data = queries.dashboard(reader, filters, BudgetConfig(), now=case["until"] + 86400)
            assert data["totals"] == case["totals"], case["filters"]
            assert data["providers"] == case["providers"], case["filters"]
        # every action ever recorded is a filter choice, custom ones included
        assert data["options"]["actions"] == [
            "document", "explain", "fix", "hover", "refactor", "simplify", "tests"
        ]  # fmt: skip
    finally:
        reader.close()


def test_the_backfill_is_what_the_trigger_builds_row_by_row(v3_file: Path, tmp_path: Path) -> None:
    with Ledger(v3_file) as old:
        rows = old.recent(limit=10_000)
    assert len(rows) == 400 and len({r.action for r in rows}) == 7
    with Ledger(tmp_path / "fresh.sqlite3") as fresh:
        for row in sorted(rows, key=lambda r: r.ts):  # recorded one by one, in time order
            fresh.record(row)
    assert contents(v3_file, TWINS) == contents(tmp_path / "fresh.sqlite3", TWINS)
    assert all(contents(v3_file, TWINS).values())


def test_a_failed_upgrade_leaves_the_schema_3_file_as_it_was(
    v3_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from magray_lsp.cost.ledger import schema

    def broken(conn: sqlite3.Connection) -> None:
        schema._migrate_4_action_rollup(conn)
        raise sqlite3.OperationalError("disk I/O error")  # after the backfill, before commit

    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS[:2], broken))
    monkeypatch.setattr("magray_lsp.cost.ledger.store.MIGRATIONS", schema.MIGRATIONS)
    before = contents(v3_file, KEPT)
    with pytest.raises(Exception, match="disk I/O error"):
        Ledger(v3_file)
    conn = sqlite3.connect(v3_file)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert conn.execute("PRAGMA user_version").fetchone() == (3,)
    conn.close()
    assert not tables & set(TWINS)
    assert contents(v3_file, KEPT) == before


def test_a_server_opening_the_file_while_another_upgrades_it_waits(v3_file: Path) -> None:
    """The upgrade holds the write lock for seconds on a big ledger (about 10 s for a million
    rows): a second server opening the file meanwhile waits for it instead of failing its
    start-up after its ordinary busy timeout."""
    holder = sqlite3.connect(v3_file, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode = WAL")  # as every ledger file is
    holder.execute("BEGIN IMMEDIATE")  # as an upgrade in another process does
    released = threading.Timer(1.0, lambda: holder.execute("COMMIT"))
    released.start()
    try:
        with Ledger(v3_file, busy_timeout=0.1) as led:  # waits past its own 0.1 s
            assert led.read("PRAGMA user_version") == [(SCHEMA_VERSION,)]
            assert led.read("PRAGMA busy_timeout") == [(100,)]  # back to its own for writes
    finally:
        released.join()
        holder.close()
