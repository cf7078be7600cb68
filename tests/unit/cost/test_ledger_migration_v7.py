"""Schema 6 → 7: the `journal_folded` table (where each process's row journal is folded up to).
The schema-6 file was written by that version (tests/data/make_ledger_v6.py): 160 rows, 40 of
them not folded into the rollups yet, an open outage and a reservation in flight. The upgrade
keeps every table as it was, gives the file the schema of a fresh one, and a journal's rows
and offset then go in together."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.cost.ledger_files import SCHEMA_4_TABLES, old_ledger
from tests.unit.cost.test_ledger_migration import schema
from tests.unit.cost.test_ledger_migration_v4 import contents
from tests.unit.cost.test_ledger_rollups import assert_rollups_exact

from magray_lsp.cost.ledger import SCHEMA_VERSION, Ledger, LedgerEntry, LedgerTx

TABLES = (*SCHEMA_4_TABLES, "rollup_folded")


@pytest.fixture
def v6_file(tmp_path: Path) -> Path:
    return old_ledger(tmp_path / "ledger.sqlite3", 6)


def test_the_upgrade_keeps_every_table_and_adds_an_empty_journal_table(v6_file: Path) -> None:
    before = contents(v6_file, TABLES)
    assert len(before["requests"]) == 160 and len(before["reservations"]) == 1
    with Ledger(v6_file) as led:
        assert led.read("PRAGMA user_version") == [(SCHEMA_VERSION,)] and SCHEMA_VERSION == 7
        assert led.read("SELECT * FROM journal_folded") == []
    assert contents(v6_file, TABLES) == before


def test_the_upgraded_file_has_the_schema_of_a_fresh_one(v6_file: Path, tmp_path: Path) -> None:
    Ledger(v6_file).close()
    Ledger(tmp_path / "fresh.sqlite3").close()
    upgraded = schema(v6_file)
    assert upgraded == schema(tmp_path / "fresh.sqlite3")
    assert ("name", "TEXT", 0, 1) in upgraded["journal_folded"]  # type: ignore[operator]


def test_rows_and_their_journal_offset_commit_together_on_the_upgraded_file(
    v6_file: Path,
) -> None:
    entry = LedgerEntry(action="explain", provider="openai", model="gpt-4o-mini", ts=1.75e9)
    with Ledger(v6_file) as led:

        def body(tx: LedgerTx) -> None:
            tx.record(entry)
            tx.journal_folded("123-ab.log", 77)
            raise RuntimeError("crash before the commit")

        with pytest.raises(RuntimeError):
            led.append(body)
        assert led.read("SELECT COUNT(*) FROM journal_folded") == [(0,)]
        assert led.read("SELECT COUNT(*) FROM requests WHERE id = ?", (entry.id,)) == [(0,)]

        def both(tx: LedgerTx) -> None:
            tx.record(entry)
            tx.journal_folded("123-ab.log", 77)

        led.append(both)
        assert led.read("SELECT name, upto FROM journal_folded") == [("123-ab.log", 77)]
        led.append(lambda tx: tx.journal_folded("123-ab.log", 150))
        assert led.read("SELECT name, upto FROM journal_folded") == [("123-ab.log", 150)]
        assert led.fold() == 40 + 1
    assert_rollups_exact(v6_file)
