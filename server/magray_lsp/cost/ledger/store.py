"""The ledger file and its API: a connection per thread, write transactions serialized across
processes, a damaged file moved aside, and the history (record, recent, month spend).

Each finished, failed, cancelled or refused request becomes one row: who answered, tokens, cost,
latency, fallbacks. Never the prompt or the code — only the file path it came from.

Money is stored twice: as exact decimal TEXT (what the price table said) and as integer
pico-dollars (10⁻¹² USD, rounded up) so ``SUM`` in SQL is exact and fast. Micro-dollars are too
coarse: one gpt-4o-mini input token costs $0.00000015. Pico-dollars are exact for every price quoted
per million tokens with up to six decimals, and a 64-bit ``SUM`` holds $9.2M.

The API is synchronous (a row is a fraction of a millisecond); async callers use
``asyncio.to_thread``. Each thread gets its own connection; every write runs in
``BEGIN IMMEDIATE`` so concurrent processes queue on the file lock (``busy_timeout``) instead of
failing with "database is locked".
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from magray_lsp.cost.ledger.entry import LedgerEntry, from_pico, month_hours
from magray_lsp.cost.ledger.schema import (
    COLUMNS,
    FOLD,
    INSERT,
    MIGRATIONS,
    SCHEMA,
    SCHEMA_VERSION,
    hours_total,
)
from magray_lsp.errors import MagrayError

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_BUSY_TIMEOUT = 5.0
#: how long opening a ledger older than this code waits for the write lock (see `_begin_upgrade`)
UPGRADE_BUSY_TIMEOUT = 120.0

#: the thread-local slots of a thread's connections: the one that waits for another process's
#: write lock (``busy_timeout``), and the one that never does (``append(nowait=True)``; its busy
#: timeout stays 0, instead of two PRAGMAs per call switching one connection back and forth)
_WAITS, _NOWAIT = "holder", "nowait_holder"

_MONTH_SPEND = f"SELECT {hours_total('cost_pico', '?1', '?2')}"
_MONTH_UNPRICED = f"SELECT {hours_total('unpriced', '?1', '?2')}"
#: the rows past the watermark (at most ?1 of them; -1: all): how many, the last one's rowid,
#: and the watermark
_TO_FOLD = (
    "SELECT COUNT(*), MAX(rowid), (SELECT upto FROM rollup_folded) FROM (SELECT rowid FROM "
    "requests WHERE rowid > (SELECT upto FROM rollup_folded) ORDER BY rowid LIMIT ?1)"
)
#: a row journal's folded offset, set (`LedgerTx.journal_folded`)
_JOURNAL_FOLDED = (
    "INSERT INTO journal_folded (name, upto) VALUES (?, ?) "
    "ON CONFLICT (name) DO UPDATE SET upto = excluded.upto"
)


class LedgerError(MagrayError):
    """The ledger file cannot be used; the message names the file."""


class LedgerBusy(LedgerError):
    """Another process held the ledger's write lock for longer than ``busy_timeout``."""


class LedgerCorrupt(LedgerError):
    """The ledger file is damaged. ``recovered``: it was moved aside and a fresh one started."""

    def __init__(self, message: str, *, recovered: bool = False) -> None:
        super().__init__(message)
        self.recovered = recovered


class _Damaged(Exception):
    """Internal: opening found a damaged file, identified by its inode."""

    def __init__(self, error: sqlite3.DatabaseError, inode: int | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.inode = inode


def default_ledger_path() -> Path:
    """``$XDG_DATA_HOME/magray/ledger.sqlite3`` (``~/.local/share`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "magray" / "ledger.sqlite3"


# --- errors ------------------------------------------------------------------------------------


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0)) & 0xFF


def _is_corrupt(exc: sqlite3.Error) -> bool:
    return _code(exc) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _is_busy(exc: sqlite3.Error) -> bool:
    return _code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc)


class LedgerTx:
    """What a write transaction may do; handed out by ``Ledger.transaction``.

    It remembers what it wrote, for `BudgetTracker` to bring its totals up to date without a
    query: the rows ``record`` inserted (and the last one's rowid), whether anything else was
    executed, and where its connection stood when it began."""

    __slots__ = (
        "_conn",
        "_cur",
        "changes_at_start",
        "holder",
        "last_rowid",
        "only_records",
        "recorded",
    )

    def __init__(self, holder: _Holder) -> None:
        self.holder = holder
        self._conn = conn = holder.conn
        self._cur = holder.cur
        #: ``total_changes`` of the connection when the transaction began
        self.changes_at_start = conn.total_changes
        #: the rows ``record`` inserted (as stored), and the rowid of the last one
        self.recorded: list[tuple[Any, ...]] = []
        self.last_rowid: int | None = None
        #: nothing but ``record`` (and reads) ran in it so far
        self.only_records = True

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        self.only_records = False
        return self._conn.execute(sql, params)

    def record(self, entry: LedgerEntry) -> None:
        row = entry._row()
        self.last_rowid = self._cur.execute(INSERT, row).lastrowid
        self.recorded.append(row)

    def journal_folded(self, name: str, upto: int) -> None:
        """Mark the row journal ``name`` folded up to byte ``upto`` (`cost/journal.py`), in this
        transaction, with the rows it inserted. Not counted as "anything else executed"
        (``only_records``): the offset changes no money, so `BudgetTracker`'s shortcut holds."""
        self._cur.execute(_JOURNAL_FOLDED, (name, upto))

    def data_version(self) -> int:
        """``PRAGMA data_version`` of this connection: it changes when any other connection
        (of this process or another) commits to the file, never for this one's own commits."""
        return int(self._cur.execute("PRAGMA data_version").fetchone()[0])

    def total_changes(self) -> int:
        return self._conn.total_changes

    def month_spend_pico(self, now: datetime | float | None = None) -> int:
        row = self._conn.execute(_MONTH_SPEND, month_hours(now)).fetchone()
        return int(row[0])

    def fold(self, limit: int | None = None) -> int:
        """Add the request rows past the watermark (the oldest ``limit`` of them; None: all)
        to the rollups and move the watermark past them; how many rows."""
        n, hi, lo = self._conn.execute(_TO_FOLD, (-1 if limit is None else limit,)).fetchone()
        if n:
            params = {"lo": lo, "hi": hi}
            for statement in FOLD:
                self._conn.execute(statement, params)
        return int(n)


# --- the ledger --------------------------------------------------------------------------------


class Ledger:
    """The shared usage history. Thread-safe; safe across processes sharing the file."""

    def __init__(
        self, path: Path | None = None, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> None:
        self.path = Path(path) if path is not None else default_ledger_path()
        self._path = os.fspath(self.path)  # for the inode check before every transaction
        self.busy_timeout = busy_timeout
        #: problems fixed at open (e.g. a corrupt file moved aside), for the user to see
        self.warnings: list[str] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._holders: weakref.WeakSet[_Holder] = weakref.WeakSet()
        self._closed = False
        self._open()

    # connections

    def _connect(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open the usage ledger at {self.path}: {exc}") from None

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(
                f"cannot create the ledger directory {self.path.parent}: {exc}"
            ) from None
        self._holder()

    def _init_file(self) -> _Holder:
        """Connect, switch to WAL and create or check the schema (once, whoever comes first)."""
        conn = self._connect()
        holder = _Holder(conn, _inode(self._path))
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # NOTADB shows here
            self._retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version < SCHEMA_VERSION:
                self._begin_upgrade(conn)
                try:
                    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                    if version == 0:
                        for statement in SCHEMA:
                            conn.execute(statement)
                        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    elif version < SCHEMA_VERSION:
                        for step in MIGRATIONS[version - 1 :]:
                            step(conn)
                        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"the usage ledger at {self.path} has schema version {version}, newer than "
                    f"this magray-lsp understands ({SCHEMA_VERSION}); upgrade magray-lsp"
                )
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _Damaged(exc, holder.inode) from exc
        except BaseException:
            conn.close()
            raise
        return holder

    def _begin_upgrade(self, conn: sqlite3.Connection) -> None:
        """Take the write lock to upgrade the schema. Another server may be upgrading the same
        file right now, which takes seconds on a big ledger (schema 4 fills its rollups keyed
        by action from every row: ~10 s for a million): wait for it rather than fail start-up."""
        wait = max(self.busy_timeout, UPGRADE_BUSY_TIMEOUT)
        conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")

    def _retry_busy(self, op: Callable[[], object]) -> object:
        # Changing journal_mode may return BUSY without waiting on the busy handler.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                return op()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _move_aside(self, exc: sqlite3.Error, inode: int | None) -> None:
        """Move the corrupt file (and its -wal/-shm) aside, unless another process already did:
        the file we found damaged is the one with ``inode``; a different inode is a fresh ledger."""
        with _file_lock(self.path.with_name(self.path.name + ".lock")):
            if inode is None or _inode(self._path) != inode:
                return
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
            try:
                os.replace(self.path, aside)
                for suffix in ("-wal", "-shm"):
                    side = self.path.with_name(self.path.name + suffix)
                    if side.exists():
                        os.replace(side, aside.with_name(aside.name + suffix))
            except OSError as err:
                raise LedgerCorrupt(
                    f"the usage ledger at {self.path} is corrupt ({exc}) and could not be moved "
                    f"aside: {err}"
                ) from None
        message = (
            f"the usage ledger at {self.path} was corrupt ({exc}); moved it to {aside} and "
            "started a fresh ledger"
        )
        log.warning(message)
        self.warnings.append(message)

    def _holder(self, slot: str = _WAITS) -> _Holder:
        """This thread's connection (of ``slot``), (re)opened if missing or if the file was
        replaced: one ``stat`` of the path per call, so a row never goes to a file that another
        process moved aside (a connection keeps writing to the file it opened, and SQLite does
        not notice the rename in WAL mode)."""
        if self._closed:
            raise LedgerError(f"the usage ledger at {self.path} is closed")
        holder: _Holder | None = getattr(self._local, slot, None)
        if holder is not None:
            if holder.inode == _inode(self._path):
                return holder
            self._drop(holder, slot)  # moved aside or deleted: follow the path, not the old file
        for attempt in range(2):
            try:
                holder = self._init_file()
                break
            except _Damaged as damaged:
                if attempt or not _is_corrupt(damaged.error):
                    raise self._translate(damaged.error) from None
                self._move_aside(damaged.error, damaged.inode)
            except sqlite3.Error as exc:
                raise self._translate(exc) from None
        assert holder is not None
        if slot == _NOWAIT:
            holder.conn.execute("PRAGMA busy_timeout = 0")
        # The thread-local holder dies with its thread, and the finalizer closes the connection.
        weakref.finalize(holder, _close_quietly, holder.conn)
        with self._lock:
            self._holders.add(holder)
        setattr(self._local, slot, holder)
        return holder

    def _drop(self, holder: _Holder, slot: str) -> None:
        with self._lock:
            self._holders.discard(holder)
        if getattr(self._local, slot, None) is holder:
            delattr(self._local, slot)
        _close_quietly(holder.conn)

    def _conn(self) -> sqlite3.Connection:
        return self._holder().conn

    def _translate(self, exc: sqlite3.Error) -> LedgerError:
        if _is_corrupt(exc):
            return LedgerCorrupt(f"the usage ledger at {self.path} is corrupt ({exc})")
        if _is_busy(exc):
            return LedgerBusy(
                f"the usage ledger at {self.path} stayed locked by another process for "
                f"{self.busy_timeout:g} s"
            )
        return LedgerError(f"usage ledger at {self.path}: {exc}")

    def _failed(self, exc: sqlite3.Error, slot: str = _WAITS) -> LedgerError:
        """Translate an error of this thread's connection; a corrupt file is moved aside."""
        holder: _Holder | None = getattr(self._local, slot, None)
        if not _is_corrupt(exc) or holder is None:
            return self._translate(exc)
        self._drop(holder, slot)
        try:
            self._move_aside(exc, holder.inode)
        except LedgerError as err:
            return err
        return LedgerCorrupt(
            f"the usage ledger at {self.path} was corrupt ({exc}); it was moved aside and a "
            "fresh ledger started",
            recovered=True,
        )

    # transactions

    def transaction(self) -> contextlib.AbstractContextManager[LedgerTx]:
        """A write transaction (``BEGIN IMMEDIATE``): atomic, serialized across processes.

        Before it commits, it folds every request row not in the rollups yet (see ``append``).
        Prefer ``write``, which also retries once on a fresh ledger if the file was corrupt.
        """
        return self._transaction(_WAITS, fold=True)

    def _transaction(self, slot: str, *, fold: bool) -> contextlib.AbstractContextManager[LedgerTx]:
        """Every write's transaction (a read-only subclass refuses them here)."""
        return _Transaction(self, slot, fold)

    def write(self, body: Callable[[LedgerTx], T]) -> T:
        """Run ``body`` in a write ``transaction`` (so the rollups are up to date when it
        commits); after a corrupt file was replaced, run it again."""
        return self._write(body, _WAITS, fold=True)

    def append(self, body: Callable[[LedgerTx], T], *, nowait: bool = False) -> T:
        """``write`` without folding: the rows ``body`` records reach the rollups with a later
        ``fold`` (whichever process runs it); readers count them meanwhile. ``nowait``: raise
        ``LedgerBusy`` at once if another connection holds the write lock (for callers that
        must not block, such as an event loop; they queue instead), on this thread's second
        connection, whose busy timeout stays 0."""
        return self._write(body, _NOWAIT if nowait else _WAITS, fold=False)

    def fold(self, limit: int | None = None) -> int:
        """Fold the request rows not in the rollups yet (the oldest ``limit``; None: all), in a
        write transaction of their own; how many."""
        return self._write(lambda tx: tx.fold(limit), _WAITS, fold=False)

    def _write(self, body: Callable[[LedgerTx], T], slot: str, *, fold: bool) -> T:
        try:
            with self._transaction(slot, fold=fold) as tx:
                return body(tx)
        except LedgerCorrupt as exc:
            if not exc.recovered:
                raise
        with self._transaction(slot, fold=fold) as tx:
            return body(tx)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every ``read`` in this thread inside the block sees the same state of the file."""
        conn = self._conn()
        if conn.in_transaction:
            yield
            return
        try:
            conn.execute("BEGIN DEFERRED")
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        try:
            yield
        finally:
            _rollback(conn)  # nothing was written: ending the read transaction is all it does

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read-only query (a consistent snapshot under WAL; never waits on writers)."""
        for attempt in range(2):
            try:
                return self._conn().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                err = self._failed(exc)
                if attempt or not (isinstance(err, LedgerCorrupt) and err.recovered):
                    raise err from None
        raise AssertionError("unreachable")  # pragma: no cover

    # the public history

    def record(self, entry: LedgerEntry) -> None:
        """Append one request. Raises ``LedgerError`` if its id is already recorded."""
        self.write(lambda tx: tx.record(entry))

    def recent(self, limit: int = 50, since: float | None = None) -> list[LedgerEntry]:
        """The newest ``limit`` entries, newest first; only those at or after ``since`` if given."""
        sql = f"SELECT {COLUMNS} FROM requests"
        params: list[Any] = []
        if since is not None:
            sql += " WHERE ts >= ?"
            params.append(since)
        sql += " ORDER BY ts DESC, rowid DESC LIMIT ?"
        params.append(limit)
        return [LedgerEntry._from_row(row) for row in self.read(sql, params)]

    def month_spend(self, now: datetime | float | None = None) -> Decimal:
        """Known spend in the UTC calendar month containing ``now`` (unknown prices excluded)."""
        return from_pico(int(self.read(_MONTH_SPEND, month_hours(now))[0][0]))

    def month_unpriced(self, now: datetime | float | None = None) -> int:
        """Requests this month that used tokens at an unknown price (not in ``month_spend``)."""
        return int(self.read(_MONTH_UNPRICED, month_hours(now))[0][0])

    def close(self) -> None:
        """Close every connection (of every thread). Later calls raise ``LedgerError``."""
        with self._lock:
            self._closed = True
            holders = list(self._holders)
            self._holders.clear()
        for holder in holders:
            _close_quietly(holder.conn)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Transaction:
    """A write transaction on this thread's connection of ``slot`` (``Ledger.transaction``):
    ``BEGIN IMMEDIATE``, then, unless the block raised, the fold (``fold``) and ``COMMIT``; a
    SQLite error is translated (a corrupt file moved aside). A class rather than a generator:
    it is on every ledger row's path."""

    __slots__ = ("fold", "holder", "ledger", "slot", "tx")

    def __init__(self, ledger: Ledger, slot: str, fold: bool) -> None:
        self.ledger = ledger
        self.slot = slot
        self.fold = fold

    def __enter__(self) -> LedgerTx:
        ledger, slot = self.ledger, self.slot
        self.holder = holder = ledger._holder(slot)
        try:
            holder.cur.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise ledger._failed(exc, slot) from None
        self.tx = LedgerTx(holder)
        return self.tx

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        conn = self.holder.conn
        if error is None:
            try:
                if self.fold:
                    self.tx.fold()
                self.holder.cur.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise self.ledger._failed(exc, self.slot) from None
            except BaseException:
                _rollback(conn)
                raise
            self.holder.commits += 1
            return
        _rollback(conn)
        if isinstance(error, sqlite3.Error):
            raise self.ledger._failed(error, self.slot) from None
        # any other error goes on as it is


class _Holder:
    """One thread's connection, the file (inode) it opened, and how many write transactions it
    committed; weakly referenceable, unlike sqlite3.Connection. ``cur``: the one cursor of the
    statements that leave no result behind (BEGIN, a row's INSERT, COMMIT, ``data_version``),
    not a new one each (``LedgerTx.execute``'s callers get cursors of their own)."""

    __slots__ = ("__weakref__", "commits", "conn", "cur", "inode")

    def __init__(self, conn: sqlite3.Connection, inode: int | None) -> None:
        self.conn = conn
        self.cur = conn.cursor()
        self.inode = inode
        self.commits = 0


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _close_quietly(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        conn.close()


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An advisory inter-process lock (POSIX ``flock``; a no-op where unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
