"""The usage ledger: one SQLite file (WAL) shared by every magray-lsp process on the machine.

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
import functools
import json
import logging
import math
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal, localcontext
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from magray_lsp.errors import MagrayError

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA_VERSION = 3
PICO = 10**12  # integer money unit: pico-dollars
DEFAULT_BUSY_TIMEOUT = 5.0

#: a built-in action ("explain", "document", "refactor", "hover", "fix", "tests") or the name
#: of a custom action
Action = str
Outcome = Literal["ok", "error", "cancelled", "budget_refused"]
OUTCOMES: frozenset[str] = frozenset(get_args(Outcome))

#: latency buckets per doubling; metrics find percentiles bucket-first (see ``latency_bucket``)
_BUCKETS_PER_DOUBLING = 16
#: errors that say something about the request, not about the provider's health
NOT_OUTAGES = ("BadRequest", "ContentFiltered", "ContextTooLong", "InvalidAnswer")


def hour_of(r: str = "", unit: int = 3600) -> str:
    """SQL: the hour (or other ``unit``) of row ``r``'s ts; the one definition rollups and queries
    share, so a row is in rollup hour h exactly when a raw query computes h for it."""
    return f"CAST({r}ts / {unit} AS INTEGER)"


#: rollup column → its value for one row (``{r}``: "NEW." in triggers, "r." in queries)
ROLLUP_COLUMNS: dict[str, str] = {
    "requests": "1",
    "ok": "{r}outcome = 'ok'",
    "errors": "{r}outcome = 'error'",
    "cancelled": "{r}outcome = 'cancelled'",
    "budget_refused": "{r}outcome = 'budget_refused'",
    "cache_hits": "{r}cached",
    "fallbacks": "{r}fallback_count > 0",
    "cost_pico": "COALESCE({r}cost_pico, 0)",
    "priced": "{r}cost_pico IS NOT NULL",
    "unpriced": "{r}cost_pico IS NULL AND {r}input_tokens + {r}output_tokens > 0",
    "saved_pico": "COALESCE({r}saved_pico, 0)",
    "input_tokens": "{r}input_tokens",
    "output_tokens": "{r}output_tokens",
    # schema 2, prompt caching: counted for provider calls only (a cache-hit row repeats the
    # usage of the answer it reuses)
    "cache_read_tokens": "CASE WHEN {r}cached THEN 0 ELSE {r}cached_input_tokens END",
    "cache_write_tokens": "CASE WHEN {r}cached THEN 0 ELSE {r}cache_write_tokens END",
    "prompt_saved_pico": (
        "CASE WHEN {r}cached THEN 0 ELSE COALESCE({r}uncached_pico - {r}cost_pico, 0) END"
    ),
}
#: rollup columns schema 2 added (`_migrate_2_prompt_cache`)
_PROMPT_CACHE_ROLLUP = ("cache_read_tokens", "cache_write_tokens", "prompt_saved_pico")
#: requests columns schema 2 added: tokens written to the provider's prompt cache, and what the
#: request would have cost without prompt caching (NULL when caching played no part)
_PROMPT_CACHE_COLUMNS = (
    "cache_write_tokens INTEGER NOT NULL DEFAULT 0",
    "uncached_usd TEXT",
    "uncached_pico INTEGER",
)
#: requests columns schema 3 added: marks for costs that are not the provider's figures.
#: tokens_estimated: the provider sent no usage (a call cancelled or broken off, a server that
#: never reports it), so the tokens are estimated from the text; price_assumed: the model has no
#: price and was charged at the placeholder price its reservation used (a hard budget never
#: counts it as free).
_COST_MARK_COLUMNS = (
    "tokens_estimated INTEGER NOT NULL DEFAULT 0",
    "price_assumed INTEGER NOT NULL DEFAULT 0",
)


def is_attempt(r: str) -> str:
    """SQL: row ``r``'s final provider call says something about that provider's health."""
    not_outage = ", ".join(f"'{name}'" for name in NOT_OUTAGES)
    return (
        f"({r}cached = 0 AND ({r}outcome = 'ok' OR ({r}outcome = 'error' AND "
        f"COALESCE({r}error_type, '') NOT IN ({not_outage}))))"
    )


def chain_provider(value: str) -> str:
    """SQL: the provider of a "provider/model" fallback-chain item. Ledgers written before the
    chain named models by id hold "provider.alias" labels too (and outages and attempts filed
    under them): there the provider is the part before the first dot, as the catalog reads a
    label. A section name never has a dot, so a bare provider name stays as it is."""
    slash, dot = f"instr({value}, '/')", f"instr({value}, '.')"
    return (
        f"CASE WHEN {slash} > 0 THEN substr({value}, 1, {slash} - 1) "
        f"WHEN {dot} > 0 THEN substr({value}, 1, {dot} - 1) ELSE {value} END"
    )


def _rollup_trigger() -> str:
    cols = ", ".join(ROLLUP_COLUMNS)
    values = ", ".join(f"({e.format(r='NEW.')})" for e in ROLLUP_COLUMNS.values())
    sums = ", ".join(f"{c} = {c} + excluded.{c}" for c in ROLLUP_COLUMNS)
    hour, day = hour_of("NEW."), hour_of("NEW.", 86400)
    fb = chain_provider("j.value")
    return f"""
    CREATE TRIGGER requests_rollup AFTER INSERT ON requests BEGIN
        INSERT INTO rollup (hour, workspace, provider, model, first_ts, {cols})
        VALUES ({hour}, NEW.workspace, NEW.provider, NEW.model, NEW.ts, {values})
        ON CONFLICT (hour, workspace, provider, model) DO UPDATE SET
            first_ts = MIN(first_ts, excluded.first_ts), {sums};
        INSERT INTO rollup_latency (day, workspace, provider, model, latency_bucket, n)
        SELECT {day}, NEW.workspace, NEW.provider, NEW.model, NEW.latency_bucket, 1
        WHERE NEW.outcome = 'ok' AND NEW.cached = 0
        ON CONFLICT (day, workspace, provider, model, latency_bucket) DO UPDATE SET n = n + 1;
        INSERT INTO rollup_attempts (hour, workspace, provider, attempts, ok)
        SELECT {hour}, NEW.workspace, {fb}, COUNT(*), 0 FROM json_each(NEW.fallback_chain) AS j
        WHERE NEW.cached = 0 GROUP BY 3
        ON CONFLICT (hour, workspace, provider) DO UPDATE SET
            attempts = attempts + excluded.attempts;
        INSERT INTO rollup_attempts (hour, workspace, provider, attempts, ok)
        SELECT {hour}, NEW.workspace, NEW.provider, 1, NEW.outcome = 'ok'
        WHERE {is_attempt("NEW.")}
        ON CONFLICT (hour, workspace, provider) DO UPDATE SET
            attempts = attempts + 1, ok = ok + excluded.ok;
        INSERT INTO outages (provider, started)
        SELECT DISTINCT {fb}, NEW.ts FROM json_each(NEW.fallback_chain) AS j
        WHERE NEW.cached = 0 AND NOT EXISTS
            (SELECT 1 FROM outages AS o WHERE o.provider = {fb} AND o.ended IS NULL);
        INSERT INTO outages (provider, started)
        SELECT NEW.provider, NEW.ts + NEW.latency_ms / 1000.0
        WHERE {is_attempt("NEW.")} AND NEW.outcome = 'error' AND NOT EXISTS
            (SELECT 1 FROM outages AS o WHERE o.provider = NEW.provider AND o.ended IS NULL);
        UPDATE outages SET ended = MAX(started, NEW.ts + NEW.latency_ms / 1000.0)
        WHERE provider = NEW.provider AND ended IS NULL AND NEW.outcome = 'ok' AND NEW.cached = 0;
    END
    """


_SCHEMA = (
    """
    CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        ts REAL NOT NULL,
        workspace TEXT NOT NULL,
        action TEXT NOT NULL,
        source_path TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cached_input_tokens INTEGER NOT NULL,
        cost_usd TEXT,
        cost_pico INTEGER,
        estimated_usd TEXT,
        saved_usd TEXT,
        saved_pico INTEGER,
        latency_ms REAL NOT NULL,
        latency_bucket INTEGER NOT NULL,
        first_token_ms REAL,
        cached INTEGER NOT NULL,
        fallback_chain TEXT NOT NULL,
        fallback_count INTEGER NOT NULL,
        outcome TEXT NOT NULL
            CHECK (outcome IN ('ok', 'error', 'cancelled', 'budget_refused')),
        error_type TEXT,
        """
    + ",\n        ".join(_PROMPT_CACHE_COLUMNS + _COST_MARK_COLUMNS)
    + """
    )
    """,
    "CREATE INDEX requests_ts ON requests (ts)",
    # Percentile picks: one latency bucket, in latency order, covering the window filters.
    "CREATE INDEX requests_latency ON requests "
    "(latency_bucket, latency_ms, ts, provider, model, workspace) "
    "WHERE outcome = 'ok' AND cached = 0",
    # Rollups kept by the trigger below, so aggregates never scan every request: hourly counts,
    # and daily latency histograms (a histogram per hour would be as big as the table).
    f"""
    CREATE TABLE rollup (
        hour INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        model TEXT NOT NULL, first_ts REAL NOT NULL,
        {", ".join(f"{c} INTEGER NOT NULL" for c in ROLLUP_COLUMNS)},
        PRIMARY KEY (hour, workspace, provider, model)
    )
    """,
    """
    CREATE TABLE rollup_latency (
        day INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        model TEXT NOT NULL, latency_bucket INTEGER NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (day, workspace, provider, model, latency_bucket)
    )
    """,
    """
    CREATE TABLE rollup_attempts (
        hour INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        attempts INTEGER NOT NULL, ok INTEGER NOT NULL,
        PRIMARY KEY (hour, workspace, provider)
    )
    """,
    """
    CREATE TABLE outages (
        id INTEGER PRIMARY KEY, provider TEXT NOT NULL, started REAL NOT NULL, ended REAL
    )
    """,
    "CREATE INDEX outages_open ON outages (provider, ended)",
    "CREATE INDEX outages_started ON outages (started, provider, ended)",
    _rollup_trigger(),
    """
    CREATE TABLE reservations (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        amount_usd TEXT NOT NULL,
        amount_pico INTEGER NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL
    )
    """,
    "CREATE INDEX reservations_expires ON reservations (expires)",
)

# --- migrations: _MIGRATIONS[v - 1] takes a file from schema v to v + 1, inside the transaction
# that then sets the new user_version. A fresh file gets _SCHEMA (the newest) directly.


def _migrate_2_prompt_cache(conn: sqlite3.Connection) -> None:
    """Schema 1 → 2: prompt-cache columns on requests and rollup, the trigger that fills them,
    and the rollup's cache-read counts rebuilt from the rows that already had them."""
    for column in _PROMPT_CACHE_COLUMNS:
        conn.execute(f"ALTER TABLE requests ADD COLUMN {column}")
    for column in _PROMPT_CACHE_ROLLUP:
        conn.execute(f"ALTER TABLE rollup ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    conn.execute("DROP TRIGGER requests_rollup")
    conn.execute(_rollup_trigger())
    reads = ROLLUP_COLUMNS["cache_read_tokens"].format(r="")
    conn.execute(
        f"""
        UPDATE rollup SET cache_read_tokens = old.n
        FROM (SELECT {hour_of()} AS hour, workspace, provider, model, SUM({reads}) AS n
              FROM requests WHERE cached_input_tokens > 0 GROUP BY 1, 2, 3, 4) AS old
        WHERE rollup.hour = old.hour AND rollup.workspace = old.workspace
            AND rollup.provider = old.provider AND rollup.model = old.model
        """
    )


def _migrate_3_cost_marks(conn: sqlite3.Connection) -> None:
    """Schema 2 → 3: the marks for estimated tokens and assumed prices (old rows: neither)."""
    for column in _COST_MARK_COLUMNS:
        conn.execute(f"ALTER TABLE requests ADD COLUMN {column}")


_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migrate_2_prompt_cache,
    _migrate_3_cost_marks,
)
assert len(_MIGRATIONS) == SCHEMA_VERSION - 1, "one migration per schema version"

_COLUMNS = (
    "id, ts, workspace, action, source_path, provider, model, input_tokens, output_tokens, "
    "cached_input_tokens, cost_usd, cost_pico, estimated_usd, saved_usd, saved_pico, latency_ms, "
    "latency_bucket, first_token_ms, cached, fallback_chain, fallback_count, outcome, error_type, "
    "cache_write_tokens, uncached_usd, uncached_pico, tokens_estimated, price_assumed"
)
_COLUMN_NAMES = tuple(name.strip() for name in _COLUMNS.split(","))
_INSERT = f"INSERT INTO requests ({_COLUMNS}) VALUES ({', '.join('?' * len(_COLUMN_NAMES))})"


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


# --- money -------------------------------------------------------------------------------------


def _check_money(value: Decimal, what: str) -> None:
    if not value.is_finite() or value < 0:
        raise ValueError(f"{what} must be a finite, non-negative Decimal, got {value!r}")


def to_pico(amount: Decimal) -> int:
    """USD → integer pico-dollars, rounded up (spend is never under-counted)."""
    _check_money(amount, "amount")
    with localcontext() as ctx:
        ctx.prec = 60
        return int((amount * PICO).to_integral_value(rounding=ROUND_CEILING))


def from_pico(pico: int) -> Decimal:
    """Integer pico-dollars → USD, exact, without trailing zeros."""
    d = Decimal(pico).scaleb(-12)
    if d == d.to_integral_value():
        return d.quantize(Decimal(1))
    return d.normalize()


def _money_text(amount: Decimal | None, what: str) -> str | None:
    if amount is None:
        return None
    _check_money(amount, what)
    return format(amount, "f")


def latency_bucket(latency_ms: float) -> int:
    """A coarse, monotonic bucket of a latency (16 per doubling); percentiles sort one bucket."""
    return int(_BUCKETS_PER_DOUBLING * math.log2(1.0 + max(latency_ms, 0.0)))


def month_bounds(now: datetime | float | None = None) -> tuple[float, float]:
    """[start, end) of the UTC calendar month containing ``now``, as epoch seconds."""
    if now is None:
        moment = datetime.now(UTC)
    elif isinstance(now, datetime):
        moment = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    else:
        moment = datetime.fromtimestamp(now, UTC)
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    if moment.month == 12:
        end = datetime(moment.year + 1, 1, 1, tzinfo=UTC)
    else:
        end = datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)
    return start.timestamp(), end.timestamp()


def month_hours(now: datetime | float | None = None) -> tuple[int, int]:
    """[start, end) of the UTC month containing ``now``, in rollup hours."""
    if isinstance(now, datetime):
        start, end = month_bounds(now)
        return int(start) // 3600, int(end) // 3600
    return _month_hours_of(int(time.time() if now is None else now) // 3600)


@functools.lru_cache(maxsize=64)
def _month_hours_of(hour: int) -> tuple[int, int]:
    # every budget check asks this; datetime arithmetic is slow next to a cached lookup
    start, end = month_bounds(hour * 3600.0)
    return int(start) // 3600, int(end) // 3600


_MONTH_SPEND = "SELECT COALESCE(SUM(cost_pico), 0) FROM rollup WHERE hour >= ? AND hour < ?"


# --- entries -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerEntry:
    """One request as the ledger remembers it. No prompt, no code: only where it came from.

    ``cost_usd`` is what was paid (``None``: the price is unknown, never guessed as zero). A cache
    hit records ``cached=True``, ``cost_usd=0`` and ``saved_usd`` = what the answer cost when it
    was first paid for. ``fallback_chain`` lists the "provider/model"s tried, and failed, before
    ``provider``/``model``. ``ts`` is when the request *started* (UTC epoch seconds); it picks the
    month the cost counts in, and ``ts + latency_ms`` is when it ended (used for outage times).
    ``error_type`` is the taxonomy class name (``"RateLimited"``, ``"Timeout"``, ...).
    ``cached_input_tokens`` and ``cache_write_tokens`` are the parts of ``input_tokens`` read from
    and written to the provider's prompt cache; ``uncached_usd`` is what the call would have cost
    without that cache (set when either is non-zero), so ``uncached_usd - cost_usd`` is what
    prompt caching saved.
    ``tokens_estimated``: the provider reported no usage (a call cancelled or broken off, or a
    server that never reports it): the tokens, hence the cost, are estimated from the text.
    ``price_assumed``: the model has no known price; under a hard budget it is charged at the
    placeholder price its reservation used rather than recorded as unknown.
    """

    action: Action
    provider: str
    model: str
    outcome: Outcome = "ok"
    workspace: str = ""
    source_path: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: Decimal | None = None
    uncached_usd: Decimal | None = None
    estimated_usd: Decimal | None = None
    saved_usd: Decimal | None = None
    latency_ms: float = 0.0
    first_token_ms: float | None = None
    cached: bool = False
    fallback_chain: Sequence[str] = ()
    error_type: str | None = None
    tokens_estimated: bool = False
    price_assumed: bool = False
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ts: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fallback_chain", tuple(self.fallback_chain))
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, got {self.outcome!r}")

    def _row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.ts,
            self.workspace,
            self.action,
            self.source_path,
            self.provider,
            self.model,
            self.input_tokens,
            self.output_tokens,
            self.cached_input_tokens,
            _money_text(self.cost_usd, "cost_usd"),
            None if self.cost_usd is None else to_pico(self.cost_usd),
            _money_text(self.estimated_usd, "estimated_usd"),
            _money_text(self.saved_usd, "saved_usd"),
            None if self.saved_usd is None else to_pico(self.saved_usd),
            self.latency_ms,
            latency_bucket(self.latency_ms),
            self.first_token_ms,
            int(self.cached),
            json.dumps(list(self.fallback_chain)),
            len(self.fallback_chain),
            self.outcome,
            self.error_type,
            self.cache_write_tokens,
            _money_text(self.uncached_usd, "uncached_usd"),
            None if self.uncached_usd is None else to_pico(self.uncached_usd),
            int(self.tokens_estimated),
            int(self.price_assumed),
        )

    @classmethod
    def _from_row(cls, row: Sequence[Any]) -> LedgerEntry:
        r = dict(zip(_COLUMN_NAMES, row, strict=True))
        return cls(
            id=r["id"],
            ts=r["ts"],
            workspace=r["workspace"],
            action=r["action"],
            source_path=r["source_path"],
            provider=r["provider"],
            model=r["model"],
            input_tokens=r["input_tokens"],
            output_tokens=r["output_tokens"],
            cached_input_tokens=r["cached_input_tokens"],
            cache_write_tokens=r["cache_write_tokens"],
            cost_usd=_decimal_or_none(r["cost_usd"]),
            uncached_usd=_decimal_or_none(r["uncached_usd"]),
            estimated_usd=_decimal_or_none(r["estimated_usd"]),
            saved_usd=_decimal_or_none(r["saved_usd"]),
            latency_ms=r["latency_ms"],
            first_token_ms=r["first_token_ms"],
            cached=bool(r["cached"]),
            fallback_chain=tuple(json.loads(r["fallback_chain"])),
            outcome=r["outcome"],
            error_type=r["error_type"],
            tokens_estimated=bool(r["tokens_estimated"]),
            price_assumed=bool(r["price_assumed"]),
        )


def _decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


# --- errors ------------------------------------------------------------------------------------


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0)) & 0xFF


def _is_corrupt(exc: sqlite3.Error) -> bool:
    return _code(exc) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _is_busy(exc: sqlite3.Error) -> bool:
    return _code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc)


class LedgerTx:
    """What a write transaction may do; handed out by ``Ledger.transaction``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)

    def record(self, entry: LedgerEntry) -> None:
        self._conn.execute(_INSERT, entry._row())

    def month_spend_pico(self, now: datetime | float | None = None) -> int:
        row = self._conn.execute(_MONTH_SPEND, month_hours(now)).fetchone()
        return int(row[0])


# --- the ledger --------------------------------------------------------------------------------


class Ledger:
    """The shared usage history. Thread-safe; safe across processes sharing the file."""

    def __init__(
        self, path: Path | None = None, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> None:
        self.path = Path(path) if path is not None else default_ledger_path()
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
        holder = _Holder(conn, _inode(self.path))
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # NOTADB shows here
            self._retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version < SCHEMA_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                    if version == 0:
                        for statement in _SCHEMA:
                            conn.execute(statement)
                        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    elif version < SCHEMA_VERSION:
                        for step in _MIGRATIONS[version - 1 :]:
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
            if inode is None or _inode(self.path) != inode:
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

    def _holder(self) -> _Holder:
        """This thread's connection, (re)opened if missing or if the file was replaced."""
        if self._closed:
            raise LedgerError(f"the usage ledger at {self.path} is closed")
        holder: _Holder | None = getattr(self._local, "holder", None)
        if holder is not None:
            if holder.inode == _inode(self.path):
                return holder
            self._drop(holder)  # moved aside or deleted: follow the path, not the old file
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
        # The thread-local holder dies with its thread, and the finalizer closes the connection.
        weakref.finalize(holder, _close_quietly, holder.conn)
        with self._lock:
            self._holders.add(holder)
        self._local.holder = holder
        return holder

    def _drop(self, holder: _Holder) -> None:
        with self._lock:
            self._holders.discard(holder)
        if getattr(self._local, "holder", None) is holder:
            del self._local.holder
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

    def _failed(self, exc: sqlite3.Error) -> LedgerError:
        """Translate an error of this thread's connection; a corrupt file is moved aside."""
        holder: _Holder | None = getattr(self._local, "holder", None)
        if not _is_corrupt(exc) or holder is None:
            return self._translate(exc)
        self._drop(holder)
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

    @contextlib.contextmanager
    def transaction(self) -> Iterator[LedgerTx]:
        """A write transaction (``BEGIN IMMEDIATE``): atomic, serialized across processes.

        Prefer ``write``, which also retries once on a fresh ledger if the file was corrupt.
        """
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        try:
            yield LedgerTx(conn)
        except sqlite3.Error as exc:
            _rollback(conn)
            raise self._failed(exc) from None
        except BaseException:
            _rollback(conn)
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise self._failed(exc) from None

    def write(self, body: Callable[[LedgerTx], T]) -> T:
        """Run ``body`` in a write transaction; after a corrupt file was replaced, run it again."""
        try:
            with self.transaction() as tx:
                return body(tx)
        except LedgerCorrupt as exc:
            if not exc.recovered:
                raise
        with self.transaction() as tx:
            return body(tx)

    def write_nowait(self, body: Callable[[LedgerTx], T]) -> T:
        """``write``, but raise ``LedgerBusy`` at once if another connection holds the write
        lock (for callers that must not block, such as an event loop; they queue instead)."""
        conn = self._conn()
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            return self.write(body)
        finally:
            with contextlib.suppress(sqlite3.Error):  # closed if the file was replaced
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")

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
        sql = f"SELECT {_COLUMNS} FROM requests"
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
        rows = self.read(
            "SELECT COALESCE(SUM(unpriced), 0) FROM rollup WHERE hour >= ? AND hour < ?",
            month_hours(now),
        )
        return int(rows[0][0])

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


class _Holder:
    """One thread's connection and the file (inode) it opened; weakly referenceable, unlike
    sqlite3.Connection."""

    __slots__ = ("__weakref__", "conn", "inode")

    def __init__(self, conn: sqlite3.Connection, inode: int | None) -> None:
        self.conn = conn
        self.inode = inode


def _inode(path: Path) -> int | None:
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
