"""Schema 5 → 6: the outages trigger gets a `WHEN` clause, so a row that can neither open nor
close an outage skips its body. The schema-5 file was written by that version
(tests/data/make_ledger_v5.py): outages opened by errors and by fallback chains, closed by
answers, one still open, 40 rows not folded yet. The gated trigger must file exactly the outages
the schema-5 trigger (still in a copy of that file) files for the same rows."""

from __future__ import annotations

import random
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from tests.unit.cost.ledger_files import SCHEMA_4_TABLES, old_ledger, recording
from tests.unit.cost.test_ledger_migration import schema
from tests.unit.cost.test_ledger_migration_v4 import contents
from tests.unit.cost.test_ledger_rollups import assert_rollups_exact

from magray_lsp.cost.ledger import SCHEMA_VERSION, Ledger, LedgerEntry
from magray_lsp.cost.ledger.entry import Outcome
from magray_lsp.cost.ledger.schema import INSERT

TABLES = (*SCHEMA_4_TABLES, "rollup_folded")  # schema 5 added the watermark
PROVIDERS = [("openai", "gpt-4o-mini"), ("anthropic", "claude-3-5-haiku-latest"), ("ollama", "x")]
ERRORS = ["RateLimited", "Timeout", "ServerError", "BadRequest", "ContentFiltered", "InvalidAnswer"]


@pytest.fixture
def v5_file(tmp_path: Path) -> Path:
    return old_ledger(tmp_path / "ledger.sqlite3", 5)


def test_the_upgrade_keeps_every_row_rollup_and_outage(v5_file: Path) -> None:
    before = contents(v5_file, TABLES)
    assert ("ollama", 1750016463.5, None) in [o[1:] for o in before["outages"]]  # one open
    with Ledger(v5_file) as led:
        assert led.read("PRAGMA user_version") == [(SCHEMA_VERSION,)] and SCHEMA_VERSION == 7
    assert contents(v5_file, TABLES) == before


def test_the_upgraded_file_has_the_schema_of_a_fresh_one(v5_file: Path, tmp_path: Path) -> None:
    Ledger(v5_file).close()
    Ledger(tmp_path / "fresh.sqlite3").close()
    upgraded = schema(v5_file)
    assert upgraded == schema(tmp_path / "fresh.sqlite3")
    triggers = upgraded["trigger"]
    assert isinstance(triggers, list)
    [(name, sql)] = triggers
    assert name == "requests_outages" and " WHEN NEW.cached = 0 AND " in sql


def random_rows(seed: int, n: int, t0: float) -> list[LedgerEntry]:
    """Rows in the shapes the gateway writes: answers, errors that are outages and errors that
    are not, cancellations, cache hits, fallback chains (naming the answering provider's other
    models too), in an order that opens and closes outages again and again."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        provider, model = rng.choice(PROVIDERS)
        outcomes: list[Outcome] = ["ok", "error", "cancelled", "budget_refused"]
        outcome = rng.choices(outcomes, [60, 30, 5, 5])[0]
        cached = outcome == "ok" and rng.random() < 0.2
        chain_from = [f"{p}/{m}" for p, m in PROVIDERS] + [f"{provider}/other-model"]
        chain = [] if cached else rng.sample(chain_from, rng.choice([0, 0, 1, 1, 2]))
        out.append(
            LedgerEntry(
                action="explain",
                provider=provider,
                model=model,
                outcome=outcome,
                cached=cached,
                fallback_chain=chain,
                error_type=rng.choice(ERRORS) if outcome == "error" else None,
                latency_ms=float(rng.randint(10, 3000)),
                cost_usd=Decimal(0) if cached else Decimal("0.001"),
                ts=t0 + i * 5.0,
            )
        )
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_gated_trigger_files_the_outages_the_schema_5_one_did(
    v5_file: Path, tmp_path: Path, seed: int
) -> None:
    old = tmp_path / "still-v5.sqlite3"
    shutil.copy(v5_file, old)  # never opened by Ledger: v5
    rows = random_rows(seed, 400, t0=1_750_100_000.0)
    conn = sqlite3.connect(old, isolation_level=None)
    conn.execute("BEGIN")
    for e in rows:
        conn.execute(INSERT, e._row())
    conn.execute("COMMIT")
    with Ledger(v5_file) as led:
        for e in rows:  # one transaction per row, as the gateway commits them
            led.append(recording(e))
        assert led.fold() == 40 + 400  # the file's unfolded rows, and these
    new_outages, old_outages = contents(v5_file, ("outages",)), contents(old, ("outages",))
    assert new_outages == old_outages
    assert conn.execute("PRAGMA user_version").fetchone() == (5,)
    conn.close()
    # each way of opening and closing an outage happened, so a gate that missed one would show
    added = [o for o in old_outages["outages"] if o[2] >= 1_750_100_000.0]
    starts = {e.ts for e in rows}
    ends = {e.ts + e.latency_ms / 1000 for e in rows}
    assert any(o[2] in starts for o in added)  # opened by a fallback chain (at the row's start)
    assert any(o[2] in ends for o in added)  # opened by an error (at its end)
    assert any(o[3] is not None for o in added)  # closed by an answer
    assert_rollups_exact(v5_file)


def test_each_case_the_gate_lets_through(tmp_path: Path) -> None:
    """Opened by an error, opened by a chain, kept open by errors that are not outages and by
    cache hits, closed by an answer; a plain answer of a healthy provider changes nothing."""
    t = 1_750_200_000.0

    def row(provider: str, at: float, **kw: object) -> LedgerEntry:
        return LedgerEntry(action="fix", provider=provider, model="m", ts=t + at, **kw)  # type: ignore[arg-type]

    steps: list[tuple[LedgerEntry, list[tuple[str, float, float | None]]]] = [
        (row("openai", 0, latency_ms=100), []),
        (row("openai", 10, outcome="error", error_type="Timeout", latency_ms=500), []),
        (row("anthropic", 20, outcome="error", error_type="BadRequest"), []),
        (row("anthropic", 30, fallback_chain=["google/g", "openai/o"], latency_ms=200), []),
        (row("google", 40, cached=True), []),
        (row("google", 50, outcome="error", error_type="ContentFiltered"), []),
        (row("google", 60, latency_ms=1000), []),
        (row("openai", 70, outcome="cancelled", latency_ms=100), []),
    ]
    expected = [
        [],
        [("openai", t + 10.5, None)],  # an error opens
        [("openai", t + 10.5, None)],  # a bad request is not an outage
        [("openai", t + 10.5, None), ("google", t + 30, None)],  # the chain opens google's
        [("openai", t + 10.5, None), ("google", t + 30, None)],  # a cache hit closes nothing
        [("openai", t + 10.5, None), ("google", t + 30, None)],
        [("openai", t + 10.5, None), ("google", t + 30, t + 61)],  # an answer closes
        [("openai", t + 10.5, None), ("google", t + 30, t + 61)],  # a cancellation does not
    ]
    with Ledger(tmp_path / "ledger.sqlite3") as led:
        for (entry, _), want in zip(steps, expected, strict=True):
            led.append(recording(entry))
            got = led.read("SELECT provider, started, ended FROM outages ORDER BY id")
            assert got == want, entry
        led.append(lambda tx: tx.record(row("openai", 80, latency_ms=2000)))
        assert led.read("SELECT ended FROM outages WHERE provider = 'openai'") == [(t + 82,)]
