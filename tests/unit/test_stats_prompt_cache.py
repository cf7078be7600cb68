"""`magray-lsp stats` shows what the providers' prompt caches saved, from the ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from magray_lsp.cost.ledger import Ledger, LedgerEntry, default_ledger_path


def stats(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "magray_lsp", "stats", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def call(**fields: object) -> LedgerEntry:
    return LedgerEntry(action="explain", provider="anthropic", model="claude-sonnet-4-5", **fields)  # type: ignore[arg-type]


def record_write(ledger: Ledger, cost: str) -> None:
    """A call that wrote 3,000 prompt tokens to the cache (plainly they cost $0.012)."""
    ledger.record(
        call(
            input_tokens=4000,
            cache_write_tokens=3000,
            cost_usd=Decimal(cost),
            uncached_usd=Decimal("0.012"),
        )
    )


def test_stats_prints_reads_writes_and_the_saving(tmp_path: Path) -> None:
    with Ledger(default_ledger_path()) as ledger:
        record_write(ledger, "0.01425")  # costs more than plain input; then two reads of it
        for _ in range(2):
            ledger.record(
                call(
                    input_tokens=4000,
                    cached_input_tokens=3000,
                    cost_usd=Decimal("0.0039"),
                    uncached_usd=Decimal("0.012"),
                )
            )
        ledger.record(call(input_tokens=900, cost_usd=Decimal("0.0027")))  # no caching
    text = stats(tmp_path)
    saved = 2 * (Decimal("0.012") - Decimal("0.0039")) - (Decimal("0.01425") - Decimal("0.012"))
    assert saved == Decimal("0.01395")
    assert (
        "prompt cache: 6,000 input tokens read, 3,000 written · saved $0.01 against uncached prices"
        in text
    )
    totals = json.loads(stats(tmp_path, "--json"))["totals"]
    assert totals["prompt_cache_saved_usd"] == "0.01395"
    assert (totals["cache_read_tokens"], totals["cache_write_tokens"]) == (6000, 3000)


def test_stats_says_when_writes_cost_more_than_reads_saved(tmp_path: Path) -> None:
    with Ledger(default_ledger_path()) as ledger:
        record_write(ledger, "0.015")
    assert "3,000 written · cost $0.0030 extra against uncached prices" in stats(tmp_path)


def test_stats_stays_quiet_without_prompt_caching(tmp_path: Path) -> None:
    with Ledger(default_ledger_path()) as ledger:
        ledger.record(call(input_tokens=900, cost_usd=Decimal("0.0027")))
    assert "prompt cache" not in stats(tmp_path)
