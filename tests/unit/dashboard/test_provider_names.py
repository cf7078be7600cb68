"""One provider name everywhere: health, outages and attempts use the provider's section name.

Fallback chains used to name the failed model by its label ("openai.default"), and the ledger's
trigger filed that failure, and an outage that never closed, under "openai.default" as if it were
a provider. The gateway now writes "provider/model"; a ledger written before (rebuilt here with
the old trigger) must read the same as one written now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.dashboard import seed
from tests.unit.cost.ledger_files import recording

from magray_lsp import metrics
from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.ledger import Ledger, LedgerEntry
from magray_lsp.cost.ledger import schema as ledger_schema
from magray_lsp.dashboard import queries
from magray_lsp.dashboard.filters import parse_filters
from magray_lsp.dashboard.reader import LedgerReader

T = datetime(2026, 3, 10, 9, 0, tzinfo=UTC).timestamp()
OPENAI = ("openai", "gpt-4o-mini")
ANTHROPIC = ("anthropic", "claude-3-5-haiku-latest")


def _old_chain_provider(value: str) -> str:
    """chain_provider as it was: only "provider/model" items were understood."""
    cut = f"instr({value}, '/')"
    return f"CASE WHEN {cut} > 0 THEN substr({value}, 1, {cut} - 1) ELSE {value} END"


def entry(who: tuple[str, str], at: float, **kw: Any) -> LedgerEntry:
    return LedgerEntry(
        action="explain", provider=who[0], model=who[1], ts=T + at, workspace="/w", **kw
    )


def history(failed: str) -> list[LedgerEntry]:
    """openai fails (anthropic answers instead), then openai answers again 10 minutes later."""
    return [
        entry(ANTHROPIC, 0, latency_ms=900, cost_usd=Decimal("0.01"), fallback_chain=[failed]),
        entry(OPENAI, 600, latency_ms=400, cost_usd=Decimal("0.02")),
        entry(ANTHROPIC, 900, latency_ms=700, cost_usd=Decimal("0.01")),
    ]


def old_ledger(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ledger as the previous version wrote it: label chains, and its trigger."""
    with Ledger(path) as led:
        monkeypatch.setattr(ledger_schema, "chain_provider", _old_chain_provider)
        old_trigger = ledger_schema._outages_trigger()
        rows = "rowid > :lo AND rowid <= :hi"  # and the rollups as its trigger kept them
        old_folds = (*ledger_schema._folds(False, rows), *ledger_schema._folds(True, rows))
        monkeypatch.undo()
        with led.transaction() as tx:
            tx.execute("DROP TRIGGER requests_outages")
            tx.execute(old_trigger)
        for e in history("openai.default"):
            led.append(recording(e))
        with led.transaction() as tx:
            for statement in old_folds:  # before the transaction's own fold finds them
                tx.execute(statement, {"lo": 0, "hi": 1 << 62})
            tx.execute("UPDATE rollup_folded SET upto = (SELECT MAX(rowid) FROM requests)")
        stored = led.read("SELECT DISTINCT provider FROM outages")
    assert stored == [("openai.default",)]  # what the dashboard used to list as a provider
    return path


def new_ledger(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with Ledger(path) as led:
        for e in history("openai/gpt-4o-mini"):
            led.record(e)
    return path


@pytest.mark.parametrize("make", [old_ledger, new_ledger], ids=["written-before", "written-now"])
def test_health_and_outages_use_section_names(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[Path, pytest.MonkeyPatch], Path],
) -> None:
    path = make(tmp_path / "ledger.sqlite3", monkeypatch)
    reader = LedgerReader(path)
    try:
        data = queries.dashboard(
            reader,
            parse_filters({"range": "all"}, T + 3600),
            BudgetConfig(monthly_usd=seed.BUDGET),
            now=T + 3600,
        )
        providers = {p["provider"]: p for p in data["providers"]}
        assert sorted(providers) == ["anthropic", "openai"]
        assert (providers["openai"]["attempts"], providers["openai"]["failures"]) == (2, 1)
        # the outage opened when openai failed and ended when it answered again
        recovery = providers["openai"]["recovery"]
        assert recovery["outages"] == recovery["recovered"] == 1
        assert recovery["ongoing_since"] is None
        assert recovery["mean_s"] == pytest.approx(600 + 0.4)
        [outage] = data["outages"]
        assert outage["provider"] == "openai" and not outage["ongoing"]
        assert outage["recovery_s"] == pytest.approx(600 + 0.4)
        assert data["options"]["providers"] == ["anthropic", "openai"]
        # narrowing to a provider finds its outage under its own name
        only = metrics.summary(reader, since=None, provider="openai", now=T + 3600)
        assert [p["provider"] for p in only["providers"]] == ["openai"]
        assert only["providers"][0]["recovery"]["outages"] == 1
    finally:
        reader.close()
