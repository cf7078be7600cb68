"""The row journal with real files and real processes: rows a process journaled and never put
into the ledger (it was SIGKILLed with its writer held) are folded exactly once by whoever
takes the journal over (the next writer, the `stats` command, two processes racing), with their
reservations dropped; a record torn or damaged on disk is skipped with a WARNING naming the
file, the whole ones folded."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from magray_lsp.cost.journal import _FIELDS as journal_fields
from magray_lsp.cost.journal import Journal, decode, encode, journal_dir, take_over
from magray_lsp.cost.ledger import Ledger, LedgerEntry
from magray_lsp.cost.writer import LedgerWriter

WORKER = Path(__file__).with_name("_journal_worker.py")


def journaling(ledger: Path, n: int) -> subprocess.Popen[str]:
    """A child process that journals ``n`` rows, its writer held so none reaches the ledger."""
    return subprocess.Popen(
        [sys.executable, str(WORKER), "journal", str(ledger), str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def journaled(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """What ``proc`` journaled (``ids``, ``journal``), once it did."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else ""
    info: dict[str, Any] = json.loads(line)
    return info


def kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL


def killed_journal(ledger: Path, n: int) -> dict[str, Any]:
    """A child journals ``n`` rows and is SIGKILLed before any reaches the ledger."""
    child = journaling(ledger, n)
    try:
        return journaled(child)
    finally:
        kill(child)


def ids_in(ledger: Ledger) -> list[str]:
    return [r[0] for r in ledger.read("SELECT id FROM requests")]


def count(ledger: Ledger, table: str) -> int:
    return int(ledger.read(f"SELECT COUNT(*) FROM {table}")[0][0])


def test_a_killed_process_rows_are_folded_once_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    info = killed_journal(path, 25)
    journal = Path(info["journal"])
    assert journal.exists() and journal.parent == journal_dir(path)
    with Ledger(path) as led:
        assert ids_in(led) == [] and count(led, "reservations") == 1  # nothing folded yet
        writer: LedgerWriter[None] = LedgerWriter(led)  # a new process's writer takes over
        assert writer.flush(60)
        assert sorted(ids_in(led)) == sorted(info["ids"])  # exactly those rows, once
        assert count(led, "reservations") == 0  # the first row settled it
        assert not journal.exists() and count(led, "journal_folded") == 0
        writer.close()
        assert take_over(led) == 0  # again: nothing more
        again: LedgerWriter[None] = LedgerWriter(led)
        assert again.flush(60)
        again.close()
        assert sorted(ids_in(led)) == sorted(info["ids"])
        assert led.month_spend() == sum(
            (Decimal("0.0001") + Decimal(i).scaleb(-9) for i in range(25)), Decimal(0)
        )


def stats(tmp_path: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "magray_lsp", "stats", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def test_the_stats_command_takes_a_dead_journal_over_before_it_reads(tmp_path: Path) -> None:
    path = tmp_path / "data" / "magray" / "ledger.sqlite3"
    info = killed_journal(path, 12)
    first = stats(tmp_path)
    assert first["totals"]["requests"] == 12
    assert not Path(info["journal"]).exists()
    assert stats(tmp_path)["totals"]["requests"] == 12  # run again: nothing added
    with Ledger(path) as led:
        assert sorted(ids_in(led)) == sorted(info["ids"])


def test_two_processes_taking_the_same_dead_journals_over_fold_each_row_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite3"
    # both alive at once (a writer starting while the other is dead would take it over)
    children = [journaling(path, 30), journaling(path, 17)]
    try:
        dead = [journaled(child) for child in children]
    finally:
        for child in children:
            kill(child)
    assert len(list(journal_dir(path).iterdir())) == 2
    go = tmp_path / "go"
    takers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "take-over", str(path), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(1.0)  # both are waiting for the signal (start-up under load takes a while)
    go.touch()
    folded = []
    for proc in takers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        folded.append(json.loads(out)["folded"])
    assert sum(folded) == 47
    with Ledger(path) as led:
        ids = ids_in(led)
        assert len(ids) == len(set(ids)) == 47
        assert set(ids) == set(dead[0]["ids"]) | set(dead[1]["ids"])
        assert count(led, "journal_folded") == 0 and count(led, "reservations") == 0
    assert list(journal_dir(path).iterdir()) == []


def rows(n: int) -> list[LedgerEntry]:
    return [
        LedgerEntry(action="fix", provider="anthropic", model="m", cost_usd=Decimal("0.002"))
        for _ in range(n)
    ]


def test_a_torn_last_record_is_skipped_with_a_warning_and_the_whole_ones_folded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Ledger(tmp_path / "ledger.sqlite3") as led:
        journal = Journal(led.path)
        entries = rows(3)
        for e in entries:
            journal.append(e, None)
        journal.close(remove=False)  # as a process that is gone leaves it
        os.truncate(journal.path, journal.size - 7)  # a power loss tore the last record
        with caplog.at_level(logging.WARNING, logger="magray_lsp.cost.journal"):
            assert take_over(led) == 2
        assert sorted(ids_in(led)) == sorted(e.id for e in entries[:2])
        warned = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 1 and str(journal.path) in warned[0].getMessage()
        assert not journal.path.exists()


def test_a_damaged_record_in_the_middle_is_skipped_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Ledger(tmp_path / "ledger.sqlite3") as led:
        journal = Journal(led.path)
        entries = rows(3)
        ends = [journal.append(e, None) for e in entries]
        journal.close(remove=False)
        data = bytearray(journal.path.read_bytes())
        data[ends[0] + 40] ^= 0x01  # one bit of the second record flipped
        journal.path.write_bytes(bytes(data))
        with caplog.at_level(logging.WARNING, logger="magray_lsp.cost.journal"):
            assert take_over(led) == 2
        assert sorted(ids_in(led)) == sorted([entries[0].id, entries[2].id])
        assert "checksum" in caplog.text and str(journal.path) in caplog.text


def test_a_record_reads_back_as_the_entry_it_was(tmp_path: Path) -> None:
    entry = LedgerEntry(
        action="refactor",
        provider="openai",
        model="gpt-4o",
        outcome="cancelled",
        workspace="/w/ünïcode ✓",
        source_path="src/a.py",
        input_tokens=1234,
        output_tokens=56,
        cached_input_tokens=1000,
        cache_write_tokens=7,
        cost_usd=Decimal("0.000000150"),
        uncached_usd=Decimal("0.0012345678901234"),
        estimated_usd=Decimal("1E-7"),
        saved_usd=None,
        latency_ms=0.1 + 0.2,
        first_token_ms=None,
        cached=False,
        fallback_chain=["anthropic/claude-3-5-haiku-latest", "google/gemini:flash"],
        error_type="Timeout",
        tokens_estimated=True,
        price_assumed=True,
    )
    assert decode(encode(entry, "res-1")) == (entry, "res-1")
    assert decode(encode(entry, None)) == (entry, None)


def test_the_journal_is_held_locked_while_its_process_lives(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite3") as led:
        journal = Journal(led.path)
        journal.append(rows(1)[0], None)
        assert take_over(led) == 0 and journal.path.exists()  # alive: left alone
        journal.close(remove=False)
        assert take_over(led) == 1 and not journal.path.exists()


def test_a_writer_closing_cleanly_folds_its_journal_and_removes_it(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite3") as led:
        journal = Journal(led.path)
        writer: LedgerWriter[None] = LedgerWriter(led, journal=journal)
        entries = rows(40)
        for e in entries:
            assert writer.journal(e, None, 0)
        writer.close()
        assert sorted(ids_in(led)) == sorted(e.id for e in entries)
        assert not journal.path.exists() and count(led, "journal_folded") == 0
        assert not writer.journal(rows(1)[0], None, 0)  # closed: the caller writes to SQLite


def test_a_fold_that_fails_is_tried_again_and_lands_once(tmp_path: Path) -> None:
    """Another process holds the write lock longer than the busy timeout: the writer's fold
    fails, the rows stay journaled (still counted, still durable) and land once it lets go."""
    with Ledger(tmp_path / "ledger.sqlite3", busy_timeout=0.1) as led:
        journal = Journal(led.path)
        writer: LedgerWriter[None] = LedgerWriter(led, journal=journal)
        other = sqlite3.connect(led.path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        entries = rows(5)
        try:
            for e in entries:
                assert writer.journal(e, None, 0)
            assert not writer.flush(0.5)  # it cannot put them in meanwhile
            assert writer.journaled(0)[1].rows == 5 and ids_in(led) == []
        finally:
            other.execute("COMMIT")
            other.close()
        assert writer.flush(60)
        assert sorted(ids_in(led)) == sorted(e.id for e in entries)
        writer.close()
        assert not journal.path.exists()


def test_a_record_whose_id_is_already_recorded_is_skipped_with_an_error_not_wedged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Ledger(tmp_path / "ledger.sqlite3") as led:
        journal = Journal(led.path)
        writer: LedgerWriter[None] = LedgerWriter(led, journal=journal)
        twice, after = rows(2)
        led.record(twice)
        with caplog.at_level(logging.ERROR, logger="magray_lsp.cost.journal"):
            assert writer.journal(twice, None, 0) and writer.journal(after, None, 0)
            assert writer.flush(60)
        assert sorted(ids_in(led)) == sorted([twice.id, after.id])  # each once
        assert twice.id in caplog.text and "skipped" in caplog.text
        folded = led.read("SELECT upto FROM journal_folded WHERE name = ?", (journal.name,))
        assert folded == [(journal.size,)]  # the offset moved past both
        writer.close()


def test_a_record_carries_every_field_a_ledger_entry_has() -> None:
    # a field added to LedgerEntry but not to the journal would come back as its default
    assert set(journal_fields) == {f.name for f in dataclasses.fields(LedgerEntry)}
    body = encode(LedgerEntry(action="explain", provider="p", model="m"), None)[9:-1]
    assert len(json.loads(body)) == len(journal_fields) + 1  # the reservation id first
