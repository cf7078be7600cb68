"""Writes tests/data/ledger_v3.sql and ledger_v3_figures.json: a schema-3 ledger as magray-lsp
wrote it before the rollups were keyed by action, and the figures that version reported for it
(its action filters read raw rows). Run with a schema-3 magray-lsp (commit c3ce9f6) first on the
path: ``PYTHONPATH=<that checkout>/server python tests/data/make_ledger_v3.py``. Kept for the
record; tests/unit/cost/test_ledger_migration_v4.py only reads its output."""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
from decimal import Decimal
from pathlib import Path

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.ledger import SCHEMA_VERSION, Ledger, LedgerEntry
from magray_lsp.dashboard import queries
from magray_lsp.dashboard.filters import Filters
from magray_lsp.dashboard.reader import LedgerReader
from magray_lsp.metrics import jsonable, summary

HERE = Path(__file__).resolve().parent
T0 = 1_750_001_234.5  # mid-hour: every window below cuts hours
ACTIONS = ["explain", "explain", "document", "refactor", "hover", "fix", "tests", "simplify"]
MODELS = [
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-3-5-haiku-latest"),
    ("ollama", "llama3.1"),
]
#: (since, until) offsets from T0, and the filters: the cases whose figures are recorded
WINDOWS = [(0, 3 * 86400), (1800, 7 * 3600 + 900), (5 * 3600 + 100, 5 * 3600 + 2000)]
FILTERS = [
    {},
    {"action": "refactor"},
    {"action": "simplify"},
    {"action": "explain", "workspace": "/w/b"},
    {"action": "fix", "provider": "anthropic"},
    {"action": "never-used"},
]


def entries() -> list[LedgerEntry]:
    rng = random.Random(16)
    out = []
    for i in range(400):
        provider, model = rng.choice(MODELS)
        outcome = rng.choices(["ok", "error", "cancelled", "budget_refused"], [85, 9, 3, 3])[0]
        cached = outcome == "ok" and rng.random() < 0.15
        out.append(
            LedgerEntry(
                id=f"r{i:03d}",
                action=rng.choice(ACTIONS),
                provider=provider,
                model=model,
                outcome=outcome,
                workspace=rng.choice(["/w/a", "/w/b"]),
                source_path=f"src/m{rng.randrange(9)}.py",
                input_tokens=0 if cached else rng.randint(100, 4000),
                output_tokens=0 if cached or outcome != "ok" else rng.randint(10, 600),
                cached_input_tokens=rng.choice([0, 0, 1024]) if not cached else 0,
                cost_usd=None if rng.random() < 0.05 else Decimal(rng.randint(0, 10**7)) / 10**10,
                saved_usd=Decimal("0.002") if cached else None,
                latency_ms=2.0 if cached else round(rng.lognormvariate(6, 0.8), 3),
                cached=cached,
                fallback_chain=["openai/gpt-4o", "google/gemini-1.5-pro"]
                if rng.random() < 0.08
                else (),
                error_type=rng.choice(["Timeout", "BadRequest", "ServerError"])
                if outcome == "error"
                else None,
                ts=T0 + i * 3 * 86400 / 400 + rng.uniform(0, 100),
            )
        )
    return out


def figures(ledger: Ledger) -> list[dict[str, object]]:
    out = []
    for a, b in WINDOWS:
        for f in FILTERS:
            s = summary(ledger, since=T0 + a, until=T0 + b, **f)  # type: ignore[arg-type]
            out.append({"since": T0 + a, "until": T0 + b, "filters": f, "summary": jsonable(s)})
    return out


def main(version: int = 3, what: str = "before the rollups were keyed by action") -> None:
    """Write ledger_v<version>.sql and its figures (make_ledger_v4.py: the schema-4 file)."""
    assert SCHEMA_VERSION == version, (
        f"run with the schema-{version} magray-lsp first on PYTHONPATH"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite3"
        with Ledger(path) as ledger:
            with ledger.transaction() as tx:
                for e in entries():
                    tx.record(e)
            stats = figures(ledger)
        reader = LedgerReader(path)
        dash = []
        for a, b in WINDOWS:
            for f in FILTERS:
                filters = Filters(range="custom", since=T0 + a, until=T0 + b, **f)
                data = queries.dashboard(reader, filters, BudgetConfig(), now=T0 + 4 * 86400)
                dash.append(
                    {
                        "since": T0 + a,
                        "until": T0 + b,
                        "filters": f,
                        "providers": data["providers"],
                        "totals": data["totals"],
                    }
                )
        reader.close()
        conn = sqlite3.connect(path)
        dump = "\n".join(conn.iterdump())
        conn.close()
    head = (
        f"-- A usage ledger at schema version {version} ({what}), "
        f"made by tests/data/make_ledger_v{version}.py\n"
    )
    (HERE / f"ledger_v{version}.sql").write_text(head + dump + "\n")
    (HERE / f"ledger_v{version}_figures.json").write_text(
        json.dumps({"summary": stats, "dashboard": dash}, sort_keys=True) + "\n"
    )


if __name__ == "__main__":
    main()
