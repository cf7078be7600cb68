"""The rollups are folded after the rows' own commits (schema 5): every reader, in any process,
counts the rows not folded yet, so each figure is the same before and after a fold, and the same
as on a ledger whose every row was folded at once; a fold is all or nothing; the writer folds in
the background, on start (what a killed process left) and on close."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.unit.cost.ledger_files import recording
from tests.unit.cost.test_ledger_rollups import T, assert_rollups_exact, entry

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.budget import BudgetGuard
from magray_lsp.cost.ledger import Ledger
from magray_lsp.cost.ledger import schema as ledger_schema
from magray_lsp.cost.writer import FOLD_OVERDUE, LedgerWriter
from magray_lsp.dashboard import queries
from magray_lsp.dashboard.filters import Filters
from magray_lsp.dashboard.reader import LedgerReader
from magray_lsp.metrics import jsonable, summary

ACTIONS = ("explain", "fix", "Write tests")
NOW = T + 200 * 97.0


def figures(path: Path) -> dict[str, Any]:
    """What stats, the dashboard, /metrics and the budget check read, through windows that cut
    hours and days, with and without filters."""
    out: dict[str, Any] = {}
    with Ledger(path) as led:
        guard = BudgetGuard(led, BudgetConfig(monthly_usd=Decimal(5)), clock=lambda: NOW)
        out["month"] = (led.month_spend(NOW), led.month_unpriced(NOW), guard.status())
        for since, until in ((None, None), (T + 1000, T + 9000), (T + 3700, T + 90_000)):
            windows: tuple[dict[str, Any], ...] = (
                {},
                {"action": "fix"},
                {"provider": "openai", "workspace": "/w"},
            )
            for filters in windows:
                key = f"{since}-{until}-{filters}"
                out[key] = jsonable(summary(led, since, until, now=NOW, **filters))
    reader = LedgerReader(path)
    try:
        by_action: tuple[dict[str, Any], ...] = ({}, {"action": "Write tests"})
        for filters in by_action:
            data = queries.dashboard(
                reader, Filters(range="all", **filters), BudgetConfig(), now=NOW
            )
            data.pop("ledger")  # the file name
            out[f"dashboard-{filters}"] = jsonable(data)
    finally:
        reader.close()
    return out


def record_all(path: Path, n: int) -> None:
    with Ledger(path) as led:
        with led.transaction() as tx:
            for i in range(n):
                tx.record(
                    entry(
                        i,
                        ACTIONS[i % 3],
                        cost_usd=None if i % 13 == 0 else Decimal("0.001") * (i % 5),
                    )
                )


def test_every_reader_counts_the_rows_not_folded_yet(tmp_path: Path) -> None:
    everything = tmp_path / "folded.sqlite3"
    record_all(everything, 200)
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as led:
        with led.transaction() as tx:
            for i in range(120):
                tx.record(
                    entry(
                        i,
                        ACTIONS[i % 3],
                        cost_usd=None if i % 13 == 0 else Decimal("0.001") * (i % 5),
                    )
                )
        for i in range(120, 200):  # appended: past the watermark, in every hour of the history
            e = entry(
                i, ACTIONS[i % 3], cost_usd=None if i % 13 == 0 else Decimal("0.001") * (i % 5)
            )
            led.append(recording(e))
        assert led.read(f"SELECT COUNT(*) FROM requests WHERE {ledger_schema.UNFOLDED}") == [(80,)]
    expected = figures(everything)
    assert figures(path) == expected
    with Ledger(path) as led:
        assert led.fold() == 80 and led.fold() == 0
    assert figures(path) == expected
    assert_rollups_exact(path)


def test_a_fold_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as led:
        for i in range(10):
            led.append(recording(entry(i, "fix")))
        before = figures(path)
        broken = (*ledger_schema.FOLD[:-1], "INSERT INTO no_such_table VALUES (1)")
        monkeypatch.setattr("magray_lsp.cost.ledger.store.FOLD", broken)
        with pytest.raises(Exception, match="no_such_table"):
            led.fold()  # the rollups were updated, the watermark not: rolled back
        assert led.read("SELECT upto FROM rollup_folded") == [(0,)]
        assert led.read("SELECT COUNT(*) FROM rollup") == [(0,)]
        assert figures(path) == before
        monkeypatch.undo()
        assert led.fold() == 10
    assert figures(path) == before
    assert_rollups_exact(path)


def test_the_writer_folds_once_idle_not_in_the_rows_commits(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite3") as led:
        waits: LedgerWriter[None] = LedgerWriter(led, fold_idle=3600)  # never idle long enough
        for i in range(10):
            assert waits.write(recording(entry(i, "fix"))).done()
        assert led.read("SELECT upto FROM rollup_folded") == [(0,)]  # not on the rows' path
        waits.close()  # closing folds what waits
        assert waits.folded == 10 and led.read("SELECT upto FROM rollup_folded") == [(10,)]
        writer: LedgerWriter[None] = LedgerWriter(led, fold_idle=0.05)
        for i in range(10, 15):
            assert writer.write(recording(entry(i, "explain"))).done()
        deadline = time.monotonic() + 30
        while writer.folded < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer.folded == 5  # once no row came for a while
        writer.close()
        assert led.read(f"SELECT COUNT(*) FROM requests WHERE {ledger_schema.UNFOLDED}") == [(0,)]
    assert_rollups_exact(tmp_path / "ledger.sqlite3")


def test_a_steady_stream_of_rows_is_folded_every_so_many(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite3") as led:
        writer: LedgerWriter[None] = LedgerWriter(led, fold_idle=3600)
        futures = [writer.write(recording(entry(i, ACTIONS[i % 3]))) for i in range(FOLD_OVERDUE)]
        for future in futures:
            future.result(timeout=30)
        deadline = time.monotonic() + 30
        while writer.folded < FOLD_OVERDUE and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer.folded == FOLD_OVERDUE
        writer.close()
    assert_rollups_exact(tmp_path / "ledger.sqlite3")


def test_rows_of_a_process_killed_before_its_fold_are_folded_by_the_next_writer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite3"
    script = textwrap.dedent(
        """
        import os, signal, sys
        from tests.unit.cost.ledger_files import recording
        from tests.unit.cost.test_ledger_rollups import entry
        from magray_lsp.cost.ledger import Ledger
        from magray_lsp.cost.writer import LedgerWriter
        writer = LedgerWriter(Ledger(sys.argv[1]), fold_idle=3600)  # killed before any fold
        for i in range(20):
            assert writer.write(recording(entry(i, "fix"))).done()
        print("committed", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == -signal.SIGKILL and done.stdout == "committed\n", done.stderr
    conn = sqlite3.connect(path)
    try:
        assert conn.execute(
            "SELECT COUNT(*), (SELECT upto FROM rollup_folded) FROM requests"
        ).fetchone() == (20, 0)
    finally:
        conn.close()
    expected = figures(path)  # counted already, folded or not
    with Ledger(path) as led:
        writer: LedgerWriter[None] = LedgerWriter(led)  # the next server starting
        deadline = time.monotonic() + 30
        while writer.folded < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer.folded == 20
        writer.close()
    assert figures(path) == expected
    assert_rollups_exact(path)
