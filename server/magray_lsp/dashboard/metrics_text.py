"""``/metrics``: the dashboard's figures in the Prometheus text exposition format 0.0.4.

Hand-written (the format is a few lines per family) so the server needs no extra dependency.
Counters are all-time totals from the ledger, so ``rate()``/``increase()`` work across scrapes;
``provider``/``workspace`` query parameters narrow them, the time range does not (a counter has no
window). Money is in USD as float64, as Prometheus stores every value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from magray_lsp import metrics
from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.budget import BudgetGuard
from magray_lsp.dashboard.reader import LedgerReader

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: the ``outcome`` label → the summary field counting it
_OUTCOME_FIELDS = {
    "ok": "ok",
    "error": "errors",
    "cancelled": "cancelled",
    "budget_refused": "budget_refused",
}
_UP_HELP = "1 when the usage ledger could be read."

Labels = dict[str, str]


@dataclass
class Family:
    name: str
    kind: str  # counter | gauge
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, labels: Labels, value: Any) -> None:
        if value is not None:
            self.samples.append((labels, float(value)))


def exposition(
    reader: LedgerReader,
    budget: BudgetConfig,
    *,
    provider: str | None = None,
    workspace: str | None = None,
    action: str | None = None,
    now: float,
) -> str:
    """Read the ledger once (one snapshot) and render every family."""
    with reader.snapshot():
        report = metrics.summary(
            reader, provider=provider, workspace=workspace, action=action, now=now
        )
        status = BudgetGuard(reader, budget).status(now)
    return render(families(report, status.spent, status.limit, status.unpriced))


def families(
    report: dict[str, Any], month_spend: Decimal, limit: Decimal | None, unpriced: int
) -> list[Family]:
    requests = Family(
        "magray_requests_total", "counter", "Requests recorded in the ledger, by final outcome."
    )
    cost = Family("magray_cost_usd_total", "counter", "Money spent (known prices), in USD.")
    tokens = Family(
        "magray_tokens_total",
        "counter",
        "Tokens sent (input) and received (output); cache_read and cache_write: the parts of the "
        "input read from and written to the provider's prompt cache.",
    )
    hits = Family("magray_cache_hits_total", "counter", "Requests answered from the cache.")
    saved = Family(
        "magray_cache_saved_usd_total", "counter", "Money the cache saved (cost of the original)."
    )
    fallbacks = Family(
        "magray_fallbacks_total", "counter", "Requests that needed at least one fallback."
    )
    unpriced_total = Family(
        "magray_unpriced_requests_total", "counter", "Requests with tokens at an unknown price."
    )
    latency = Family(
        "magray_latency_seconds",
        "gauge",
        "Nearest-rank latency percentile of successful, uncached requests (all time).",
    )
    for m in report["models"]:
        who = {"provider": m["provider"], "model": m["model"]}
        for outcome, key in _OUTCOME_FIELDS.items():
            requests.add({**who, "outcome": outcome}, m[key])
        cost.add(who, m["cost_usd"])
        tokens.add({**who, "kind": "input"}, m["input_tokens"])
        tokens.add({**who, "kind": "output"}, m["output_tokens"])
        tokens.add({**who, "kind": "cache_read"}, m["cache_read_tokens"])
        tokens.add({**who, "kind": "cache_write"}, m["cache_write_tokens"])
        hits.add(who, m["cache_hits"])
        saved.add(who, m["saved_usd"])
        fallbacks.add(who, m["fallbacks"])
        unpriced_total.add(who, m["unpriced"])
        for name, ms in m["latency_ms"].items():
            if ms is not None:
                latency.add({**who, "quantile": str(int(name[1:]) / 100)}, ms / 1000)

    attempts = Family(
        "magray_provider_attempts_total", "counter", "Calls to a provider (fallbacks included)."
    )
    failures = Family(
        "magray_provider_failures_total", "counter", "Calls to a provider that failed."
    )
    uptime = Family(
        "magray_provider_uptime_ratio", "gauge", "Mean hourly success share of provider calls."
    )
    outages = Family("magray_provider_outages_total", "counter", "Provider outages recorded.")
    recovery = Family(
        "magray_provider_recovery_seconds_mean", "gauge", "Mean time from outage to recovery."
    )
    down = Family("magray_provider_down", "gauge", "1 while a provider outage is ongoing.")
    for p in report["providers"]:
        who = {"provider": p["provider"]}
        attempts.add(who, p["attempts"])
        failures.add(who, p["failures"])
        uptime.add(who, p["uptime"])
        outages.add(who, p["recovery"]["outages"])
        recovery.add(who, p["recovery"]["mean_s"])
        down.add(who, 1 if p["recovery"]["ongoing_since"] is not None else 0)

    month = Family(
        "magray_month_spend_usd", "gauge", "Spend this UTC month, every workspace (known prices)."
    )
    month.add({}, month_spend)
    month_unpriced = Family(
        "magray_month_unpriced_requests", "gauge", "Requests this month with unknown prices."
    )
    month_unpriced.add({}, unpriced)
    budget = Family("magray_budget_usd", "gauge", "The monthly budget (absent when none is set).")
    budget.add({}, limit)
    up = Family("magray_ledger_up", "gauge", _UP_HELP)
    up.add({}, 1)
    return [
        requests,
        cost,
        tokens,
        hits,
        saved,
        fallbacks,
        unpriced_total,
        latency,
        attempts,
        failures,
        uptime,
        outages,
        recovery,
        down,
        month,
        month_unpriced,
        budget,
        up,
    ]


def render(fams: Iterable[Family]) -> str:
    lines: list[str] = []
    for fam in fams:
        lines.append(f"# HELP {fam.name} {_escape_help(fam.help)}")
        lines.append(f"# TYPE {fam.name} {fam.kind}")
        for labels, value in fam.samples:
            lines.append(f"{fam.name}{_labels(labels)} {_number(value)}")
    return "\n".join(lines) + "\n"


def unavailable(reason: str) -> str:
    """What ``/metrics`` says when the ledger cannot be read (served with HTTP 503)."""
    up = Family("magray_ledger_up", "gauge", _UP_HELP)
    up.add({}, 0)
    return render([up]) + f"# ledger unavailable: {_escape_help(reason)}\n"


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape_value(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def _escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))  # counts read better without ".0"
    return repr(value)
