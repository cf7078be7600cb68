"""`magray-lsp doctor`: is the configuration valid, which keys are present, which providers answer;
with `[team]`: the member name, the team's Redis and its Lua script.

Keys are reported as present or missing, never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from magray_lsp.actions.definitions import action_set
from magray_lsp.catalog import Catalog
from magray_lsp.cli_common import dump, find_workspace
from magray_lsp.config.loader import load_config
from magray_lsp.config.models import TeamConfig, provider_kind
from magray_lsp.cost.prices import format_usd
from magray_lsp.cost.team_member import resolve_member
from magray_lsp.cost.team_store import SCRIPT, SCRIPT_SHA, TeamRedis, TeamRedisError, month_of
from magray_lsp.cost.team_usage import read_usage
from magray_lsp.errors import MagrayError
from magray_lsp.event_loop import running_loop_label
from magray_lsp.providers._http import is_loopback_url
from magray_lsp.providers.base import Usage
from magray_lsp.resilience.health import HealthBoard
from magray_lsp.routing.pricing import ASSUMED_PRICE_NOTE, hard_budget, known_cost
from magray_lsp.routing.router import Router
from magray_lsp.task import Task

CHECK_TIMEOUT_SECONDS = 8.0
_KEYLESS_KINDS = {"local", "ollama"}


def display_url(url: str | None) -> str | None:
    """A base URL fit to print: credentials in the userinfo and the query are masked."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(f"{k}=***" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


async def _probe(catalog: Catalog, name: str) -> dict[str, Any]:
    cfg = catalog.sections[name]
    kind = provider_kind(name, cfg) or "?"
    row: dict[str, Any] = {"provider": name, "kind": kind, "baseUrl": display_url(cfg.base_url)}
    reason = catalog.disabled_reason(name)
    if cfg.api_key is not None:
        row["apiKey"] = "present"
    elif kind in _KEYLESS_KINDS or (
        kind == "openai" and cfg.base_url and is_loopback_url(cfg.base_url)
    ):
        row["apiKey"] = "not needed"
    else:
        row["apiKey"] = "missing"
    if reason:
        row.update(status="disabled", detail=reason)
        return row
    try:
        provider = catalog.provider(name)
        models = await asyncio.wait_for(provider.list_models(), CHECK_TIMEOUT_SECONDS)
        row.update(status="ok", local=provider.is_local, models=[m.id for m in models][:10])
    except TimeoutError:
        row.update(status="unreachable", detail=f"no answer in {CHECK_TIMEOUT_SECONDS:.0f} s")
    except MagrayError as exc:
        row.update(status="error", detail=str(exc))
    return row


async def _team_check(cfg: TeamConfig, workspace: Path) -> dict[str, Any] | None:
    """``[team]``: the member name, the Redis (reachable, persistent), the Lua script (loads, is
    this version's, runs) and this month's figures. None without team mode."""
    if not (cfg.redis_url and cfg.name):
        return None
    member, source = resolve_member(cfg, workspace)
    row: dict[str, Any] = {
        "team": cfg.name,
        "member": member,
        "memberSource": source,
        "onUnreachable": cfg.on_unreachable,
    }
    problems: list[str] = []
    if member == "unknown":
        problems.append("no member name found: set [team] member")
    store = TeamRedis(cfg.redis_url, cfg.name, timeout=max(cfg.timeout_seconds, 2.0))
    row["redis"] = store.display_url
    try:
        await store.run("PING", lambda r: r.ping())
        sha = await store.run("SCRIPT LOAD", lambda r: r.script_load(SCRIPT))
        row["script"] = "ok" if sha == SCRIPT_SHA else f"loaded as {sha}, expected {SCRIPT_SHA}"
        # the script runs, through the same call the gateway makes (no change to any data)
        reply = await store.script("status", month_of(time.time()), ["", member])
        row["epoch"] = reply[1] or None
        row["persistence"] = await _persistence(store)
    except TeamRedisError as exc:
        row["redisStatus"] = "unreachable"
        problems.append(str(exc))
    else:
        row["redisStatus"] = "ok"
        if row["script"] != "ok":
            problems.append(f"the team script {row['script']}")
        usage = await read_usage(cfg, breakdowns=False, redis=store)
        row.update(spentUsd=str(usage.spent), limitUsd=_text(usage.limit))
        row["memberSpentUsd"] = str(usage.member_spent.get(member, 0))
        row["memberLimitUsd"] = _text(usage.member_limit)
    finally:
        await store.aclose()
    row["problems"] = problems
    return row


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def _persistence(store: TeamRedis) -> str:
    """How the Redis keeps its data across a restart (AOF is what the README asks for)."""

    async def config(r: Any) -> dict[str, str]:
        found: dict[str, str] = await r.config_get("appendonly")
        found.update(await r.config_get("save"))
        return found

    try:
        found = await store.run("CONFIG GET", config)
    except TeamRedisError:
        return "unknown (CONFIG GET not allowed)"
    if found.get("appendonly") == "yes":
        return "appendonly (AOF)"
    if found.get("save"):
        return "RDB snapshots only: a restart may lose recent spend (use appendonly yes)"
    return "none: a restart loses the month's spend until each machine re-adds it"


def pricing_notes(catalog: Catalog) -> list[str]:
    """Models with no known price, and what the budget does with them: under a hard budget they
    count at the placeholder price (never as free); otherwise their spend is not counted."""
    notes = []
    counted = hard_budget(catalog.loaded.config.budget)
    for ref in Router(catalog, HealthBoard()).candidates():
        provider = catalog.provider(ref.provider)
        cfg = catalog.sections[ref.provider]
        if known_cost(ref, cfg, Usage(1000, 1000), local=provider.is_local) is not None:
            continue
        where = ""
        if ref.kind == "ollama":  # free only on this machine
            where = f" (Ollama at {display_url(cfg.base_url)} is not on this machine)"
        what = (
            f"{ASSUMED_PRICE_NOTE} under the hard budget"
            if counted
            else "its spend is not counted in the month (no hard budget)"
        )
        notes.append(f"{ref.label}: {what}{where}; set [llm.{ref.provider}.prices] to price it")
    return notes


async def run_doctor(args: argparse.Namespace) -> int:
    workspace: Path = args.workspace or find_workspace(Path.cwd())
    loaded = load_config(workspace=workspace, extra_files=args.config)
    catalog = Catalog(loaded)
    found = action_set(catalog)
    problems = [*loaded.problems, *found.problems]  # broken custom actions (the rest work)
    try:
        team = await _team_check(loaded.config.team, workspace)
        rows = await asyncio.gather(*(_probe(catalog, n) for n in catalog.sections))
        try:  # what an explanation of a typical function would use right now
            typical = Task(action="explain", system="", prompt="", context_tokens=2000)
            plan = Router(catalog, HealthBoard()).plan(typical)
            default = f"{plan.primary.ref.label} ({plan.why})"
        except MagrayError as exc:
            default = f"none ({exc})"
        prices = pricing_notes(catalog)
    finally:
        await catalog.aclose()
    usable = [r for r in rows if r["status"] == "ok"]
    if args.json:
        print(
            dump(
                {
                    "configFiles": loaded.sources,
                    "eventLoop": running_loop_label(),
                    "default": default,
                    "notes": loaded.notes,
                    "pricing": prices,
                    "actions": [a.name for a in found.custom()],
                    "problems": problems,
                    "providers": rows,
                    "team": team,
                }
            )
        )
    else:
        print("config files: " + (", ".join(loaded.sources) or "none (built-in defaults)"))
        print(f"event loop: {running_loop_label()}")
        print(f"explain would use: {default}")
        for note in loaded.notes:
            print(f"  note: {note}")
        for note in prices:
            print(f"  price: {note}")
        custom = ", ".join(a.name for a in found.custom()) or "none"
        print(f"custom actions: {custom} (see `magray-lsp actions`)")
        for problem in problems:
            print(f"  error: {problem}")
        for r in rows:
            line = f"  {r['status']:<11} {r['provider']:<14} kind={r['kind']:<11} key={r['apiKey']}"
            if r.get("detail"):
                line += f"  — {r['detail']}"
            elif r.get("models"):
                line += f"  — models: {', '.join(r['models'][:5])}"
            print(line)
        if team is not None:
            _print_team(team)
    team_ok = team is None or not team["problems"]
    return 0 if usable and team_ok else 1


def _print_team(team: dict[str, Any]) -> None:
    print(f'team "{team["team"]}" at {team["redis"]}: Redis {team["redisStatus"]}')
    print(f"  member: {team['member']} (from {team['memberSource']})")
    if team["redisStatus"] == "ok":
        print(f"  script: {team['script']}; persistence: {team['persistence']}")
        money = {k: format_usd(None if v is None else Decimal(v)) for k, v in team.items()
                 if k.endswith("Usd")}  # fmt: skip
        limit = f" of {money['limitUsd']}" if team["limitUsd"] is not None else ""
        you = f" of {money['memberLimitUsd']}" if team["memberLimitUsd"] is not None else ""
        print(f"  this month: {money['spentUsd']}{limit}; you: {money['memberSpentUsd']}{you}")
    print(f"  when the Redis is unreachable: {team['onUnreachable']}")
    for problem in team["problems"]:
        print(f"  problem: {problem}")
