"""Metrics from a real ledger: hand-computed numbers on a seed, and rollups against brute force."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.ledger import Ledger, LedgerEntry
from magray_lsp.dashboard import queries
from magray_lsp.dashboard.filters import Filters
from magray_lsp.dashboard.reader import LedgerReader
from magray_lsp.metrics import LiveCounters, jsonable, summary

T = datetime(2025, 3, 10, tzinfo=UTC).timestamp()  # on the hour
HOUR = 3600.0
OPENAI = ("openai", "gpt-4o-mini")
ANTHROPIC = ("anthropic", "claude-3-5-haiku-latest")


def e(who: tuple[str, str], at: float, **kw: Any) -> LedgerEntry:
    cost = kw.pop("cost", None)
    return LedgerEntry(
        action=kw.pop("action", "explain"),
        provider=who[0],
        model=who[1],
        ts=T + at,
        workspace=kw.pop("workspace", "/w"),
        cost_usd=None if cost is None else Decimal(cost),
        **kw,
    )


# Recorded in time order; every number below is worked out by hand from this table.
SEED = [
    e(OPENAI, 0, latency_ms=100, cost="0.010"),
    e(ANTHROPIC, 30, latency_ms=1000, cost="0.100"),
    e(OPENAI, 60, latency_ms=200, cost="0.020"),
    e(OPENAI, 120, latency_ms=300, cost="0.030"),
    e(ANTHROPIC, 170, outcome="error", error_type="Timeout", latency_ms=5000),  # outage opens
    e(
        OPENAI,
        180,
        latency_ms=400,
        cost="0.040",
        fallback_chain=["anthropic/claude-3-5-haiku-latest"],
    ),
    e(OPENAI, 240, outcome="error", error_type="ServerError", latency_ms=50, input_tokens=100),
    e(OPENAI, 300, latency_ms=1, cost="0", cached=True, saved_usd=Decimal("0.010")),
    e(ANTHROPIC, HOUR + 600, latency_ms=800, cost="0.080"),  # anthropic recovers
    e(ANTHROPIC, HOUR + 700, outcome="error", error_type="BadRequest", latency_ms=10),
    e(ANTHROPIC, HOUR + 800, outcome="cancelled", latency_ms=300, output_tokens=20, cost="0.001"),
    e(ANTHROPIC, HOUR + 900, outcome="budget_refused", estimated_usd=Decimal("0.5")),
]


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(tmp_path / "ledger.sqlite3")
    for entry in SEED:
        led.record(entry)
    yield led
    led.close()


def by_model(s: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["provider"], m["model"]): m for m in s["models"]}


def by_provider(s: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["provider"]: p for p in s["providers"]}


def test_per_model_numbers(seeded: Ledger) -> None:
    s = summary(seeded, since=T, until=T + 2 * HOUR)
    oa, an = by_model(s)[OPENAI], by_model(s)[ANTHROPIC]

    assert (oa["requests"], oa["ok"], oa["errors"]) == (6, 5, 1)
    assert oa["success_rate"] == 5 / 6
    assert oa["latency_ms"] == {"p50": 200.0, "p90": 400.0, "p99": 400.0}  # cached one excluded
    assert oa["cost_usd"] == Decimal("0.1")
    assert oa["cost_per_request_usd"] == Decimal("0.02")  # 5 priced requests
    assert oa["unpriced"] == 1  # the error that used 100 tokens at an unknown price
    assert oa["fallbacks"] == 1 and oa["fallback_rate"] == 1 / 6
    assert oa["cache_hits"] == 1 and oa["cache_hit_rate"] == 1 / 6
    assert oa["saved_usd"] == Decimal("0.01")
    assert oa["requests_per_s"] == 6 / 7200

    assert (an["requests"], an["ok"], an["errors"]) == (6, 2, 2)
    assert (an["cancelled"], an["budget_refused"]) == (1, 1)
    assert an["success_rate"] == 0.5
    assert an["latency_ms"] == {"p50": 800.0, "p90": 1000.0, "p99": 1000.0}
    assert an["cost_usd"] == Decimal("0.181")
    assert an["cost_per_request_usd"] == Decimal("0.060333333333")  # 0.181 / 3, to the pico-dollar
    assert an["output_tokens"] == 20


def test_totals_and_window(seeded: Ledger) -> None:
    s = summary(seeded, since=T, until=T + 2 * HOUR)
    t = s["totals"]
    assert s["window"] == {"since": T, "until": T + 2 * HOUR, "seconds": 7200}
    assert (t["requests"], t["ok"], t["errors"], t["cancelled"], t["budget_refused"]) == (
        12,
        7,
        3,
        1,
        1,
    )
    assert t["success_rate"] == 0.7
    assert t["latency_ms"] == {"p50": 300.0, "p90": 1000.0, "p99": 1000.0}
    assert t["cost_usd"] == Decimal("0.281")
    assert t["cost_per_request_usd"] == Decimal("0.035125")  # 0.281 / 8 priced
    assert t["requests_per_s"] == 12 / 7200
    assert t["fallback_rate"] == 1 / 12 and t["cache_hit_rate"] == 1 / 12
    assert s["spend_per_day"] == [
        {"day": "2025-03-10", "cost_usd": Decimal("0.281"), "requests": 12}
    ]


def test_provider_uptime_failures_and_recovery(seeded: Ledger) -> None:
    s = summary(seeded, since=T, until=T + 2 * HOUR)
    oa, an = by_provider(s)["openai"], by_provider(s)["anthropic"]

    # openai: 4 ok + 1 ServerError in hour 0 (the cache hit is not an attempt).
    assert (oa["attempts"], oa["failures"]) == (5, 1)
    assert oa["uptime"] == pytest.approx(0.8)
    assert oa["buckets"] == [{"start": T, "attempts": 5, "ok": 4, "success_rate": 0.8}]
    assert oa["recovery"]["outages"] == 1 and oa["recovery"]["recovered"] == 0
    assert oa["recovery"]["ongoing_since"] == pytest.approx(T + 240.05)  # failed at 240 + 50 ms

    # anthropic: hour 0 = ok, Timeout, failed fallback (1/3); hour 1 = ok (BadRequest is the
    # request's fault, not an attempt).
    assert (an["attempts"], an["failures"], an["failure_rate"]) == (4, 2, 0.5)
    assert an["uptime"] == pytest.approx((1 / 3 + 1) / 2)
    assert [b["start"] for b in an["buckets"]] == [T, T + HOUR]
    rec = an["recovery"]
    assert (rec["outages"], rec["recovered"], rec["ongoing_since"]) == (1, 1, None)
    # Down at 170 s + 5 s (the Timeout came back after 5 s), up at 4200 s + 0.8 s.
    assert rec["mean_s"] == pytest.approx(4200.8 - 175.0)
    assert rec["max_s"] == pytest.approx(4200.8 - 175.0)


def test_wider_uptime_buckets(seeded: Ledger) -> None:
    an = by_provider(summary(seeded, since=T, until=T + 2 * HOUR, bucket_hours=2))["anthropic"]
    assert an["buckets"] == [{"start": T, "attempts": 4, "ok": 2, "success_rate": 0.5}]
    assert an["uptime"] == 0.5


def test_provider_filter(seeded: Ledger) -> None:
    s = summary(seeded, since=T, until=T + 2 * HOUR, provider="anthropic")
    assert list(by_model(s)) == [ANTHROPIC]
    assert list(by_provider(s)) == ["anthropic"]
    assert s["totals"]["requests"] == 6
    assert s["totals"]["latency_ms"] == {"p50": 800.0, "p90": 1000.0, "p99": 1000.0}
    assert s["spend_per_day"][0]["cost_usd"] == Decimal("0.181")


def test_a_window_that_cuts_hours_in_the_middle(seeded: Ledger) -> None:
    s = summary(seeded, since=T + 100, until=T + HOUR + 750)
    t = s["totals"]
    # In: 120, 170, 180, 240, 300 (hour 0) and 4200, 4300 (hour 1).
    assert t["requests"] == 7
    assert t["cost_usd"] == Decimal("0.15")
    assert t["latency_ms"] == {"p50": 400.0, "p90": 800.0, "p99": 800.0}  # 300, 400, 800
    assert by_provider(s)["anthropic"]["recovery"]["recovered"] == 1


def test_workspace_filter_and_defaults(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite3") as led:
        led.record(e(OPENAI, 10, workspace="/a", latency_ms=10, cost="1"))
        led.record(e(OPENAI, 20, workspace="/b", latency_ms=20, cost="2"))
        led.record(e(OPENAI, 40, workspace="/b", latency_ms=30, cost="3"))
        s = summary(led, workspace="/b", now=T + 60)
        assert s["totals"]["requests"] == 2 and s["totals"]["cost_usd"] == Decimal(5)
        assert s["window"] == {"since": T + 20, "until": T + 60, "seconds": 40}
        assert s["totals"]["requests_per_s"] == 2 / 40


def test_empty_ledger(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite3") as led:
        s = summary(led)
    assert s["models"] == [] and s["providers"] == [] and s["spend_per_day"] == []
    t = s["totals"]
    assert t["requests"] == 0 and t["success_rate"] is None and t["requests_per_s"] is None
    assert t["latency_ms"] == {"p50": None, "p90": None, "p99": None}
    assert t["cost_usd"] == 0 and t["cost_per_request_usd"] is None


def test_jsonable_keeps_money_exact(seeded: Ledger) -> None:
    text = json.dumps(jsonable(summary(seeded, since=T, until=T + 2 * HOUR)))
    back = json.loads(text)
    assert back["totals"]["cost_usd"] == "0.281"
    assert back["models"][0]["cost_per_request_usd"] == "0.060333333333"


def test_live_counters() -> None:
    now = [100.0]
    live = LiveCounters(clock=lambda: now[0])
    with live.in_flight():
        assert live.snapshot()["in_flight"] == 1
        live.incr("cache_memory_hits", 2)
    now[0] = 130.0
    snap = live.snapshot()
    assert snap == {
        "uptime_s": 30.0,
        "in_flight": 0,
        "started": 1,
        "finished": 1,
        "cache_memory_hits": 2,
    }


def test_summary_can_include_live_counters(seeded: Ledger) -> None:
    live = LiveCounters()
    live.incr("streams")
    assert summary(seeded, live=live)["live"]["streams"] == 1


# --- rollups + raw edges agree with a brute-force computation ------------------------------------


def brute(entries: list[LedgerEntry], since: float, until: float) -> dict[str, Any]:
    rows = [x for x in entries if since <= x.ts < until]
    lat = sorted(x.latency_ms for x in rows if x.outcome == "ok" and not x.cached)
    pct = {f"p{p}": (lat[math.ceil(p * len(lat) / 100) - 1] if lat else None) for p in (50, 90, 99)}
    attempts: dict[str, list[int]] = {}
    for x in rows:
        if x.cached:
            continue
        for item in x.fallback_chain:
            attempts.setdefault(item.split("/")[0], [0, 0])[0] += 1
        if x.outcome == "ok" or (x.outcome == "error" and x.error_type != "BadRequest"):
            a = attempts.setdefault(x.provider, [0, 0])
            a[0] += 1
            a[1] += x.outcome == "ok"
    return {
        "requests": len(rows),
        "ok": sum(x.outcome == "ok" for x in rows),
        "cost": sum((x.cost_usd or Decimal(0) for x in rows), Decimal(0)),
        "saved": sum((x.saved_usd or Decimal(0) for x in rows), Decimal(0)),
        "fallbacks": sum(bool(x.fallback_chain) for x in rows),
        "latency": pct,
        "attempts": {p: tuple(v) for p, v in attempts.items()},
        "days": len({datetime.fromtimestamp(x.ts, UTC).date() for x in rows}),
    }


#: built-in and custom action names, as the ledger records them (Task.action_name)
ACTIONS = ["explain", "document", "refactor", "hover", "fix", "tests", "simplify", "Übersetzen"]


def random_entries(rnd: random.Random, n: int = 3000) -> list[LedgerEntry]:
    providers = [OPENAI, ANTHROPIC, ("google", "gemini-2.0-flash"), ("ollama", "llama3.1")]
    entries = []
    for _ in range(n):
        who = rnd.choice(providers)
        outcome = rnd.choices(["ok", "error", "cancelled", "budget_refused"], [80, 12, 5, 3])[0]
        cached = outcome == "ok" and rnd.random() < 0.1
        entries.append(
            e(
                who,
                rnd.uniform(-2 * 86400, 3 * 86400),
                action=rnd.choice(ACTIONS),
                workspace=rnd.choice(["/w", "/v"]),
                outcome=outcome,
                error_type=rnd.choice(["Timeout", "BadRequest"]) if outcome == "error" else None,
                latency_ms=round(rnd.lognormvariate(6, 1), 3),
                cost=None if rnd.random() < 0.1 else str(Decimal(rnd.randint(0, 10**6)) / 10**9),
                cached=cached,
                saved_usd=Decimal("0.001") if cached else None,
                fallback_chain=["openai/gpt-4o", "google/x/y"] if rnd.random() < 0.1 else [],
            )
        )
    return entries


def random_windows(rnd: random.Random) -> list[tuple[float, float]]:
    """Whole days, whole hours, one partial hour, and windows that start and end mid-hour."""
    windows = [(-3 * 86400.0, 4 * 86400.0), (0.0, HOUR), (0.0, 86400.0), (100.0, 2000.0)]
    for _ in range(25):
        a, b = sorted(rnd.uniform(-2.5 * 86400, 3.5 * 86400) for _ in range(2))
        windows.append((a, b))
    return windows


def assert_matches(s: dict[str, Any], want: dict[str, Any], case: object) -> None:
    t = s["totals"]
    assert t["requests"] == want["requests"], case
    assert t["ok"] == want["ok"], case
    assert t["cost_usd"] == want["cost"], case
    assert t["saved_usd"] == want["saved"], case
    assert t["fallbacks"] == want["fallbacks"], case
    assert t["latency_ms"] == want["latency"], case
    got = {p["provider"]: (p["attempts"], p["attempts"] - p["failures"]) for p in s["providers"]}
    assert got == want["attempts"], case
    assert len(s["spend_per_day"]) == want["days"], case


def test_rollups_and_edges_match_brute_force_on_random_windows(tmp_path: Path) -> None:
    rnd = random.Random(7)
    entries = random_entries(rnd)
    with Ledger(tmp_path / "l.sqlite3") as led:
        with led.transaction() as tx:
            for x in entries:
                tx.record(x)
        for a, b in random_windows(rnd):
            s = summary(led, since=T + a, until=T + b)
            assert_matches(s, brute(entries, T + a, T + b), (a, b))
        # per model percentiles too, over everything
        s = summary(led)
        for m in s["models"]:
            lat = sorted(
                x.latency_ms
                for x in entries
                if (x.provider, x.model) == (m["provider"], m["model"])
                and x.outcome == "ok"
                and not x.cached
            )
            assert m["latency_ms"]["p90"] == lat[math.ceil(0.9 * len(lat)) - 1]


def nearest_rank(values: list[float]) -> dict[str, float | None]:
    lat = sorted(values)
    return {
        f"p{p}": (lat[math.ceil(p * len(lat) / 100) - 1] if lat else None) for p in (50, 90, 99)
    }


def test_action_filtered_views_from_the_action_rollups_match_the_raw_rows(tmp_path: Path) -> None:
    """Stats and dashboard figures for one action (built-in or custom), read from the rollups
    keyed by action in the window's whole hours and from raw rows at its mid-hour edges, are
    the figures of that action's raw rows."""
    rnd = random.Random(16)
    entries = random_entries(rnd)
    path = tmp_path / "l.sqlite3"
    with Ledger(path) as led:
        with led.transaction() as tx:
            for x in entries:
                tx.record(x)
        windows = random_windows(rnd)
        for a, b in windows:
            for action in [*rnd.sample(ACTIONS, 3), "never-used"]:
                mine = [x for x in entries if x.action == action]
                s = summary(led, since=T + a, until=T + b, action=action)
                assert_matches(s, brute(mine, T + a, T + b), (a, b, action))
            ws = [x for x in entries if x.action == "simplify" and x.workspace == "/v"]
            s = summary(led, since=T + a, until=T + b, action="simplify", workspace="/v")
            assert_matches(s, brute(ws, T + a, T + b), (a, b, "simplify in /v"))
        everything = summary(led, action="Übersetzen")  # no bounds: rollups only, no edges
        assert_matches(
            everything,
            brute([x for x in entries if x.action == "Übersetzen"], -math.inf, math.inf),
            "all time",
        )

    reader = LedgerReader(path)
    try:
        for a, b in windows[:8]:
            rows = [x for x in entries if x.action == "refactor" and T + a <= x.ts < T + b]
            f = Filters(range="custom", since=T + a, until=T + b, action="refactor")
            data = queries.dashboard(reader, f, BudgetConfig(), now=T + 4 * 86400)
            want = {}
            for prov in {x.provider for x in rows}:
                mine = [x for x in rows if x.provider == prov]
                ok = [x.latency_ms for x in mine if x.outcome == "ok" and not x.cached]
                cost = sum((x.cost_usd or Decimal(0) for x in mine), Decimal(0))
                want[prov] = (len(mine), cost, nearest_rank(ok))
            got = {
                p["provider"]: (p["requests"], Decimal(p["cost_usd"]), p["latency_ms"])
                for p in data["providers"]
                if p["requests"]
            }
            assert got == want, (a, b)
            assert data["totals"]["requests"] == len(rows)
    finally:
        reader.close()
