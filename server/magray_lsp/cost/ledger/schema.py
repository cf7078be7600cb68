"""The ledger's tables, how the rollups are kept, and the migrations between schemas.

Rollups spare an aggregate a scan of every request: hourly counts and money per (workspace,
provider, model), the same per action too (for views filtered by action), daily latency
histograms, provider attempts. Request rows are never updated or deleted (settling a reservation
deletes its `reservations` row and inserts the request), so adding each row once keeps every
rollup exact. Since schema 5 that happens after the row's own commit, off the answer's path:
`FOLD` adds the request rows past the watermark (`rollup_folded.upto`, the highest rowid the
rollups include) in one transaction that moves the watermark too; so every reader counts the
rollups plus the rows past the watermark (`UNFOLDED`), which is exact at any moment, in any
process. Outages stay with an `AFTER INSERT` trigger (they depend on row order); since schema 6
its `WHEN` clause lets the rows that cannot open or close one (a plain answer, no fallback, while
its provider has no open outage: nearly every row) skip its body. Since schema 7 a process's
rows reach `requests` from its row journal (`cost/journal.py`): `journal_folded` holds, per
journal file, the byte offset up to which its records are in `requests`, written in the same
transaction as those rows, so a record is folded exactly once whatever crashes when.
The SQL helpers here (`hour_of`, `is_attempt`, `chain_provider`, `ROLLUP_COLUMNS`) are the one
definition the folds and the queries in `metrics/` share, so a raw query over a window's rows
and the rollup agree on every figure.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 7

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


#: the suffix of a rollup's twin keyed by action (schema 4): `rollup_action`,
#: `rollup_latency_action`, `rollup_attempts_action` serve the views filtered by action, their
#: keys led by the action so such a view reads one action's rows in time order. Twins rather
#: than an action column in the rollups themselves: the unfiltered views and every budget check
#: sum a month of `rollup`, and an action in its key would multiply the rows they read by the
#: number of actions.
BY_ACTION = "_action"


def rollup_table(table: str, action: str | None) -> str:
    """The rollup to read for a view: ``table``, or its twin keyed by action when filtered."""
    return table if action is None else table + BY_ACTION


def _keyed(by_action: bool) -> tuple[str, str, str]:
    """(table suffix, key column prefix, NEW value prefix) of a rollup or of its twin."""
    return (BY_ACTION, "action, ", "NEW.action, ") if by_action else ("", "", "")


def _rollup_tables(by_action: bool) -> tuple[str, ...]:
    sfx, a, _ = _keyed(by_action)
    action = "action TEXT NOT NULL, " if by_action else ""
    counts = ", ".join(f"{c} INTEGER NOT NULL" for c in ROLLUP_COLUMNS)
    return (
        f"""
    CREATE TABLE rollup{sfx} (
        {action}hour INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        model TEXT NOT NULL, first_ts REAL NOT NULL,
        {counts},
        PRIMARY KEY ({a}hour, workspace, provider, model)
    )
    """,
        f"""
    CREATE TABLE rollup_latency{sfx} (
        {action}day INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        model TEXT NOT NULL, latency_bucket INTEGER NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY ({a}day, workspace, provider, model, latency_bucket)
    )
    """,
        f"""
    CREATE TABLE rollup_attempts{sfx} (
        {action}hour INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        attempts INTEGER NOT NULL, ok INTEGER NOT NULL,
        PRIMARY KEY ({a}hour, workspace, provider)
    )
    """,
    )


#: SQL: a request row the rollups do not include yet (past the watermark)
UNFOLDED = "rowid > (SELECT upto FROM rollup_folded)"


def unfolded(r: str = "") -> str:
    """``UNFOLDED`` for request rows aliased ``r`` ("r.")."""
    return f"{r}{UNFOLDED}"


def hours_total(column: str, start: str, end: str) -> str:
    """SQL: rollup ``column`` summed over the hours [start, end) (SQL expressions, such as
    bound parameters), the rows not folded yet included: what every month total reads."""
    raw = ROLLUP_COLUMNS[column].format(r="")
    return (
        f"((SELECT COALESCE(SUM({column}), 0) FROM rollup WHERE hour >= {start} AND hour < {end})"
        f" + (SELECT COALESCE(SUM({raw}), 0) FROM requests WHERE {UNFOLDED} "
        f"AND {hour_of()} >= {start} AND {hour_of()} < {end}))"
    )


def _folds(by_action: bool, rows: str) -> tuple[str, ...]:
    """SQL: add the request rows matching ``rows`` to a rollup and the others kept with it (or
    to their twins keyed by action), with the expressions the queries of raw rows use."""
    sfx, a, _ = _keyed(by_action)
    cols = ", ".join(ROLLUP_COLUMNS)
    sums = ", ".join(f"SUM({e.format(r='')})" for e in ROLLUP_COLUMNS.values())
    added = ", ".join(f"{c} = {c} + excluded.{c}" for c in ROLLUP_COLUMNS)
    keys = "1, 2, 3, 4, 5" if by_action else "1, 2, 3, 4"
    fb = chain_provider("j.value")
    return (
        f"INSERT INTO rollup{sfx} ({a}hour, workspace, provider, model, first_ts, {cols}) "
        f"SELECT {a}{hour_of()}, workspace, provider, model, MIN(ts), {sums} "
        f"FROM requests WHERE {rows} GROUP BY {keys} "
        f"ON CONFLICT ({a}hour, workspace, provider, model) DO UPDATE SET "
        f"first_ts = MIN(first_ts, excluded.first_ts), {added}",
        f"INSERT INTO rollup_latency{sfx} ({a}day, workspace, provider, model, latency_bucket, n) "
        f"SELECT {a}{hour_of(unit=86400)}, workspace, provider, model, latency_bucket, COUNT(*) "
        # NOT INDEXED: the partial latency index matches the WHERE but lacks the action, and a
        # lookup per row takes twice the time of one pass over the table (1M rows: 5 vs 2.7 s);
        # a range of rowids is still found by rowid
        f"FROM requests NOT INDEXED WHERE {rows} AND outcome = 'ok' AND cached = 0 "
        f"GROUP BY {keys}, {len(keys.split(',')) + 1} "
        f"ON CONFLICT ({a}day, workspace, provider, model, latency_bucket) DO UPDATE SET "
        "n = n + excluded.n",
        f"INSERT INTO rollup_attempts{sfx} ({a}hour, workspace, provider, attempts, ok) "
        f"SELECT {a}hour, workspace, provider, SUM(attempts), SUM(ok) FROM ("
        f"SELECT {a}{hour_of()} AS hour, workspace, provider, 1 AS attempts, "
        f"outcome = 'ok' AS ok FROM requests WHERE {rows} AND {is_attempt('')} UNION ALL "
        f"SELECT {'r.action, ' if by_action else ''}{hour_of('r.')}, r.workspace, {fb}, 1, 0 "
        f"FROM requests AS r, json_each(r.fallback_chain) AS j "
        f"WHERE {rows.replace('rowid', 'r.rowid')} AND r.cached = 0 AND r.fallback_count > 0) "
        f"WHERE true GROUP BY {keys.rsplit(',', 1)[0]} "
        f"ON CONFLICT ({a}hour, workspace, provider) DO UPDATE SET "
        "attempts = attempts + excluded.attempts, ok = ok + excluded.ok",
    )


#: SQL: fold the request rows with rowid in (:lo, :hi] into every rollup, then move the
#: watermark; run in one write transaction (`LedgerTx.fold`), so a reader sees either none of
#: it or all of it, and a rollback leaves nothing half-folded
FOLD = (
    *_folds(by_action=False, rows="rowid > :lo AND rowid <= :hi"),
    *_folds(by_action=True, rows="rowid > :lo AND rowid <= :hi"),
    "UPDATE rollup_folded SET upto = :hi",
)


def _action_backfills() -> tuple[str, ...]:
    """SQL: the rollups keyed by action filled from every request row already recorded."""
    return _folds(by_action=True, rows="1")


def _outages_trigger() -> str:
    """Outages opened by a fallback chain's failed providers or by an error, closed by an answer.
    Its body has three statements, each a no-op unless: the chain is not empty, the row is an
    error, or it is an answer from a provider with an open outage; the `WHEN` clause (schema 6)
    is that disjunction, so the usual row runs one index probe instead of the body."""
    fb = chain_provider("j.value")
    return f"""
    CREATE TRIGGER requests_outages AFTER INSERT ON requests
    WHEN NEW.cached = 0 AND (NEW.fallback_chain <> '[]' OR NEW.outcome = 'error' OR
        (NEW.outcome = 'ok' AND EXISTS
            (SELECT 1 FROM outages AS o WHERE o.provider = NEW.provider AND o.ended IS NULL)))
    BEGIN
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


#: schema 7: per row journal (`cost/journal.py`, by file name), the byte offset up to which its
#: records are in `requests`; moved in the transaction that inserts them
_JOURNAL_FOLDED = "CREATE TABLE journal_folded (name TEXT PRIMARY KEY, upto INTEGER NOT NULL)"

_WATERMARK = (
    "CREATE TABLE rollup_folded (id INTEGER PRIMARY KEY CHECK (id = 1), upto INTEGER NOT NULL)"
)


SCHEMA = (
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
    # daily latency histograms (a histogram per hour would be as big as the table), hourly
    # provider attempts; and their twins keyed by action.
    *_rollup_tables(by_action=False),
    *_rollup_tables(by_action=True),
    """
    CREATE TABLE outages (
        id INTEGER PRIMARY KEY, provider TEXT NOT NULL, started REAL NOT NULL, ended REAL
    )
    """,
    "CREATE INDEX outages_open ON outages (provider, ended)",
    "CREATE INDEX outages_started ON outages (started, provider, ended)",
    _outages_trigger(),
    _WATERMARK,
    "INSERT INTO rollup_folded (id, upto) VALUES (1, 0)",
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
    _JOURNAL_FOLDED,
)

# --- migrations: MIGRATIONS[v - 1] takes a file from schema v to v + 1, inside the transaction
# that then sets the new user_version. A fresh file gets SCHEMA (the newest) directly.


def _migrate_2_prompt_cache(conn: sqlite3.Connection) -> None:
    """Schema 1 → 2: prompt-cache columns on requests and rollup, and the rollup's cache-read
    counts rebuilt from the rows that already had them. (Its trigger that filled them on each
    insert: replaced by the folds of schema 5.)"""
    for column in _PROMPT_CACHE_COLUMNS:
        conn.execute(f"ALTER TABLE requests ADD COLUMN {column}")
    for column in _PROMPT_CACHE_ROLLUP:
        conn.execute(f"ALTER TABLE rollup ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
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


def _migrate_4_action_rollup(conn: sqlite3.Connection) -> None:
    """Schema 3 → 4: the rollups' twins keyed by action, filled from every row already
    recorded. The rollups themselves stay as they were."""
    for statement in (*_rollup_tables(by_action=True), *_action_backfills()):
        conn.execute(statement)


def _migrate_5_folds(conn: sqlite3.Connection) -> None:
    """Schema 4 → 5: the rollups are folded after the rows' commits rather than by a trigger
    inside them; the watermark starts past every row (the old trigger rolled them all up).
    Outages keep a trigger of their own (schema 6's, replaced again by the next step)."""
    conn.execute("DROP TRIGGER IF EXISTS requests_rollup")
    conn.execute(_outages_trigger())
    conn.execute(_WATERMARK)
    conn.execute(
        "INSERT INTO rollup_folded (id, upto) SELECT 1, COALESCE(MAX(rowid), 0) FROM requests"
    )


def _migrate_6_gated_outages(conn: sqlite3.Connection) -> None:
    """Schema 5 → 6: the outages trigger with its `WHEN` clause (same body, same outages)."""
    conn.execute("DROP TRIGGER IF EXISTS requests_outages")
    conn.execute(_outages_trigger())


def _migrate_7_journal(conn: sqlite3.Connection) -> None:
    """Schema 6 → 7: where each process's row journal is folded up to (none yet)."""
    conn.execute(_JOURNAL_FOLDED)


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migrate_2_prompt_cache,
    _migrate_3_cost_marks,
    _migrate_4_action_rollup,
    _migrate_5_folds,
    _migrate_6_gated_outages,
    _migrate_7_journal,
)
assert len(MIGRATIONS) == SCHEMA_VERSION - 1, "one migration per schema version"

COLUMNS = (
    "id, ts, workspace, action, source_path, provider, model, input_tokens, output_tokens, "
    "cached_input_tokens, cost_usd, cost_pico, estimated_usd, saved_usd, saved_pico, latency_ms, "
    "latency_bucket, first_token_ms, cached, fallback_chain, fallback_count, outcome, error_type, "
    "cache_write_tokens, uncached_usd, uncached_pico, tokens_estimated, price_assumed"
)
COLUMN_NAMES = tuple(name.strip() for name in COLUMNS.split(","))
INSERT = f"INSERT INTO requests ({COLUMNS}) VALUES ({', '.join('?' * len(COLUMN_NAMES))})"
