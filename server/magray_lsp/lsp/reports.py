"""Markdown the server shows: the usage report, and where shown files live."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from magray_lsp import metrics
from magray_lsp.cost.prices import format_usd
from magray_lsp.gateway import Gateway


def output_dir() -> Path:
    """Where explanations and reports are written for `window/showDocument`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "magray" / "shown"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.0f}%"


def _ms(value: Any) -> str:
    return "–" if value is None else f"{float(value):.0f} ms"


def usage_markdown(gateway: Gateway) -> str:
    """Spend this month against the budget, then per model: requests, success, latency, cost.
    (Run off the loop: it first waits for the rows this server journaled to be in the ledger.)"""
    gateway.writer.flush(5.0)
    budget = gateway.budget.status()
    report = metrics.summary(gateway.ledger, since=None)
    lines = ["# magray usage", ""]
    limit = f" of {format_usd(budget.limit)}" if budget.limit is not None else " (no budget set)"
    lines.append(f"**This month:** {format_usd(budget.spent)}{limit}")
    if budget.unpriced:
        lines.append(f"({budget.unpriced} requests with unknown prices are not included)")
    totals = report.get("totals", {})
    lines += [
        "",
        f"Requests: {totals.get('requests', 0)} · cache hits: {_pct(totals.get('cache_hit_rate'))}"
        f" · saved by the cache: {format_usd(totals.get('saved_usd'))}"
        f" · fallbacks: {_pct(totals.get('fallback_rate'))}",
        "",
        "| model | requests | success | p50 | p99 | cost |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in report.get("models", []):
        latency = row.get("latency_ms", {})
        lines.append(
            f"| {row.get('provider')}/{row.get('model')} | {row.get('requests', 0)} | "
            f"{_pct(row.get('success_rate'))} | {_ms(latency.get('p50'))} | "
            f"{_ms(latency.get('p99'))} | {format_usd(row.get('cost_usd'))} |"
        )
    health = gateway.health.snapshot()
    if health:
        lines += ["", "| live | circuit | success (EWMA) | latency (EWMA) |", "|---|---|---:|---:|"]
        for label, h in health.items():
            lines.append(
                f"| {label} | {h['circuit']} | {_pct(h['success'])} | {_ms(h['latencyMs'])} |"
            )
    return "\n".join(lines) + "\n"
