"""The `magray/status` notification: what the last request cost, in one line and in fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from magray_lsp.cost.prices import format_usd
from magray_lsp.cost.team_status import TeamStatus
from magray_lsp.gateway import Gateway, Outcome

STATUS_METHOD = "magray/status"
STREAM_METHOD = "magray/stream"

Scope = Literal["local", "team", "member"]


def _money(value: Decimal | None) -> float | None:
    # JSON has no decimals; clients display these, the ledger keeps the exact values.
    return None if value is None else float(value)


def tighter_budget(
    team: TeamStatus | None, month: Decimal | None, budget: Decimal | None
) -> tuple[Scope, Decimal | None, Decimal | None]:
    """(scope, month spend, limit) of the budget that refuses first: this machine's
    ``[budget]``, unless a ``[team]`` limit has less left."""
    if team is None or team.binding is None:
        return "local", month, budget
    left = team.remaining
    local_left = None if budget is None else max(budget - (month or Decimal(0)), Decimal(0))
    if left is not None and (local_left is None or left < local_left):
        spent, limit = team.binding_spent
        return team.binding, spent, limit
    return "local", month, budget


def team_note(team: TeamStatus | None) -> str | None:
    """Why team limits do not apply right now (the Redis is out of reach), else None."""
    if team is None or team.reachable is not False:
        return None
    if team.policy == "allow":
        return "team budget not checked (Redis unreachable)"
    if team.policy == "refuse":
        return "team budget unavailable: requests refused"
    return "team budget unavailable: local models only"


def title_note(gateway: Gateway) -> str | None:
    """What code-action titles add about the team budget: why it does not apply, or where it
    stands when it is the tighter limit (None otherwise, and without team mode)."""
    if gateway.team is None:
        return None
    gateway.team.refresh_soon()  # other members spend too: keep the figures recent
    team = gateway.team.status
    if note := team_note(team):
        return note
    if not team.reachable:
        return None  # not asked yet: no figures to show
    local = gateway.budget_status()
    scope, month, budget = tighter_budget(team, local.spent, local.limit)
    if scope == "local" or month is None or budget is None:
        return None
    who = "team" if scope == "team" else "your"
    if team.remaining == 0:
        return f"{who} budget reached"
    return f"{who} budget {format_usd(month)}/{format_usd(budget)}"


def status_text(outcome: Outcome) -> str:
    if outcome.cached:
        head = "cached"
    elif outcome.coalesced:
        head = "shared"
    else:
        head = format_usd(outcome.cost_usd)
    parts = [head, outcome.ref.model, f"{outcome.latency_ms / 1000:.1f} s"]
    scope, month, budget = tighter_budget(outcome.team, outcome.month_usd, outcome.budget_usd)
    if month is not None:
        label = {"local": "month", "team": "team", "member": "you"}[scope]
        text = f"{label} {format_usd(month)}"
        if budget is not None:
            text += f"/{format_usd(budget)}"
        parts.append(text)
    if outcome.fallback_from:
        parts.append(f"fallback from {outcome.fallback_from}")
    if note := team_note(outcome.team):
        parts.append(note)
    return " · ".join(parts)


def _team_fields(team: TeamStatus | None) -> dict[str, Any] | None:
    if team is None:
        return None
    return {
        "name": team.team,
        "member": team.member,
        "spentUsd": _money(team.spent),
        "reservedUsd": _money(team.reserved),
        "budgetUsd": _money(team.limit),
        "memberSpentUsd": _money(team.member_spent),
        "memberBudgetUsd": _money(team.member_limit),
        "reachable": team.reachable,
        "onUnreachable": team.policy,
        "note": team_note(team),
    }


def status_payload(outcome: Outcome, *, action: str, local_only: bool) -> dict[str, Any]:
    """``monthUsd``/``budgetUsd`` are those of the budget that refuses first (``budgetScope``:
    this machine's, the team's or the member's), so every client's budget warning follows it;
    ``localMonthUsd``/``localBudgetUsd`` and ``team`` carry all of them."""
    usage = outcome.usage
    scope, month, budget = tighter_budget(outcome.team, outcome.month_usd, outcome.budget_usd)
    return {
        "text": status_text(outcome) + (" · local only" if local_only else ""),
        "action": action,
        "provider": outcome.ref.provider,
        "model": outcome.ref.model,
        "costUsd": _money(outcome.cost_usd),
        "monthUsd": _money(month),
        "budgetUsd": _money(budget),
        "budgetScope": scope,
        "localMonthUsd": _money(outcome.month_usd),
        "localBudgetUsd": _money(outcome.budget_usd),
        "team": _team_fields(outcome.team),
        "latencyMs": round(outcome.latency_ms, 1),
        "cached": outcome.cached or outcome.coalesced,
        "fallbackFrom": outcome.fallback_from,
        "inputTokens": usage.input_tokens if usage else None,
        "outputTokens": usage.output_tokens if usage else None,
        "route": outcome.route,
        "localOnly": local_only,
        "requestId": outcome.request_id,
    }
