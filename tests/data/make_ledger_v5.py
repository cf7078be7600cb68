"""Writes tests/data/ledger_v5.sql: a schema-5 ledger as magray-lsp wrote it while its outages
trigger ran its body for every row. 160 requests over two providers' outages (errors, fallback
chains, answers that close them, cache hits), the last 40 not folded into the rollups yet, and
one outage still open. Run with a schema-5 magray-lsp (commit 57a418f) first on the path:
``PYTHONPATH=<that checkout>/server python tests/data/make_ledger_v5.py``. Kept for the record;
tests/unit/cost/test_ledger_migration_v6.py only reads its output."""

from __future__ import annotations

import random
import sqlite3
import tempfile
from decimal import Decimal
from pathlib import Path

from magray_lsp.cost.ledger import SCHEMA_VERSION, Ledger, LedgerEntry

HERE = Path(__file__).resolve().parent
T0 = 1_750_001_234.5
MODELS = [("openai", "gpt-4o-mini"), ("anthropic", "claude-3-5-haiku-latest"), ("ollama", "x")]
ERRORS = ["RateLimited", "Timeout", "ServerError", "BadRequest", "ContentFiltered"]


def entries() -> list[LedgerEntry]:
    rng = random.Random(5)
    out = []
    for i in range(160):
        provider, model = rng.choice(MODELS)
        outcome = rng.choices(["ok", "error", "cancelled"], [70, 25, 5])[0]
        cached = outcome == "ok" and rng.random() < 0.15
        others = [f"{p}/{m}" for p, m in MODELS if p != provider]
        chain = rng.sample(others, rng.choice([0, 0, 0, 1, 2])) if not cached else []
        out.append(
            LedgerEntry(
                id=f"r{i:03d}",
                action=rng.choice(["explain", "document", "fix"]),
                provider=provider,
                model=model,
                outcome=outcome,
                workspace="/w/a",
                input_tokens=0 if cached else rng.randint(100, 4000),
                output_tokens=0 if cached or outcome != "ok" else rng.randint(10, 600),
                cost_usd=Decimal(0) if cached else Decimal(rng.randint(1, 9000)).scaleb(-7),
                latency_ms=float(rng.randint(50, 4000)),
                cached=cached,
                fallback_chain=chain,
                error_type=rng.choice(ERRORS) if outcome == "error" else None,
                ts=T0 + i * 97.0,
            )
        )
    return out


def main() -> None:
    assert SCHEMA_VERSION == 5, "run with a schema-5 magray-lsp first on the path"
    rows = entries()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite3"
        with Ledger(path) as led:
            for e in rows[:120]:
                led.write(lambda tx, e=e: tx.record(e))  # folded with their commits
            for e in rows[120:]:
                led.append(lambda tx, e=e: tx.record(e))  # not folded yet
            assert led.read("SELECT COUNT(*) FROM outages WHERE ended IS NULL")[0][0] >= 1
        conn = sqlite3.connect(path)
        dump = "\n".join(conn.iterdump())
        conn.close()
    (HERE / "ledger_v5.sql").write_text(dump + "\n")


if __name__ == "__main__":
    main()
