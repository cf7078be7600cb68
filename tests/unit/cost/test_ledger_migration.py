"""A ledger written by schema 1 is upgraded in place to the current schema: the prompt-cache
columns, the trigger that rolls them up and the cache reads it already held (schema 2), and the
marks for estimated tokens and assumed prices (schema 3)."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from tests.unit.cost.ledger_files import old_ledger

from magray_lsp import metrics
from magray_lsp.cost.ledger import SCHEMA_VERSION, Ledger, LedgerEntry
from magray_lsp.dashboard.reader import LedgerReader, LedgerUnavailable


@pytest.fixture
def v1_file(tmp_path: Path) -> Path:
    """A real schema-1 ledger (dumped from that version): openai rows with cached input, one of
    them an answer-cache hit, an anthropic hour later with a read and an error."""
    return old_ledger(tmp_path / "ledger.sqlite3", 1)


def schema(path: Path) -> dict[str, object]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out: dict[str, object] = {
            t: [(c[1], c[2], c[3], c[5]) for c in conn.execute(f"PRAGMA table_info({t})")]
            for t in sorted(tables)
        }
        for kind in ("index", "trigger"):
            rows = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = ? ORDER BY name", (kind,)
            )
            out[kind] = [(name, " ".join((sql or "").split())) for name, sql in rows]
        out["version"] = conn.execute("PRAGMA user_version").fetchone()[0]
        return out
    finally:
        conn.close()


def test_the_upgraded_file_has_the_schema_of_a_fresh_one(v1_file: Path, tmp_path: Path) -> None:
    Ledger(v1_file).close()
    Ledger(tmp_path / "fresh.sqlite3").close()
    upgraded, fresh = schema(v1_file), schema(tmp_path / "fresh.sqlite3")
    assert upgraded["version"] == SCHEMA_VERSION == 7
    assert upgraded == fresh


def test_old_rows_read_back_and_their_cache_reads_are_rolled_up(v1_file: Path) -> None:
    with Ledger(v1_file) as ledger:
        rows = {r.id: r for r in ledger.recent()}
        assert rows["a1"].cached_input_tokens == 2048 and rows["a1"].cache_write_tokens == 0
        assert rows["a1"].uncached_usd is None and rows["a1"].cost_usd == Decimal("0.00509")
        totals = metrics.summary(ledger, since=None)["totals"]
        # a1 (2048) and b1 (2100); a3 is an answer-cache hit that repeats a1's usage
        assert totals["cache_read_tokens"] == 4148 and totals["cache_write_tokens"] == 0
        assert totals["prompt_cache_saved_usd"] == 0  # unknown before schema 2
        assert totals["requests"] == 5 and totals["cost_usd"] == Decimal("0.01044")


def test_new_rows_roll_up_next_to_the_old_ones(v1_file: Path) -> None:
    with Ledger(v1_file) as ledger:
        ledger.record(
            LedgerEntry(
                action="refactor",
                provider="anthropic",
                model="claude-3-5-haiku-latest",
                ts=1_750_003_900.0,
                input_tokens=3000,
                output_tokens=100,
                cached_input_tokens=2500,
                cache_write_tokens=400,
                cost_usd=Decimal("0.0008"),
                uncached_usd=Decimal("0.0028"),
                workspace="/w",
            )
        )
        totals = metrics.summary(ledger, since=None)["totals"]
        assert totals["cache_read_tokens"] == 4148 + 2500
        assert totals["cache_write_tokens"] == 400
        assert totals["prompt_cache_saved_usd"] == Decimal("0.002")
        [row] = [r for r in ledger.recent() if r.action == "refactor"]
        assert (row.cache_write_tokens, row.uncached_usd) == (400, Decimal("0.0028"))


def test_upgrading_twice_changes_nothing(v1_file: Path) -> None:
    Ledger(v1_file).close()
    before = schema(v1_file)
    with Ledger(v1_file) as ledger:
        assert len(ledger.recent()) == 5
    assert schema(v1_file) == before


def test_the_read_only_dashboard_says_the_file_awaits_its_upgrade(v1_file: Path) -> None:
    with pytest.raises(LedgerUnavailable, match="older than this magray-lsp") as info:
        LedgerReader(v1_file)
    assert info.value.reason == "too_old"
    Ledger(v1_file).close()
    LedgerReader(v1_file).close()  # after the upgrade it reads


def test_old_rows_have_no_cost_marks_and_new_rows_keep_theirs(v1_file: Path) -> None:
    with Ledger(v1_file) as led:
        old = led.recent()
        assert old and not any(e.tokens_estimated or e.price_assumed for e in old)
        spent = led.month_spend(max(e.ts for e in old))
        led.record(
            LedgerEntry(
                id="new",
                action="explain",
                provider="openai",
                model="gpt-4o",
                outcome="cancelled",
                cost_usd=Decimal("0.25"),
                tokens_estimated=True,
                price_assumed=True,
            )
        )
        new = next(e for e in led.recent(100) if e.id == "new")
        assert new.tokens_estimated and new.price_assumed
        assert led.month_spend(max(e.ts for e in old)) == spent  # history untouched


def test_servers_opening_an_old_ledger_at_once_migrate_it_once(v1_file: Path) -> None:
    conn = sqlite3.connect(v1_file)
    before = conn.execute("SELECT count(*) FROM requests").fetchone()[0]
    conn.close()
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_and_record(i: int) -> None:
        barrier.wait()
        try:
            with Ledger(v1_file) as led:
                led.record(LedgerEntry(action="explain", provider="p", model="m", id=f"r{i}"))
        except BaseException as exc:  # the test asserts there are none
            errors.append(exc)

    threads = [threading.Thread(target=open_and_record, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Ledger(v1_file) as led:
        assert len(led.recent(1000)) == before + 6
