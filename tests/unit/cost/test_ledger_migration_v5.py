"""Schema 4 → 5: the rollups stop being kept by a trigger inside each row's transaction and are
folded afterwards; a user's ledger keeps every row, every rollup and every figure it showed.
The schema-4 file and its figures were made by that version (tests/data/make_ledger_v4.py):
400 requests over three days in eight actions, read through windows that cut hours."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.unit.cost.ledger_files import DATA, SCHEMA_4_TABLES, old_ledger, recording
from tests.unit.cost.test_ledger_migration import schema
from tests.unit.cost.test_ledger_migration_v4 import contents
from tests.unit.cost.test_ledger_rollups import assert_rollups_exact, entry

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.ledger import SCHEMA_VERSION, Ledger
from magray_lsp.dashboard import queries
from magray_lsp.dashboard.filters import Filters
from magray_lsp.dashboard.reader import LedgerReader
from magray_lsp.metrics import jsonable, summary

FIGURES: dict[str, list[dict[str, Any]]] = json.loads((DATA / "ledger_v4_figures.json").read_text())
#: what schema 4 had, which the upgrade must leave exactly as it was
KEPT = SCHEMA_4_TABLES


@pytest.fixture
def v4_file(tmp_path: Path) -> Path:
    return old_ledger(tmp_path / "ledger.sqlite3", 4)


def test_the_upgrade_keeps_every_table_and_every_figure(v4_file: Path) -> None:
    before = contents(v4_file, KEPT)
    with Ledger(v4_file) as led:
        assert led.read("PRAGMA user_version") == [(SCHEMA_VERSION,)] and SCHEMA_VERSION == 7
        # every row was already in the rollups: the watermark starts past the last one
        assert led.read("SELECT upto FROM rollup_folded") == [(400,)]
        assert len(FIGURES["summary"]) == 18
        for case in FIGURES["summary"]:
            got = jsonable(
                summary(led, since=case["since"], until=case["until"], **case["filters"])
            )
            assert got == case["summary"], case["filters"]
    assert contents(v4_file, KEPT) == before


def test_the_upgraded_file_has_the_schema_of_a_fresh_one(v4_file: Path, tmp_path: Path) -> None:
    Ledger(v4_file).close()
    Ledger(tmp_path / "fresh.sqlite3").close()
    upgraded, fresh = schema(v4_file), schema(tmp_path / "fresh.sqlite3")
    assert upgraded == fresh
    assert [name for name, _ in upgraded["trigger"]] == ["requests_outages"]  # type: ignore[attr-defined]


def test_the_dashboard_shows_the_same_after_the_upgrade(v4_file: Path) -> None:
    Ledger(v4_file).close()
    reader = LedgerReader(v4_file)
    try:
        for case in FIGURES["dashboard"]:
            filters = Filters(
                range="custom", since=case["since"], until=case["until"], **case["filters"]
            )
            data = queries.dashboard(reader, filters, BudgetConfig(), now=case["until"] + 86400)
            assert data["totals"] == case["totals"], case["filters"]
            assert data["providers"] == case["providers"], case["filters"]
    finally:
        reader.close()


def test_rows_written_after_the_upgrade_are_counted_then_folded_exactly(v4_file: Path) -> None:
    with Ledger(v4_file) as led:
        before = led.month_spend(now=1_750_001_234.5)
        for i in range(30):  # appended: not in the rollups yet
            led.append(recording(entry(i, "fix", ts=1_750_001_234.5 + 60 * i)))
        added = sum((Decimal("0.001") * (i % 5) for i in range(30)), Decimal(0))
        assert led.read("SELECT upto FROM rollup_folded") == [(400,)]
        assert led.month_spend(now=1_750_001_234.5) == before + added
        assert led.fold() == 30
        assert led.month_spend(now=1_750_001_234.5) == before + added
    assert_rollups_exact(v4_file)


def test_a_failed_upgrade_leaves_the_schema_4_file_as_it_was(
    v4_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from magray_lsp.cost.ledger import schema as ledger_schema

    def broken(conn: sqlite3.Connection) -> None:
        ledger_schema._migrate_5_folds(conn)
        raise sqlite3.OperationalError("disk I/O error")  # after the change, before commit

    migrations = (*ledger_schema.MIGRATIONS[:3], broken)
    monkeypatch.setattr("magray_lsp.cost.ledger.store.MIGRATIONS", migrations)
    before = contents(v4_file, KEPT)
    with pytest.raises(Exception, match="disk I/O error"):
        Ledger(v4_file)
    conn = sqlite3.connect(v4_file)
    triggers = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
    assert conn.execute("PRAGMA user_version").fetchone() == (4,)
    conn.close()
    assert triggers == ["requests_rollup"]  # the old trigger still keeps its rollups
    assert contents(v4_file, KEPT) == before


def test_folding_every_row_from_scratch_rebuilds_what_the_old_trigger_kept(v4_file: Path) -> None:
    """The schema-4 trigger added each row to the rollups on its own; the folds add them a
    batch at a time with set-based SQL: from the same rows, the same rollups, to the last one."""
    rollups = KEPT[1:7]
    kept = contents(v4_file, rollups)
    assert all(kept.values())
    with Ledger(v4_file) as led:
        with led.transaction() as tx:
            for table in rollups:
                tx.execute(f"DELETE FROM {table}")
            tx.execute("UPDATE rollup_folded SET upto = 0")
            assert tx.fold(limit=150) == 150  # in three batches, as the writer thread would
            assert tx.fold(limit=150) == 150
            # (and the transaction's own fold takes the last 100)
    assert contents(v4_file, rollups) == kept
