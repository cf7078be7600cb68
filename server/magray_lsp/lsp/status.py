"""The `magray/status` notification: what the last request cost, in one line and in fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from magray_lsp.cost.prices import format_usd
from magray_lsp.gateway import Outcome

STATUS_METHOD = "magray/status"
STREAM_METHOD = "magray/stream"


def _money(value: Decimal | None) -> float | None:
    # JSON has no decimals; clients display these, the ledger keeps the exact values.
    return None if value is None else float(value)


def status_text(outcome: Outcome) -> str:
    if outcome.cached:
        head = "cached"
    elif outcome.coalesced:
        head = "shared"
    else:
        head = format_usd(outcome.cost_usd)
    parts = [head, outcome.ref.model, f"{outcome.latency_ms / 1000:.1f} s"]
    if outcome.month_usd is not None:
        month = f"month {format_usd(outcome.month_usd)}"
        if outcome.budget_usd is not None:
            month += f"/{format_usd(outcome.budget_usd)}"
        parts.append(month)
    if outcome.fallback_from:
        parts.append(f"fallback from {outcome.fallback_from}")
    return " · ".join(parts)


def status_payload(outcome: Outcome, *, action: str, local_only: bool) -> dict[str, Any]:
    usage = outcome.usage
    return {
        "text": status_text(outcome) + (" · local only" if local_only else ""),
        "action": action,
        "provider": outcome.ref.provider,
        "model": outcome.ref.model,
        "costUsd": _money(outcome.cost_usd),
        "monthUsd": _money(outcome.month_usd),
        "budgetUsd": _money(outcome.budget_usd),
        "latencyMs": round(outcome.latency_ms, 1),
        "cached": outcome.cached or outcome.coalesced,
        "fallbackFrom": outcome.fallback_from,
        "inputTokens": usage.input_tokens if usage else None,
        "outputTokens": usage.output_tokens if usage else None,
        "route": outcome.route,
        "localOnly": local_only,
        "requestId": outcome.request_id,
    }
