"""A read-only view of the usage ledger, for the dashboard.

``Ledger`` itself creates the file, migrates the schema and moves a corrupt file aside; a viewer
must do none of that. ``LedgerReader`` opens the file with a ``mode=ro`` URI, never writes, and
turns every way the file can be unusable (missing, not a ledger, corrupt, locked, too new) into a
``LedgerUnavailable`` whose message says what is wrong and where.

It subclasses ``Ledger`` only so the existing read APIs (``metrics.summary``,
``Ledger.month_spend``, ``Ledger.recent``, ``BudgetGuard.status``) accept it: they all go through
``read`` and ``snapshot``, which are overridden here. Every write path raises.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from magray_lsp.cost.ledger import SCHEMA_VERSION, Ledger, LedgerError, LedgerTx

#: a dashboard answers quickly with "locked" rather than hanging a browser tab
READ_BUSY_TIMEOUT = 1.0


class LedgerUnavailable(LedgerError):
    """The ledger cannot be read right now; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class LedgerReader(Ledger):
    """One read-only connection to the ledger file; use it from one thread at a time."""

    def __init__(self, path: Path, *, busy_timeout: float = READ_BUSY_TIMEOUT) -> None:
        # Deliberately not Ledger.__init__: that creates and migrates the file.
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.warnings: list[str] = []
        self._guard = threading.Lock()
        #: answers already given inside the current snapshot (None: no snapshot open)
        self._memo: dict[tuple[str, tuple[Any, ...]], list[tuple[Any, ...]]] | None = None
        self._conn_ro = self._open_ro()

    def _open_ro(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise LedgerUnavailable(
                "missing",
                f"no usage ledger at {self.path} yet: magray-lsp has not recorded a request "
                "there (or --ledger points somewhere else)",
            )
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        try:
            conn = sqlite3.connect(
                uri,
                uri=True,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        except sqlite3.Error as exc:
            conn.close()
            raise self._unavailable(exc) from None
        if version > SCHEMA_VERSION:
            conn.close()
            raise LedgerUnavailable(
                "too_new",
                f"the usage ledger at {self.path} has schema version {version}, newer than this "
                f"magray-lsp understands ({SCHEMA_VERSION}); upgrade magray-lsp",
            )
        if 0 < version < SCHEMA_VERSION and "requests" in tables:
            conn.close()  # upgrading writes, which a viewer never does
            raise LedgerUnavailable(
                "too_old",
                f"the usage ledger at {self.path} has schema version {version}, older than this "
                f"magray-lsp's ({SCHEMA_VERSION}); it is upgraded the next time magray-lsp "
                "records a request or runs `magray-lsp stats`",
            )
        if version < SCHEMA_VERSION or not {"requests", "rollup", "outages"} <= tables:
            conn.close()
            raise LedgerUnavailable(
                "not_a_ledger", f"{self.path} is not a magray usage ledger (no ledger schema)"
            )
        if version < SCHEMA_VERSION:  # read-only here: the next request magray records upgrades it
            conn.close()
            raise LedgerUnavailable(
                "too_old",
                f"the usage ledger at {self.path} has schema version {version}, older than this "
                f"magray-lsp's ({SCHEMA_VERSION}); it is upgraded the next time magray-lsp "
                "records a request",
            )
        return conn

    def _unavailable(self, exc: sqlite3.Error) -> LedgerUnavailable:
        code = int(getattr(exc, "sqlite_errorcode", 0)) & 0xFF
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return LedgerUnavailable(
                "corrupt",
                f"the usage ledger at {self.path} is damaged ({exc}); magray-lsp moves a damaged "
                "ledger aside and starts a fresh one the next time it records a request",
            )
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc):
            return LedgerUnavailable(
                "locked",
                f"the usage ledger at {self.path} is locked by another process; "
                "the dashboard retries on its next refresh",
            )
        if code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_IOERR):
            return LedgerUnavailable(
                "unreadable", f"cannot read the usage ledger at {self.path}: {exc}"
            )
        return LedgerUnavailable("error", f"usage ledger at {self.path}: {exc}")

    # --- the read API the metrics use -----------------------------------------------------------

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one query. Inside a snapshot the file cannot change, so a query asked twice (the
        dashboard and ``metrics.summary`` both need the latency histogram) is answered once."""
        key = (sql, tuple(params))
        with self._guard:
            if self._memo is not None and key in self._memo:
                return list(self._memo[key])
            try:
                rows = self._conn_ro.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from None
            if self._memo is not None:
                self._memo[key] = rows
            return list(rows)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every ``read`` inside the block sees the same state of the file."""
        conn = self._conn_ro
        if conn.in_transaction:
            yield
            return
        try:
            conn.execute("BEGIN DEFERRED")
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None
        self._memo = {}
        try:
            yield
        finally:
            self._memo = None
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn_ro.close()

    # --- no writes ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, slot: str, *, fold: bool) -> Iterator[LedgerTx]:
        raise LedgerError(f"the dashboard opened {self.path} read-only")
        yield  # pragma: no cover - makes this a generator

    def __enter__(self) -> LedgerReader:
        return self
