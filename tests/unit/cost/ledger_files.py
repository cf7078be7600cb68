"""Ledger files as earlier schemas wrote them (tests/data/ledger_v*.sql, dumped by those
versions), for the migration tests: one place that turns a dump into a file. And `recording`,
the write of one entry that the ledger tests hand to `Ledger.append` and the writer."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from magray_lsp.cost.ledger import LedgerEntry, LedgerTx

DATA = Path(__file__).resolve().parents[2] / "data"
#: the tables of a schema-4 ledger (later schemas keep them as they were, and add their own)
SCHEMA_4_TABLES = (
    "requests",
    "rollup",
    "rollup_latency",
    "rollup_attempts",
    "rollup_action",
    "rollup_latency_action",
    "rollup_attempts_action",
    "outages",
    "reservations",
)


def old_ledger(path: Path, version: int) -> Path:
    """``path`` made from the dump of a schema-``version`` ledger, marked with that version
    (a dump does not carry ``user_version``)."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript((DATA / f"ledger_v{version}.sql").read_text())
        conn.execute(f"PRAGMA user_version = {version}")
    finally:
        conn.close()
    return path


def recording(entry: LedgerEntry) -> Callable[[LedgerTx], None]:
    """A ledger write that records ``entry`` (bound now, not when the loop variable moves on)."""
    return lambda tx: tx.record(entry)
