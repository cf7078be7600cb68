"""Everything the dashboard shows, as one JSON-ready dict, aggregated in SQL from the ledger.

The heavy lifting is ``metrics.summary`` (the numbers ``magray-lsp stats`` prints), which reads
the hourly rollups and touches raw rows only at the window's edges, so a million-row ledger costs
milliseconds. This module adds what only a dashboard needs: the budget line, per-provider latency,
outages overlapping the window, the newest requests, and the values the filters can take.

Only metadata leaves the ledger: task, file path, model, tokens, cost, outcome. The ledger holds no
prompt and no code, and nothing here would show them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from magray_lsp import metrics
from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.budget import BudgetGuard
from magray_lsp.cost.ledger import month_bounds
from magray_lsp.cost.ledger.schema import UNFOLDED
from magray_lsp.dashboard.filters import Filters
from magray_lsp.dashboard.reader import LedgerReader
from magray_lsp.metrics.health import OUTAGES, latency_buckets, percentiles
from magray_lsp.metrics.window import Window

RECENT_LIMIT = 50
OUTAGE_LIMIT = 20
_HOURLY_UP_TO = 3 * 86400  # windows up to 3 days chart provider health per hour, longer per day


def dashboard(
    reader: LedgerReader,
    filters: Filters,
    budget: BudgetConfig,
    *,
    now: float,
    recent_limit: int = RECENT_LIMIT,
) -> dict[str, Any]:
    """The page's data for ``filters``; money as exact decimal strings."""
    with reader.snapshot():  # one consistent view while language servers keep writing
        span = None if filters.since is None else (filters.until or now) - filters.since
        bucket_hours = 1 if span is not None and span <= _HOURLY_UP_TO else 24
        report = metrics.summary(
            reader,
            since=filters.since,
            until=filters.until,
            provider=filters.provider,
            workspace=filters.workspace,
            action=filters.action,
            now=now,
            bucket_hours=bucket_hours,
        )
        _add_provider_rollups(reader, filters, report)
        data: dict[str, Any] = {
            "generated_at": now,
            "ledger": str(reader.path),
            "filters": filters.jsonable(),
            "health_bucket_s": bucket_hours * 3600,  # the provider health chart's time step
            "options": _options(reader),
            "budget": _budget(reader, budget, now),
            **report,
            "outages": _outages(reader, filters, now),
            "recent": _recent(reader, filters, recent_limit),
        }
        data["empty"] = not reader.read("SELECT EXISTS (SELECT 1 FROM requests)")[0][0]
    return dict(metrics.jsonable(data))


def _budget(reader: LedgerReader, cfg: BudgetConfig, now: float) -> dict[str, Any]:
    """Month-to-date against the monthly budget: across every workspace and provider, as the
    budget itself counts."""
    status = BudgetGuard(reader, cfg).status(now)
    start, end = month_bounds(now)
    return {
        "month_start": start,
        "month_end": end,
        "spent_usd": status.spent,
        "reserved_usd": status.reserved,
        "limit_usd": status.limit,
        "fraction": status.fraction,
        "warn_at": cfg.warn_at,
        "warn": status.warn,
        "exhausted": status.exhausted,
        "unpriced_requests": status.unpriced,
    }


def _options(reader: LedgerReader) -> dict[str, list[str]]:
    """Every provider, workspace and action the ledger knows, from the rollups and the rows not
    folded into them yet. Rows recorded outside any workspace ("") are in "All" but cannot be
    picked on their own. The actions lead the key of `rollup_action`: each is one index seek
    past the previous (cheap at any size)."""
    pairs = reader.read(
        "SELECT provider, workspace FROM rollup UNION "
        f"SELECT provider, workspace FROM requests WHERE {UNFOLDED}"
    )
    actions = reader.read(
        "WITH RECURSIVE a(name) AS (SELECT MIN(action) FROM rollup_action UNION ALL "
        "SELECT (SELECT MIN(action) FROM rollup_action WHERE action > a.name) FROM a "
        "WHERE a.name IS NOT NULL) SELECT name FROM a WHERE name IS NOT NULL "
        f"UNION SELECT action FROM requests WHERE {UNFOLDED}"
    )
    return {
        "providers": sorted({p for p, _ in pairs}),
        "workspaces": sorted({w for _, w in pairs if w}),
        "actions": sorted({a for (a,) in actions if a}),
    }


def _add_provider_rollups(reader: LedgerReader, f: Filters, report: dict[str, Any]) -> None:
    """Per provider: requests, success rate, cost and nearest-rank latency percentiles, merged
    from the per-model numbers (percentiles re-ranked over the provider's latency buckets).

    ``metrics`` has no per-provider percentiles, so this borrows its window and bucket helpers
    (private, same package) rather than copy them; the reader answers the repeated bucket query
    from its snapshot memo."""
    window = Window(f.since, f.until, f.workspace, f.provider, f.action)
    buckets = latency_buckets(reader, window)
    per_provider: dict[str, dict[int, int]] = {}
    for (prov, _model), counts in buckets.items():
        merged = per_provider.setdefault(prov, {})
        for bucket, n in counts.items():
            merged[bucket] = merged.get(bucket, 0) + n
    sums: dict[str, dict[str, Any]] = {}
    for m in report["models"]:
        s = sums.setdefault(m["provider"], {"requests": 0, "ok": 0, "errors": 0, "cost": 0})
        s["requests"] += m["requests"]
        s["ok"] += m["ok"]
        s["errors"] += m["errors"]
        s["cost"] += m["cost_usd"]
    health = {p["provider"]: p for p in report["providers"]}
    for prov in sorted(set(sums) | set(health)):
        s = sums.get(prov, {"requests": 0, "ok": 0, "errors": 0, "cost": 0})
        entry = health.setdefault(prov, {"provider": prov, "attempts": 0, "failures": 0})
        entry["requests"] = s["requests"]
        entry["success_rate"] = s["ok"] / (s["ok"] + s["errors"]) if s["ok"] + s["errors"] else None
        entry["cost_usd"] = s["cost"]
        entry["latency_ms"] = percentiles(
            reader, replace(window, provider=prov), per_provider.get(prov, {})
        )
    report["providers"] = [health[p] for p in sorted(health)]


def _outages(reader: LedgerReader, f: Filters, now: float) -> list[dict[str, Any]]:
    """Outages overlapping the window (including ones still going on), newest first."""
    where = ["started < ?"]
    params: list[Any] = [f.until if f.until is not None else now + 1]
    if f.since is not None:
        where.append("(ended IS NULL OR ended >= ?)")
        params.append(f.since)
    if f.provider is not None:
        where.append("provider = ?")
        params.append(f.provider)
    rows = reader.read(
        f"SELECT provider, started, ended FROM ({OUTAGES}) WHERE {' AND '.join(where)} "
        "ORDER BY started DESC LIMIT ?",
        [*params, OUTAGE_LIMIT],
    )
    return [
        {
            "provider": prov,
            "started": started,
            "ended": ended,
            "recovery_s": None if ended is None else ended - started,
            "ongoing": ended is None,
        }
        for prov, started, ended in rows
    ]


_RECENT_COLUMNS = (
    "ts",
    "workspace",
    "action",
    "source_path",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "outcome",
    "error_type",
    "cached",
    "fallback_count",
    "latency_ms",
)


def _recent(reader: LedgerReader, f: Filters, limit: int) -> list[dict[str, Any]]:
    """The newest requests in the window: metadata only (the ledger has no prompt or code)."""
    where: list[str] = ["1"]
    params: list[Any] = []
    for clause, value in (
        ("ts >= ?", f.since),
        ("ts < ?", f.until),
        ("provider = ?", f.provider),
        ("workspace = ?", f.workspace),
        ("action = ?", f.action),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    rows = reader.read(
        f"SELECT {', '.join(_RECENT_COLUMNS)} FROM requests WHERE {' AND '.join(where)} "
        "ORDER BY ts DESC, rowid DESC LIMIT ?",
        [*params, limit],
    )
    out = []
    for row in rows:
        item = dict(zip(_RECENT_COLUMNS, row, strict=True))
        item["cached"] = bool(item["cached"])
        out.append(item)
    return out
