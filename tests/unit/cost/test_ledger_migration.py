"""Schema 2 (marks for estimated tokens and assumed prices) reaches ledgers written by schema 1."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from magray_lsp.cost import ledger as ledger_module
from magray_lsp.cost.ledger import SCHEMA_VERSION, Ledger, LedgerEntry
from magray_lsp.dashboard.reader import LedgerReader, LedgerUnavailable

V1_COLUMNS = (
    "id, ts, workspace, action, source_path, provider, model, input_tokens, output_tokens, "
    "cached_input_tokens, cost_usd, cost_pico, estimated_usd, saved_usd, saved_pico, latency_ms, "
    "latency_bucket, first_token_ms, cached, fallback_chain, fallback_count, outcome, error_type"
)


def version_1_ledger(path: Path) -> Path:
    """A ledger as magray-lsp with schema 1 left it, with one request recorded."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        for statement in ledger_module._SCHEMA:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.execute(
            f"INSERT INTO requests ({V1_COLUMNS}) VALUES "
            "('old', 1.7e9, '', 'explain', '', 'openai', 'gpt-4o', 10, 5, 0, '0.5', "
            "500000000000, NULL, NULL, NULL, 12.0, 3, NULL, 0, '[]', 0, 'ok', NULL)"
        )
    finally:
        conn.close()
    return path


def test_opening_a_version_1_ledger_migrates_it_and_keeps_its_history(tmp_path: Path) -> None:
    path = version_1_ledger(tmp_path / "ledger.sqlite3")
    with Ledger(path) as led:
        [old] = led.recent()
        assert (old.id, old.cost_usd, old.tokens_estimated, old.price_assumed) == (
            "old",
            Decimal("0.5"),
            False,
            False,
        )
        led.record(
            LedgerEntry(
                action="explain",
                provider="openai",
                model="gpt-4o",
                outcome="cancelled",
                cost_usd=Decimal("0.25"),
                tokens_estimated=True,
                price_assumed=True,
            )
        )
        new = next(e for e in led.recent() if e.id != "old")
        assert new.tokens_estimated and new.price_assumed
        assert led.month_spend(1.7e9) == Decimal("0.5")
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    finally:
        conn.close()


def test_servers_opening_an_old_ledger_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = version_1_ledger(tmp_path / "ledger.sqlite3")
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_and_record(i: int) -> None:
        barrier.wait()
        try:
            with Ledger(path) as led:
                led.record(LedgerEntry(action="explain", provider="p", model="m", id=f"r{i}"))
        except BaseException as exc:  # the test asserts there are none
            errors.append(exc)

    threads = [threading.Thread(target=open_and_record, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Ledger(path) as led:
        assert len(led.recent(100)) == 7


def test_the_read_only_dashboard_names_an_old_ledger_instead_of_misreading_it(
    tmp_path: Path,
) -> None:
    path = version_1_ledger(tmp_path / "ledger.sqlite3")
    with pytest.raises(LedgerUnavailable) as caught:
        LedgerReader(path).recent()
    assert caught.value.reason == "too_old" and "upgraded" in str(caught.value)
    Ledger(path).close()  # any magray-lsp that records a request upgrades it
    reader = LedgerReader(path)
    try:
        assert [e.id for e in reader.recent()] == ["old"]
    finally:
        reader.close()
