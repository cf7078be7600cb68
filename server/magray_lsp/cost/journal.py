"""The row journal: a process's ledger rows are committed by appending them to a file of its own.

An answer is acknowledged only once its row is durable. In WAL mode with ``synchronous=NORMAL``
a SQLite commit is durable against the process being killed (not against a power loss): a
``write`` into the OS page cache. One ``os.write`` of the row to a file opened ``O_APPEND`` is
exactly as durable, for a few µs instead of a transaction's ~170 µs on the event loop. So a
gateway without a team budget appends each row here and returns; its `LedgerWriter` thread then
inserts the journal's records into ``requests`` in batches, moving the journal's offset in
``journal_folded`` (schema 7) in the same transaction, so a record is folded exactly once
whatever crashes when.

The journal of a process lives beside the ledger (``<ledger>.journal/<pid>-<random>.log``) and
is held under an exclusive ``flock`` for the process's life: a journal whose lock can be taken
belongs to a process that is gone. Its records are folded by whoever takes it over first (a
writer starting, the ``stats`` command) under that lock, from its offset, and the file is removed
(`take_over`); a process closing cleanly folds its own journal and removes it.

A record is one line: the CRC32 of its JSON, then the JSON (the `LedgerEntry` fields, money as
decimal strings, and the id of the reservation its row settles). A killed process leaves whole
records behind (each is one ``write``); a record torn by a power loss fails its check and is
skipped with a WARNING, never folded. There is no fsync, as there is none in SQLite's commit.

A hard budget stays safe across processes: a journaled row's reservation stays in
``reservations`` until the fold inserts the row and deletes the reservation in one transaction,
so another process's check counts that money as reserved until it counts it as spent. Within
the process, every transaction of the writer takes the journal in first (a reservation sees
every row it acknowledged). Where ``fcntl`` is missing (Windows) there is no journal: rows are
committed to SQLite directly.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from magray_lsp.cost.ledger import Ledger, LedgerEntry, LedgerError, LedgerTx

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no journal, rows go to SQLite directly
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: every journal is in this directory beside the ledger file (``<ledger>.journal``)
SUFFIX = ".journal"
#: the order of the `LedgerEntry` fields in a record
_FIELDS = (
    "id",
    "ts",
    "workspace",
    "action",
    "source_path",
    "provider",
    "model",
    "outcome",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "cost_usd",
    "uncached_usd",
    "estimated_usd",
    "saved_usd",
    "latency_ms",
    "first_token_ms",
    "cached",
    "fallback_chain",
    "error_type",
    "tokens_estimated",
    "price_assumed",
)
_MONEY = frozenset(("cost_usd", "uncached_usd", "estimated_usd", "saved_usd"))
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def available() -> bool:
    """Whether this platform can hold a journal (it needs ``flock``)."""
    return fcntl is not None


def journal_dir(ledger_path: Path) -> Path:
    return ledger_path.with_name(ledger_path.name + SUFFIX)


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One row in a journal: the entry, the reservation its commit drops, where it ends."""

    entry: LedgerEntry
    reservation_id: str | None
    #: the byte offset just past this record in its journal
    end: int
    #: the reservation's amount in pico-dollars, when known (this process's own rows)
    reserved_pico: int = 0
    #: what the row adds to its month (`JournalTail`): its cost in pico-dollars, whether it is
    #: a paid call without a price, and its hour (this process's own rows)
    cost_pico: int = 0
    unpriced: bool = False
    hour: int = 0


class JournalTail(NamedTuple):
    """What journaled rows not in the ledger yet add to a budget status: their cost (spent),
    how many had no price, and the reservations they settle."""

    rows: int = 0
    cost_pico: int = 0
    unpriced: int = 0
    reserved_pico: int = 0

    def plus(self, record: JournalRecord, sign: int = 1, *, spent: bool = True) -> JournalTail:
        """These totals with ``record`` added (``sign`` -1: taken out); ``spent`` False: a row
        of an earlier month, which settles its reservation but is not this month's spend."""
        counted = sign if spent else 0
        return JournalTail(
            self.rows + sign,
            self.cost_pico + counted * record.cost_pico,
            self.unpriced + counted * record.unpriced,
            self.reserved_pico + sign * record.reserved_pico,
        )


def encode(entry: LedgerEntry, reservation_id: str | None) -> bytes:
    """One record: ``<crc32 hex> <json>\\n`` (the CRC of the JSON's bytes)."""
    e = entry
    body = _dumps(
        [
            reservation_id,
            e.id,
            e.ts,
            e.workspace,
            e.action,
            e.source_path,
            e.provider,
            e.model,
            e.outcome,
            e.input_tokens,
            e.output_tokens,
            e.cached_input_tokens,
            e.cache_write_tokens,
            None if e.cost_usd is None else str(e.cost_usd),
            None if e.uncached_usd is None else str(e.uncached_usd),
            None if e.estimated_usd is None else str(e.estimated_usd),
            None if e.saved_usd is None else str(e.saved_usd),
            e.latency_ms,
            e.first_token_ms,
            e.cached,
            list(e.fallback_chain),
            e.error_type,
            e.tokens_estimated,
            e.price_assumed,
        ]
    ).encode()
    return b"%08x %s\n" % (zlib.crc32(body), body)


def decode(line: bytes) -> tuple[LedgerEntry, str | None]:
    """A record's entry and reservation id; ``ValueError`` when it fails its check."""
    if len(line) < 10 or line[8:9] != b" " or not line.endswith(b"\n"):
        raise ValueError("not a whole record")
    body = line[9:-1]
    if int(line[:8], 16) != zlib.crc32(body):
        raise ValueError("its checksum does not match")
    values = json.loads(body)
    if not isinstance(values, list) or len(values) != len(_FIELDS) + 1:
        raise ValueError("not a ledger row")
    fields: dict[str, Any] = dict(zip(_FIELDS, values[1:], strict=True))
    for name in _MONEY:
        if fields[name] is not None:
            fields[name] = Decimal(fields[name])
    return LedgerEntry(**fields), values[0]


class Journal:
    """This process's journal file, appended to with one ``write`` per record and held under
    an exclusive ``flock`` until ``close``. Not thread-safe: its `LedgerWriter` serializes."""

    def __init__(self, ledger_path: Path) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            raise LedgerError("a row journal needs flock, which this platform lacks")
        folder = journal_dir(ledger_path)
        self.name = f"{os.getpid()}-{os.urandom(6).hex()}.log"
        self.path = folder / self.name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            self._fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise LedgerError(f"cannot create the ledger journal {self.path}: {exc}") from None
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # a new file: nobody else holds it
        #: bytes appended so far (the end of the last record)
        self.size = 0
        self.closed = False

    def append(self, entry: LedgerEntry, reservation_id: str | None) -> int:
        """Append ``entry``'s record; the offset just past it. Raises ``OSError`` if it could
        not be written whole (the journal must not be used any more: see `LedgerWriter`)."""
        data = encode(entry, reservation_id)
        written = os.write(self._fd, data)
        if written != len(data):  # a full disk: what was written is a torn record, skipped
            raise OSError(f"short write to {self.path}: {written} of {len(data)} bytes")
        self.size += written
        return self.size

    def close(self, *, remove: bool) -> None:
        """Release the journal; with ``remove`` (every record is folded) delete it first, under
        its lock, so nobody takes over a file that was emptied into the ledger."""
        if self.closed:
            return
        self.closed = True
        if remove:
            try:
                self.path.unlink()
            except OSError as exc:
                log.warning("could not remove the ledger journal %s: %s", self.path, exc)
        os.close(self._fd)


def read_records(path: Path, start: int) -> list[JournalRecord]:
    """The whole records of the journal at ``path`` from byte ``start``; a record that fails
    its check (torn by a power loss) is skipped with a WARNING naming the file."""
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read()
    records: list[JournalRecord] = []
    offset = start
    for line in data.splitlines(keepends=True):
        offset += len(line)
        try:
            entry, reservation_id = decode(line)
        except (ValueError, TypeError, ArithmeticError) as exc:  # (a bad amount: Decimal's)
            log.warning(
                "skipped a damaged record in the ledger journal %s at byte %d (%s)",
                path,
                offset - len(line),
                exc,
            )
            continue
        records.append(JournalRecord(entry, reservation_id, offset))
    return records


def fold_in(tx: LedgerTx, name: str, records: Sequence[JournalRecord]) -> int:
    """Insert ``records`` (in journal order) and move journal ``name``'s offset past the last
    one, in ``tx``; how many rows were inserted. A record that fails on its own (its id already
    recorded, an amount the ledger refuses) is skipped with an ERROR: it must never wedge the
    journal. Its reservation is dropped all the same: its call has ended."""
    inserted = 0
    for record in records:
        try:
            tx.record(record.entry)  # a failed INSERT undoes itself alone (SQLite's ABORT)
            inserted += 1
        except (sqlite3.IntegrityError, ValueError) as exc:
            log.error(
                "ledger journal %s: row %s not recorded (%s); skipped",
                name,
                record.entry.id,
                exc,
            )
        if record.reservation_id is not None:
            tx.execute("DELETE FROM reservations WHERE id = ?", (record.reservation_id,))
    if records:
        tx.journal_folded(name, records[-1].end)
    return inserted


def others(ledger_path: Path, mine: Journal | None) -> bool:
    """Whether journals other than ``mine`` lie beside the ledger (to take over if their
    process is gone): one directory listing."""
    if fcntl is None:  # pragma: no cover - Windows
        return False
    try:
        with os.scandir(journal_dir(ledger_path)) as entries:
            own = None if mine is None else mine.name
            return any(e.name.endswith(".log") and e.name != own for e in entries)
    except OSError:  # none yet (or unreadable: the take-over would say so)
        return False


def take_over(ledger: Ledger) -> int:
    """Fold the journals of processes that are gone into ``ledger`` and remove them; how many
    rows. A journal whose lock is held belongs to a live process (or to one taking it over right
    now) and is left alone; the lock makes two processes racing take each journal over once."""
    if fcntl is None:  # pragma: no cover - Windows
        return 0
    folder = journal_dir(ledger.path)
    try:
        names = sorted(p.name for p in folder.iterdir() if p.suffix == ".log")
    except FileNotFoundError:
        return 0
    except OSError as exc:
        log.warning("cannot list the ledger journals in %s: %s", folder, exc)
        return 0
    rows = 0
    for name in names:
        rows += _take_over_one(ledger, folder / name)
    _forget_removed(ledger, folder)
    return rows


def _take_over_one(ledger: Ledger, path: Path) -> int:
    assert fcntl is not None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:  # taken over and removed meanwhile
        return 0
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # its process is alive (or another is taking it over)
            return 0
        try:
            if os.stat(path).st_ino != os.fstat(fd).st_ino:
                return 0
        except FileNotFoundError:  # removed by whoever held the lock before us: done
            return 0
        name = path.name

        def fold(tx: LedgerTx) -> int:
            row = tx.execute("SELECT upto FROM journal_folded WHERE name = ?", (name,)).fetchone()
            return fold_in(tx, name, read_records(path, int(row[0]) if row else 0))

        rows = ledger.write(fold)
        # the rows and the offset are committed: the file goes, then its offset (a crash in
        # between leaves an offset without a file, which `_forget_removed` drops)
        path.unlink()
        ledger.write(lambda tx: forget(tx, name))
        if rows:
            log.info("folded %d rows of the ledger journal %s (its process is gone)", rows, path)
        return rows
    finally:
        os.close(fd)


def forget(tx: LedgerTx, name: str) -> None:
    """Drop journal ``name``'s offset (its file is removed: it is never needed again)."""
    tx.execute("DELETE FROM journal_folded WHERE name = ?", (name,))


def _forget_removed(ledger: Ledger, folder: Path) -> None:
    """Drop the offsets of journals whose file is gone (a crash right after their removal).
    Journal names are never reused, so such an offset can never be needed again."""
    try:
        names = [r[0] for r in ledger.read("SELECT name FROM journal_folded")]
        gone = [n for n in names if not (folder / n).exists()]
        if gone:

            def forget_all(tx: LedgerTx) -> None:
                for name in gone:
                    forget(tx, name)

            ledger.write(forget_all)
    except LedgerError as exc:
        log.warning("could not tidy the ledger journal offsets: %s", exc)


def take_over_quietly(ledger: Ledger) -> None:
    """`take_over` for a reader about to read (the CLI): a failure is logged, never raised."""
    try:
        take_over(ledger)
    except (LedgerError, OSError) as exc:
        log.warning("could not fold the ledger journals of processes that are gone: %s", exc)
