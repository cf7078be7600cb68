"""Monitoring numbers, computed from the ledger with SQL aggregates, plus live in-process counters.

Independent of LSP and HTTP: ``magray-lsp stats``, ``magray.showUsage`` and a dashboard all render
the same ``summary`` dict (money as ``Decimal``; ``jsonable`` turns it into strings).

Fast at a million rows: the ledger keeps hourly rollups (by trigger, in the same transaction as
each insert), so a query reads the rollup for the whole hours of the window and raw requests only
for the partial hours at its two ends. The results are exact, not sampled.

Definitions (over the window ``since <= ts < until``):

- *success rate*: ``ok / (ok + error)``; cancelled and budget-refused requests are neither.
- *latency percentiles* (nearest rank) over successful, uncached requests. Each request stores a
  logarithmic ``latency_bucket``; counts per bucket come from the rollup, and only the one bucket
  holding the wanted rank is read in order (``ORDER BY latency_ms LIMIT 1 OFFSET k``).
- *requests/s*: requests ÷ window seconds; the window defaults to the first matching request → now.
- *cost per request*: known cost ÷ requests with a known cost; ``unpriced`` counts requests that
  used tokens at an unknown price.
- *fallback rate*: share of requests whose ``fallback_chain`` is non-empty.
- *cache hit rate*: share of requests answered from the cache; *saved*: the sum of ``saved_usd``,
  which the gateway records on a cache hit as what the cached answer cost when first paid for.
- *prompt cache*: input tokens that provider calls read from (``cache_read_tokens``) and wrote to
  (``cache_write_tokens``) the provider's prompt cache; *prompt_cache_saved_usd*: the sum over
  those calls of what they would have cost uncached minus what they cost (cache writes priced
  above input make it negative until they are read back).
- *provider attempts*: the provider that answered (or failed last) plus each provider in the
  request's ``fallback_chain`` (each of those failed). Cache hits and request-specific errors
  (``BadRequest``, ``ContentFiltered``, ``ContextTooLong``, ``InvalidAnswer``) are not attempts.
  Fallback items carry
  no error type, so a context-window fallback also counts against the provider that was too small.
- *uptime*: the mean, over time buckets (whole hours) with attempts, of the share that succeeded.
- *recovery time*: an outage opens at a provider's first failed attempt and closes at its next
  success (in the order requests were recorded, across every workspace); reported for outages
  that started in the window. An outage not yet over is ``ongoing_since``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from magray_lsp.cost.ledger import Ledger, from_pico
from magray_lsp.cost.ledger.schema import ROLLUP_COLUMNS, chain_provider, hour_of, is_attempt

PERCENTILES = (50, 90, 99)
HOUR, DAY = 3600, 86400


def _unit_of(unit: int) -> str:
    """SQL: the hour (or day) of a bound parameter, computed exactly as ``hour_of`` does."""
    return f"CAST(? / {unit} AS INTEGER)"


class LiveCounters:
    """What the ledger cannot know: requests in flight now, counters since this process started."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._counts: dict[str, int] = {}

    def incr(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + by

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a request as in flight for the duration of the ``with`` block."""
        with self._lock:
            self._in_flight += 1
            self._counts["started"] = self._counts.get("started", 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._counts["finished"] = self._counts.get("finished", 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "uptime_s": self._clock() - self._started,
                "in_flight": self._in_flight,
                **self._counts,
            }


def summary(
    ledger: Ledger,
    since: float | None = None,
    until: float | None = None,
    provider: str | None = None,
    workspace: str | None = None,
    *,
    now: float | None = None,
    bucket_hours: int = 1,
    live: LiveCounters | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    """Overall, per provider/model and per provider numbers for the window (of one action's
    requests when `action` is given: the rollups have no action, so those are read from the
    raw rows of the window)."""
    if bucket_hours < 1:
        raise ValueError("bucket_hours must be at least 1")
    window = _Window(since, until, workspace, provider, action)
    with ledger.snapshot():  # one consistent view while other servers keep writing
        return _summary(ledger, window, now, bucket_hours, live)


def _summary(
    ledger: Ledger, w: _Window, now: float | None, bucket_hours: int, live: LiveCounters | None
) -> dict[str, Any]:
    since, until = w.since, w.until
    groups = _groups(ledger, w)
    start = since if since is not None else min((g[2] for g in groups), default=None)
    end = until if until is not None else (time.time() if now is None else now)
    seconds = (end - start) if start is not None else None

    buckets = _latency_buckets(ledger, w)
    total = _Counts()
    models: list[dict[str, Any]] = []
    for prov, model, _, counts in groups:
        total = total.plus(counts)
        block = {"provider": prov, "model": model, **counts.block(seconds)}
        block["latency_ms"] = _percentiles(ledger, w, buckets.get((prov, model), {}), prov, model)
        models.append(block)
    overall: dict[int, int] = {}
    for per_bucket in buckets.values():
        for bucket, n in per_bucket.items():
            overall[bucket] = overall.get(bucket, 0) + n
    totals = total.block(seconds)
    totals["latency_ms"] = _percentiles(ledger, w, overall)

    result: dict[str, Any] = {
        "window": {"since": start, "until": end, "seconds": seconds},
        "totals": totals,
        "models": models,
        "providers": _providers(ledger, w, bucket_hours),
        "spend_per_day": _spend_per_day(ledger, w),
    }
    if live is not None:
        result["live"] = live.snapshot()
    return result


def jsonable(value: Any) -> Any:
    """``summary`` output with ``Decimal`` turned into exact strings, ready for ``json.dumps``."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


# --- the window: rollup hours in the middle, raw requests at the ends ---------------------------


@dataclass(frozen=True, slots=True)
class _Window:
    since: float | None
    until: float | None
    workspace: str | None
    provider: str | None
    #: one action's requests only: no rollup holds the action, so every row comes from `edges`
    action: str | None = None

    def rolled(self, *, with_provider: bool = True, unit: int = HOUR) -> tuple[str, list[Any]]:
        """WHERE for rollup tables: the whole hours (days) strictly inside the window."""
        col = "hour" if unit == HOUR else "day"
        where: list[str] = ["1"]
        params: list[Any] = []
        if self.since is not None:
            where.append(f"{col} > {_unit_of(unit)}")
            params.append(self.since)
        if self.until is not None:
            where.append(f"{col} < {_unit_of(unit)}")
            params.append(self.until)
        if self.action is not None:
            where.append("0")
        self._common(where, params, "", with_provider)
        return " AND ".join(where), params

    def edges(
        self, r: str = "r.", *, with_provider: bool = True, unit: int = HOUR
    ) -> list[tuple[str, list[Any]]]:
        """WHEREs for raw requests: the window's rows in its first and in its last (partial) hour.

        The hour test makes each edge exact and the two disjoint; the ts range (an hour and a
        second) lets the ts index find the rows.
        """
        since, until = self.since, self.until
        if self.action is not None:  # the whole window from raw rows (see `action`)
            clauses, whole = self._bounds(r)
            return [self._with_common(" AND ".join(clauses), whole, r, with_provider)]
        same_unit = f"{hour_of(r, unit)} = {_unit_of(unit)}"
        out: list[tuple[str, list[Any]]] = []
        if since is not None:
            hi = since + unit + 1 if until is None else min(until, since + unit + 1)
            out.append((f"{r}ts >= ? AND {r}ts < ? AND {same_unit}", [since, hi, since]))
        if until is not None:
            lo = until - unit - 1 if since is None else max(since, until - unit - 1)
            where = f"{r}ts >= ? AND {r}ts < ? AND {same_unit}"
            params: list[Any] = [lo, until, until]
            if since is not None:
                where += f" AND {hour_of(r, unit)} != {_unit_of(unit)}"
                params.append(since)
            out.append((where, params))
        return [self._with_common(where, params, r, with_provider) for where, params in out]

    def _with_common(
        self, where: str, params: list[Any], r: str, with_provider: bool
    ) -> tuple[str, list[Any]]:
        clauses = [where]
        self._common(clauses, params, r, with_provider)
        return " AND ".join(clauses), params

    def rows(self, r: str = "") -> tuple[str, list[Any]]:
        """WHERE for raw requests over the whole window (used for index-bounded picks only)."""
        where, params = self._bounds(r)
        self._common(where, params, r, True)
        return " AND ".join(where), params

    def _bounds(self, r: str) -> tuple[list[str], list[Any]]:
        where: list[str] = ["1"]
        params: list[Any] = []
        if self.since is not None:
            where.append(f"{r}ts >= ?")
            params.append(self.since)
        if self.until is not None:
            where.append(f"{r}ts < ?")
            params.append(self.until)
        return where, params

    def _common(self, where: list[str], params: list[Any], r: str, with_provider: bool) -> None:
        if self.action is not None:
            where.append(f"{r}action = ?")
            params.append(self.action)
        if self.workspace is not None:
            where.append(f"{r}workspace = ?")
            params.append(self.workspace)
        if with_provider and self.provider is not None:
            where.append(f"{r}provider = ?")
            params.append(self.provider)


def _union(
    rolled: tuple[str, list[Any]],
    edges: list[tuple[str, list[Any]]],
    raw: Callable[[str], str],
    repeat: int = 1,
) -> tuple[str, list[Any]]:
    """The rollup query UNION ALL ``raw(where)`` for each edge (``repeat``: uses of ``where``)."""
    parts, params = [rolled[0]], list(rolled[1])
    for where, edge_params in edges:
        parts.append(raw(where))
        params += edge_params * repeat
    return " UNION ALL ".join(parts), params


# --- counts per provider/model ------------------------------------------------------------------


class _Counts(NamedTuple):
    requests: int = 0
    ok: int = 0
    errors: int = 0
    cancelled: int = 0
    budget_refused: int = 0
    cache_hits: int = 0
    fallbacks: int = 0
    cost_pico: int = 0
    priced: int = 0
    unpriced: int = 0
    saved_pico: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    prompt_saved_pico: int = 0

    def plus(self, other: _Counts) -> _Counts:
        return _Counts(*(a + b for a, b in zip(self, other, strict=True)))

    def block(self, seconds: float | None) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
            "cancelled": self.cancelled,
            "budget_refused": self.budget_refused,
            "success_rate": _ratio(self.ok, self.ok + self.errors),
            "requests_per_s": self.requests / seconds if seconds else None,
            "cost_usd": from_pico(self.cost_pico),
            "cost_per_request_usd": (
                from_pico(round(Decimal(self.cost_pico) / self.priced)) if self.priced else None
            ),
            "unpriced": self.unpriced,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "fallbacks": self.fallbacks,
            "fallback_rate": _ratio(self.fallbacks, self.requests),
            "cache_hits": self.cache_hits,
            "cache_hit_rate": _ratio(self.cache_hits, self.requests),
            "saved_usd": from_pico(self.saved_pico),
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "prompt_cache_saved_usd": from_pico(self.prompt_saved_pico),
        }


assert _Counts._fields == tuple(ROLLUP_COLUMNS), "rollup columns and _Counts must match"


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _request_source(w: _Window) -> tuple[str, list[Any]]:
    """Rollup-shaped rows (hour, workspace, provider, model, first_ts, counts...) for the window."""
    cols = ", ".join(ROLLUP_COLUMNS)
    where, params = w.rolled()
    rolled = f"SELECT hour, workspace, provider, model, first_ts, {cols} FROM rollup WHERE {where}"
    sums = ", ".join(f"SUM({e.format(r='r.')})" for e in ROLLUP_COLUMNS.values())
    return _union(
        (rolled, params),
        w.edges(),
        lambda edge: (
            f"SELECT {hour_of('r.')}, r.workspace, r.provider, r.model, MIN(r.ts), {sums} "
            f"FROM requests AS r WHERE {edge} GROUP BY 1, 2, 3, 4"
        ),
    )


def _groups(ledger: Ledger, w: _Window) -> list[tuple[str, str, float, _Counts]]:
    src, params = _request_source(w)
    sums = ", ".join(f"SUM({c})" for c in ROLLUP_COLUMNS)
    rows = ledger.read(
        f"SELECT provider, model, MIN(first_ts), {sums} FROM ({src}) "
        "GROUP BY provider, model ORDER BY provider, model",
        params,
    )
    return [(r[0], r[1], r[2], _Counts(*(int(x) for x in r[3:]))) for r in rows]


def _spend_per_day(ledger: Ledger, w: _Window) -> list[dict[str, Any]]:
    src, params = _request_source(w)
    rows = ledger.read(
        f"SELECT date(hour * 3600, 'unixepoch'), SUM(cost_pico), SUM(requests) FROM ({src}) "
        "GROUP BY 1 ORDER BY 1",
        params,
    )
    return [{"day": day, "cost_usd": from_pico(int(c)), "requests": int(n)} for day, c, n in rows]


# --- latency percentiles -------------------------------------------------------------------------


def _latency_buckets(ledger: Ledger, w: _Window) -> dict[tuple[str, str], dict[int, int]]:
    where, params = w.rolled(unit=DAY)
    rolled = (
        "SELECT provider, model, latency_bucket, n FROM rollup_latency WHERE " + where,
        params,
    )
    src, all_params = _union(
        rolled,
        w.edges(unit=DAY),
        lambda edge: (
            "SELECT r.provider, r.model, r.latency_bucket, COUNT(*) FROM requests AS r "
            f"WHERE {edge} AND r.outcome = 'ok' AND r.cached = 0 GROUP BY 1, 2, 3"
        ),
    )
    rows = ledger.read(
        f"SELECT provider, model, latency_bucket, SUM(n) FROM ({src}) GROUP BY 1, 2, 3", all_params
    )
    out: dict[tuple[str, str], dict[int, int]] = {}
    for prov, model, bucket, n in rows:
        out.setdefault((prov, model), {})[int(bucket)] = int(n)
    return out


def _percentiles(
    ledger: Ledger,
    w: _Window,
    counts: dict[int, int],
    provider: str | None = None,
    model: str | None = None,
) -> dict[str, float | None]:
    """Nearest-rank percentiles from per-bucket counts; reads one bucket per percentile."""
    total = sum(counts.values())
    order = sorted(counts.items())
    where, params = w.rows()
    if provider is not None:
        where += " AND provider = ? AND model = ?"
        params += [provider, model]
    out: dict[str, float | None] = {}
    for p in PERCENTILES:
        if total == 0:
            out[f"p{p}"] = None
            continue
        rank = -(-p * total // 100)  # ceil(p% of total), 1-based
        before = 0
        bucket = order[-1][0]
        for bucket, n in order:  # noqa: B007 - stops at the bucket holding the rank
            if before + n >= rank:
                break
            before += n
        row = ledger.read(
            f"SELECT latency_ms FROM requests WHERE outcome = 'ok' AND cached = 0 "
            f"AND latency_bucket = ? AND {where} ORDER BY latency_ms LIMIT 1 OFFSET ?",
            [bucket, *params, rank - before - 1],
        )
        out[f"p{p}"] = float(row[0][0])
    return out


# --- providers: attempts, uptime, recovery ------------------------------------------------------


def _attempt_source(w: _Window) -> tuple[str, list[Any]]:
    """(hour, provider, attempts, ok) rows for the window, before any provider filter."""
    where, params = w.rolled(with_provider=False)
    # chain_provider: attempts an older ledger filed under a "provider.alias" label
    prov = chain_provider("provider")
    rolled = f"SELECT hour, {prov} AS provider, attempts, ok FROM rollup_attempts WHERE {where}"
    hour = hour_of("r.")
    return _union(
        (rolled, params),
        w.edges(with_provider=False),
        lambda edge: (
            f"SELECT {hour}, r.provider, COUNT(*), SUM(r.outcome = 'ok') FROM requests AS r "
            f"WHERE {edge} AND {is_attempt('r.')} GROUP BY 1, 2 UNION ALL "
            f"SELECT {hour}, {chain_provider('j.value')}, COUNT(*), 0 "
            f"FROM requests AS r, json_each(r.fallback_chain) AS j "
            f"WHERE {edge} AND r.cached = 0 AND r.fallback_count > 0 GROUP BY 1, 2"
        ),
        repeat=2,
    )


def _providers(ledger: Ledger, w: _Window, bucket_hours: int) -> list[dict[str, Any]]:
    src, params = _attempt_source(w)
    only = ""
    if w.provider is not None:
        only = "WHERE provider = ? "
        params.append(w.provider)
    rows = ledger.read(
        f"SELECT provider, hour / {int(bucket_hours)}, SUM(attempts), SUM(ok) FROM ({src}) "
        f"{only}GROUP BY 1, 2 ORDER BY 1, 2",
        params,
    )
    out: dict[str, dict[str, Any]] = {}
    for prov, bucket, n, ok in rows:
        entry = out.setdefault(
            prov, {"provider": prov, "attempts": 0, "failures": 0, "buckets": []}
        )
        entry["attempts"] += n
        entry["failures"] += n - ok
        entry["buckets"].append(
            {"start": bucket * bucket_hours * 3600, "attempts": n, "ok": ok, "success_rate": ok / n}
        )
    recovery = _recovery(ledger, w)
    for prov, entry in out.items():
        entry["failure_rate"] = _ratio(entry["failures"], entry["attempts"])
        rates = [b["success_rate"] for b in entry["buckets"]]
        entry["uptime"] = sum(rates) / len(rates)
        entry["recovery"] = recovery.get(prov, _recovery_block(0, 0, None, None, None))
    return list(out.values())


def _recovery_block(
    outages: int, recovered: int, mean: float | None, worst: float | None, ongoing: float | None
) -> dict[str, Any]:
    return {
        "outages": outages,
        "recovered": recovered,
        "mean_s": mean,
        "max_s": worst,
        "ongoing_since": ongoing,
    }


def _recovery(ledger: Ledger, w: _Window) -> dict[str, dict[str, Any]]:
    where: list[str] = ["1"]
    params: list[Any] = []
    if w.since is not None:
        where.append("started >= ?")
        params.append(w.since)
    if w.until is not None:
        where.append("started < ?")
        params.append(w.until)
    if w.provider is not None:
        where.append("provider = ?")
        params.append(w.provider)
    rows = ledger.read(
        "SELECT provider, COUNT(*), COUNT(ended), AVG(ended - started), MAX(ended - started), "
        f"MAX(CASE WHEN ended IS NULL THEN started END) FROM ({OUTAGES}) "
        f"WHERE {' AND '.join(where)} GROUP BY provider",
        params,
    )
    return {r[0]: _recovery_block(int(r[1]), int(r[2]), r[3], r[4], r[5]) for r in rows}


def _outages_by_provider() -> str:
    """SQL: the outages table (provider, started, ended), every provider by its section name.

    An older ledger also holds outages filed under a "provider.alias" label (its fallback chains
    named labels); the trigger closes a provider's outage by the provider's own name, so those
    never ended. Read here, such an outage ends at the provider's next successful answer."""
    prov = chain_provider("o.provider")
    next_success = (
        "(SELECT MAX(o.started, r.ts + r.latency_ms / 1000.0) FROM requests AS r "
        f"WHERE r.ts >= o.started AND r.provider = {prov} AND r.outcome = 'ok' "
        "AND r.cached = 0 ORDER BY r.ts LIMIT 1)"
    )
    return (
        f"SELECT {prov} AS provider, o.started AS started, "
        f"COALESCE(o.ended, CASE WHEN o.provider != {prov} THEN {next_success} END) AS ended "
        "FROM outages AS o"
    )


#: SQL: outages by provider section name (see ``_outages_by_provider``)
OUTAGES = _outages_by_provider()
