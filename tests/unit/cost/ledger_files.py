"""Ledger files as earlier schemas wrote them (tests/data/ledger_v*.sql, dumped by those
versions), for the migration tests: one place that turns a dump into a file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data"


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
