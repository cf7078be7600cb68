"""Writes tests/data/ledger_v6.sql: a schema-6 ledger as magray-lsp wrote it before the row
journal (schema 7). 160 requests over two providers' outages, the last 40 not folded into the
rollups yet, one outage still open, and one reservation of a request in flight. Run with a
schema-6 magray-lsp (commit a084fcb) first on the path:
``PYTHONPATH=<that checkout>/server python tests/data/make_ledger_v6.py``. Kept for the record;
tests/unit/cost/test_ledger_migration_v7.py only reads its output."""

from __future__ import annotations

import sqlite3
import tempfile
from decimal import Decimal
from pathlib import Path

from make_ledger_v5 import entries  # the same rows as the schema-5 file

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.budget import BudgetGuard
from magray_lsp.cost.ledger import SCHEMA_VERSION, Ledger

HERE = Path(__file__).resolve().parent


def main() -> None:
    assert SCHEMA_VERSION == 6, "run with a schema-6 magray-lsp first on the path"
    rows = entries()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite3"
        with Ledger(path) as led:
            for e in rows[:120]:
                led.write(lambda tx, e=e: tx.record(e))  # folded with their commits
            guard = BudgetGuard(led, BudgetConfig(monthly_usd=Decimal(10)), clock=lambda: 4e9)
            guard.reserve(Decimal("0.25"), request_id="in-flight")  # (a write: folds first)
            for e in rows[120:]:
                led.append(lambda tx, e=e: tx.record(e))  # not folded yet
        conn = sqlite3.connect(path)
        dump = "\n".join(conn.iterdump())
        conn.close()
    (HERE / "ledger_v6.sql").write_text(dump + "\n")


if __name__ == "__main__":
    main()
