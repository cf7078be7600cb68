"""A small, hand-made ledger and the numbers it should show, worked out here in plain Python
(never with the dashboard's SQL), so a test compares the page against an independent answer."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from magray_lsp.cost.ledger import Ledger, LedgerEntry

#: the dashboard's clock in these tests: mid-month, so "this month" has room on both sides
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC).timestamp()
MONTH_START = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
DAY, HOUR = 86400.0, 3600.0
BUDGET = Decimal("0.5")

OPENAI = ("openai", "gpt-4o-mini")
ANTHROPIC = ("anthropic", "claude-3-5-haiku-latest")
OLLAMA = ("ollama", "llama3.1")
ALPHA, BETA = "/work/alpha", "/work/beta"


def _e(who: tuple[str, str], ts: float, **kw: Any) -> LedgerEntry:
    cost = kw.pop("cost", None)
    saved = kw.pop("saved", None)
    uncached = kw.pop("uncached", None)
    return LedgerEntry(
        action=kw.pop("action", "explain"),
        provider=who[0],
        model=who[1],
        ts=ts,
        workspace=kw.pop("workspace", ALPHA),
        source_path=kw.pop("source_path", f"{ALPHA}/src/app.py"),
        cost_usd=None if cost is None else Decimal(cost),
        saved_usd=None if saved is None else Decimal(saved),
        uncached_usd=None if uncached is None else Decimal(uncached),
        **kw,
    )


# In time order (the ledger's outage bookkeeping follows recording order).
SEED: list[LedgerEntry] = [
    # last month: only "all time" and custom ranges include these
    _e(OPENAI, datetime(2026, 2, 20, tzinfo=UTC).timestamp(), cost="1.50", latency_ms=400),
    _e(
        ANTHROPIC,
        datetime(2026, 2, 21, tzinfo=UTC).timestamp(),
        cost="2.25",
        latency_ms=900,
        workspace=BETA,
    ),
    # this month
    _e(OPENAI, NOW - 10 * DAY, cost="0.0125", latency_ms=420, input_tokens=1200, output_tokens=300),
    _e(
        OPENAI,
        NOW - 9 * DAY,
        cost="0.0175",
        latency_ms=380,
        action="document",
        input_tokens=1500,
        output_tokens=420,
    ),
    _e(
        ANTHROPIC,
        NOW - 8 * DAY,
        cost="0.042",
        latency_ms=910,
        action="refactor",
        workspace=BETA,
        source_path=f"{BETA}/lib/db.rs",
        input_tokens=2100,
        output_tokens=900,
        cached_input_tokens=1500,  # read from the prompt cache: saved $0.0039
        uncached="0.0459",
    ),
    # anthropic times out: an outage opens 30 s after this request started ...
    _e(
        ANTHROPIC,
        NOW - 7 * DAY,
        outcome="error",
        error_type="Timeout",
        latency_ms=30000,
        workspace=BETA,
        source_path=f"{BETA}/lib/db.rs",
    ),
    _e(
        OPENAI,
        NOW - 7 * DAY + 60,
        cost="0.0150",
        latency_ms=450,
        workspace=BETA,
        source_path=f"{BETA}/lib/db.rs",
        fallback_chain=["anthropic/claude-3-5-haiku-latest"],
    ),
    # ... and closes when anthropic answers again: 1800 + 0.87 - 30 s later
    _e(
        ANTHROPIC,
        NOW - 7 * DAY + 1800,
        cost="0.038",
        cache_write_tokens=1500,  # written to the prompt cache: $0.0015 more than plain input
        uncached="0.0365",
        latency_ms=870,
        workspace=BETA,
        source_path=f"{BETA}/lib/db.rs",
    ),
    _e(OPENAI, NOW - 3 * DAY, cost="0", saved="0.0125", cached=True, latency_ms=3),
    _e(OLLAMA, NOW - 2 * DAY, cost="0", latency_ms=2600, source_path=f"{ALPHA}/src/model.py"),
    _e(OPENAI, NOW - 1 * DAY, cost="0.0225", latency_ms=510, input_tokens=900, output_tokens=400),
    _e(
        ANTHROPIC,
        NOW - 5 * HOUR,
        outcome="cancelled",
        cost="0.001",
        latency_ms=300,
        output_tokens=20,
        workspace=BETA,
        source_path=f"{BETA}/lib/db.rs",
    ),
    _e(OPENAI, NOW - 2 * HOUR, outcome="budget_refused", estimated_usd=Decimal("0.5")),
    _e(
        OPENAI,
        NOW - 1 * HOUR,
        outcome="error",
        error_type="ServerError",
        latency_ms=120,
        input_tokens=100,
    ),
]
ANTHROPIC_RECOVERY_S = 1800 + 0.87 - 30


def seed_ledger(path: Path, entries: Iterable[LedgerEntry] = SEED) -> Path:
    with Ledger(path) as ledger:
        for entry in entries:
            ledger.record(entry)
    return path


def one_day() -> list[LedgerEntry]:
    """A ledger whose whole history is this morning: a handful of requests, one short outage."""
    day = NOW - 6 * HOUR
    return [
        _e(OPENAI, day, cost="0.0125", latency_ms=420, input_tokens=1200, output_tokens=300),
        _e(ANTHROPIC, day + 600, outcome="error", error_type="Timeout", latency_ms=30000),
        _e(
            OPENAI,
            day + 660,
            cost="0.0150",
            latency_ms=450,
            fallback_chain=["anthropic/claude-3-5-haiku-latest"],
        ),
        _e(ANTHROPIC, day + 2400, cost="0.038", latency_ms=870),
        _e(OLLAMA, day + 3 * HOUR, cost="0", latency_ms=2600),
    ]


def forty_days() -> list[LedgerEntry]:
    """Forty days up to NOW: every day some requests, costs that vary, a bad day for anthropic."""
    out: list[LedgerEntry] = []
    for back in range(39, -1, -1):
        day = NOW - back * DAY - 3 * HOUR
        for i in range(1 + back % 4):
            out.append(
                _e(OPENAI, day + i * 60, cost=f"0.0{1 + (back * 7 + i) % 9}", latency_ms=400)
            )
        failing = back in (12, 13)
        out.append(
            _e(
                ANTHROPIC,
                day + HOUR,
                outcome="error" if failing else "ok",
                error_type="ServerError" if failing else None,
                cost=None if failing else "0.04",
                latency_ms=900,
            )
        )
    return out


# --- the expected numbers, by brute force ------------------------------------------------------


def in_month(entries: Sequence[LedgerEntry] = SEED) -> list[LedgerEntry]:
    return [e for e in entries if MONTH_START <= e.ts < NOW]


def total_cost(entries: Iterable[LedgerEntry]) -> Decimal:
    return sum((e.cost_usd for e in entries if e.cost_usd is not None), Decimal(0))


def prompt_cache_saved(entries: Iterable[LedgerEntry]) -> Decimal:
    """Uncached minus paid price, over provider calls the prompt cache took part in."""
    return sum(
        (
            e.uncached_usd - (e.cost_usd or Decimal(0))
            for e in entries
            if e.uncached_usd is not None and not e.cached
        ),
        Decimal(0),
    )


def cost_per_request(entries: Sequence[LedgerEntry]) -> Decimal | None:
    priced = [e for e in entries if e.cost_usd is not None]
    return total_cost(priced) / len(priced) if priced else None


def success_rate(entries: Sequence[LedgerEntry]) -> float | None:
    ok = sum(e.outcome == "ok" for e in entries)
    err = sum(e.outcome == "error" for e in entries)
    return ok / (ok + err) if ok + err else None


def nearest_rank(entries: Sequence[LedgerEntry], p: int) -> float | None:
    latencies = sorted(e.latency_ms for e in entries if e.outcome == "ok" and not e.cached)
    if not latencies:
        return None
    return latencies[math.ceil(p * len(latencies) / 100) - 1]


def of(who: tuple[str, str], entries: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    return [e for e in entries if (e.provider, e.model) == who]


# --- how the page writes numbers (the same rules as app.js / format_usd) -----------------------


def usd(amount: Decimal | None) -> str:
    if amount is None:
        return "$?"
    if amount == 0:
        return "$0"
    if amount < Decimal("0.0001"):
        return "<$0.0001"
    if amount < Decimal("0.01"):
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


def usd_fine(amount: Decimal | None) -> str:
    if amount is None:
        return "–"
    return f"${amount:.4f}" if 0 < amount < 1 else usd(amount)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.1f} s" if value >= 10000 else f"{round(value):,} ms"
