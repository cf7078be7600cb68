"""The dashboard's team view: ``/team`` (the page), ``/api/team`` (its JSON) and the team
gauges appended to ``/metrics`` — read from the team's Redis, never written.

``team`` is a callable returning the ``[team]`` configuration (None without team mode); each HTTP
request opens its own bounded Redis connection and closes it, like the ledger reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from magray_lsp import metrics
from magray_lsp.config.models import TeamConfig
from magray_lsp.cost.team_usage import read_usage
from magray_lsp.dashboard.metrics_text import Family, render

TeamSource = Callable[[], TeamConfig | None]
TEAM: web.AppKey[TeamSource] = web.AppKey("team")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def add_team_routes(app: web.Application, team: TeamSource) -> None:
    app[TEAM] = team
    app.router.add_get("/api/team", _api_team)


def _config(request: web.Request) -> TeamConfig | None:
    cfg = request.app[TEAM]()
    return cfg if cfg is not None and cfg.enabled else None


async def _api_team(request: web.Request) -> web.StreamResponse:
    cfg = _config(request)
    if cfg is None:
        return _error(404, "no_team", "no team configured: set [team] redis_url and name")
    month = request.query.get("month") or None
    if month is not None and not _MONTH.match(month):
        return _error(400, "bad_filter", f"month must look like 2025-03, not {month!r}")
    usage = await read_usage(cfg, month)
    if usage.error:
        return _error(503, "team_unavailable", usage.error)
    body = json.dumps(metrics.jsonable(usage.jsonable()), separators=(",", ":"))
    return web.Response(text=body, content_type="application/json")


def _error(status: int, reason: str, message: str) -> web.Response:
    return web.json_response({"error": {"reason": reason, "message": message}}, status=status)


async def team_metrics(request: web.Request) -> str:
    """The team gauges for ``/metrics`` ("" without team mode): this month's spend, holds and
    limits, per member, and whether the Redis could be read."""
    cfg = _config(request) if TEAM in request.app else None
    if cfg is None:
        return ""
    usage = await read_usage(cfg, breakdowns=False)
    who = {"team": usage.team}
    up = Family("magray_team_up", "gauge", "1 when the team's Redis could be read.")
    up.add(who, 0 if usage.error else 1)
    if usage.error:
        return render([up])
    spend = Family("magray_team_spend_usd", "gauge", "The team's spend this UTC month, in USD.")
    spend.add(who, usage.spent)
    held = Family(
        "magray_team_reserved_usd", "gauge", "Money held by the team's requests in flight."
    )
    held.add(who, usage.reserved)
    limit = Family("magray_team_budget_usd", "gauge", "The team's monthly budget (if set).")
    limit.add(who, usage.limit)
    member = Family(
        "magray_team_member_spend_usd", "gauge", "Each member's spend this UTC month, in USD."
    )
    for name, value in sorted(usage.member_spent.items()):
        member.add({**who, "member": name}, value)
    cap = Family("magray_team_member_budget_usd", "gauge", "Each member's monthly budget (if set).")
    cap.add(who, usage.member_limit)
    families: list[Any] = [spend, held, limit, member, cap, up]
    return render(families)
