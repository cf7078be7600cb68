"""Latency percentiles and provider health (attempts, uptime, outages and recovery) over a
window of the ledger."""

from __future__ import annotations

from typing import Any

from magray_lsp.cost.ledger import Ledger
from magray_lsp.cost.ledger.schema import chain_provider, hour_of, is_attempt, rollup_table
from magray_lsp.metrics.window import DAY, Window, ratio, union

PERCENTILES = (50, 90, 99)


# --- latency percentiles -------------------------------------------------------------------------


def latency_buckets(ledger: Ledger, w: Window) -> dict[tuple[str, str], dict[int, int]]:
    where, params = w.rolled(unit=DAY)
    table = rollup_table("rollup_latency", w.action)
    rolled = (f"SELECT provider, model, latency_bucket, n FROM {table} WHERE {where}", params)
    src, all_params = union(
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


def percentiles(
    ledger: Ledger,
    w: Window,
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


def _attempt_source(w: Window) -> tuple[str, list[Any]]:
    """(hour, provider, attempts, ok) rows for the window, before any provider filter."""
    where, params = w.rolled(with_provider=False)
    # chain_provider: attempts an older ledger filed under a "provider.alias" label
    prov = chain_provider("provider")
    table = rollup_table("rollup_attempts", w.action)
    rolled = f"SELECT hour, {prov} AS provider, attempts, ok FROM {table} WHERE {where}"
    hour = hour_of("r.")
    return union(
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


def providers(ledger: Ledger, w: Window, bucket_hours: int) -> list[dict[str, Any]]:
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
        entry["failure_rate"] = ratio(entry["failures"], entry["attempts"])
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


def _recovery(ledger: Ledger, w: Window) -> dict[str, dict[str, Any]]:
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
