"""`magray-lsp stats`: spend this month against the budget, and how each provider is doing;
`--team`: the team's month, per member, model and day, against the team budget."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from magray_lsp import metrics
from magray_lsp.cli_common import dump, find_workspace
from magray_lsp.config.loader import load_config
from magray_lsp.config.models import TeamConfig
from magray_lsp.cost.budget import BudgetGuard
from magray_lsp.cost.journal import take_over_quietly
from magray_lsp.cost.ledger import Ledger, default_ledger_path, month_bounds
from magray_lsp.cost.prices import format_usd
from magray_lsp.cost.team_usage import TeamUsage, read_usage


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.0f}%"


def _ms(value: Any) -> str:
    return "–" if value is None else f"{float(value):,.0f} ms"


def _prompt_cache_line(t: dict[str, Any]) -> str:
    """What the providers' prompt caches did: input tokens read and written, money saved."""
    saved = t["prompt_cache_saved_usd"]
    money = f"saved {format_usd(saved)}" if saved >= 0 else f"cost {format_usd(-saved)} extra"
    return (
        f"prompt cache: {t['cache_read_tokens']:,} input tokens read, "
        f"{t['cache_write_tokens']:,} written · {money} against uncached prices"
    )


def _report(ledger: Ledger, args: argparse.Namespace, budget: BudgetGuard) -> dict[str, Any]:
    since = time.time() - args.days * 86400 if args.days else month_bounds()[0]
    summary = metrics.summary(ledger, since=since, provider=args.provider)
    status = budget.status()
    return {
        "budget": {
            "spentUsd": status.spent,
            "reservedUsd": status.reserved,
            "limitUsd": status.limit,
            "fraction": status.fraction,
            "warn": status.warn,
            "exhausted": status.exhausted,
            "unpricedRequests": status.unpriced,
        },
        "ledger": str(ledger.path),
        **summary,
    }


def _print(report: dict[str, Any], days: int | None) -> None:
    b = report["budget"]
    limit = f" of {format_usd(b['limitUsd'])}" if b["limitUsd"] is not None else " (no budget set)"
    print(
        f"spent this month: {format_usd(b['spentUsd'])}{limit}"
        + (" — WARNING: budget threshold reached" if b["warn"] else "")
    )
    t = report["totals"]
    window = f"last {days} days" if days else "this month"
    print(
        f"{window}: {t['requests']} requests · success {_pct(t['success_rate'])} · "
        f"cache hits {_pct(t['cache_hit_rate'])} (saved {format_usd(t['saved_usd'])}) · "
        f"fallbacks {_pct(t['fallback_rate'])} · p50 {_ms(t['latency_ms']['p50'])}"
    )
    if t["cache_read_tokens"] or t["cache_write_tokens"]:
        print(_prompt_cache_line(t))
    if report["models"]:
        print(f"\n{'model':<44} {'reqs':>6} {'success':>8} {'p50':>9} {'p99':>9} {'cost':>10}")
        for m in report["models"]:
            name = f"{m['provider']}/{m['model']}"
            print(
                f"{name:<44} {m['requests']:>6} {_pct(m['success_rate']):>8} "
                f"{_ms(m['latency_ms']['p50']):>9} {_ms(m['latency_ms']['p99']):>9} "
                f"{format_usd(m['cost_usd']):>10}"
            )
    if report["providers"]:
        print(f"\n{'provider':<20} {'uptime':>7} {'outages':>8} {'mean recovery':>14}")
        for p in report["providers"]:
            rec = p["recovery"]
            mean = "–" if rec["mean_s"] is None else f"{rec['mean_s']:.1f} s"
            ongoing = " (down now)" if rec.get("ongoing_since") else ""
            print(
                f"{p['provider']:<20} {_pct(p['uptime']):>7} {rec['outages']:>8} {mean:>14}"
                f"{ongoing}"
            )


def _print_team(usage: TeamUsage) -> None:
    head = f'team "{usage.team}" · {usage.month} · {usage.redis}'
    print(head)
    if usage.error:
        print(f"  cannot read the team's Redis: {usage.error}")
        return
    limit = f" of {format_usd(usage.limit)} ({_pct(usage.fraction)})" if usage.limit else ""
    warn = " — WARNING: team budget threshold reached" if usage.warn else ""
    print(
        f"team spend: {format_usd(usage.spent)}{limit}, {format_usd(usage.reserved)} reserved{warn}"
    )
    if usage.member_limit is not None:
        print(f"member cap: {format_usd(usage.member_limit)} each")
    view = usage.jsonable()
    columns = f"{'spent':>10} {'of cap':>7} {'reqs':>6} {'errors':>7} {'tokens in/out':>16}"
    print(f"\n{'member':<36} {columns}")
    for m in view["members"]:
        tokens = f"{m['inputTokens']:,}/{m['outputTokens']:,}"
        print(
            f"{m['member']:<36} {format_usd(m['spentUsd']):>10} {_pct(m['ofMemberLimit']):>7} "
            f"{m['requests']:>6} {m['errors']:>7} {tokens:>16}"
        )
    print(f"\n{'model':<44} {'reqs':>6} {'cost':>10}")
    for m in view["models"]:
        print(f"{m['model']:<44} {m['requests']:>6} {format_usd(m['costUsd']):>10}")
    print(f"\n{'day (UTC)':<12} {'reqs':>6} {'cost':>10}")
    for d in view["days"]:
        print(f"{d['day']:<12} {d['requests']:>6} {format_usd(d['costUsd']):>10}")
    if usage.duplicates:
        print(f"({usage.duplicates} rows sent twice after an outage were counted once)")


async def run_team_stats(args: argparse.Namespace, team: TeamConfig) -> int:
    if not team.enabled:
        print("no team configured: set [team] redis_url and name (see the README)")
        return 1
    usage = await read_usage(team, args.month)
    if args.json:
        print(dump(metrics.jsonable(usage.jsonable())))
    else:
        _print_team(usage)
    return 1 if usage.error else 0


async def run_stats(args: argparse.Namespace) -> int:
    workspace: Path = args.workspace or find_workspace(Path.cwd())
    loaded = load_config(workspace=workspace, extra_files=args.config)
    if args.team:
        return await run_team_stats(args, loaded.config.team)
    ledger = Ledger(default_ledger_path())
    try:
        # rows journaled by servers that were killed before their writer put them in the ledger
        await asyncio.to_thread(take_over_quietly, ledger)
        report = await asyncio.to_thread(
            _report, ledger, args, BudgetGuard(ledger, loaded.config.budget)
        )
    finally:
        ledger.close()
    if args.json:
        print(dump(metrics.jsonable(report)))
    else:
        _print(report, args.days)
    return 0
