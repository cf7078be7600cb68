"""/metrics: Prometheus text format, read back with prometheus_client's own parser, carrying the
same figures as the seeded ledger."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from tests.dashboard import seed
from tests.dashboard.serving import Start

from magray_lsp.cost.ledger import LedgerEntry
from magray_lsp.dashboard import metrics_text
from magray_lsp.dashboard.metrics_text import Family


def samples(text: str) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append(s)
    return out


def value(found: dict[str, list[Sample]], name: str, **labels: str) -> float:
    hits = [s.value for s in found[name] if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(hits) == 1, (name, labels, hits)
    return hits[0]


def total(entries: Iterable[LedgerEntry]) -> float:
    return float(seed.total_cost(entries))


async def test_metrics_parse_and_carry_the_ledgers_numbers(
    start: Start, seeded: Path, http: httpx.AsyncClient
) -> None:
    dash = await start(seeded)
    got = await http.get(dash.url + "metrics")
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    found = samples(got.text)
    types = {f.name: f.type for f in text_string_to_metric_families(got.text)}
    assert types["magray_requests"] == "counter" and types["magray_month_spend_usd"] == "gauge"

    everything = seed.SEED  # counters are all-time
    for who in (seed.OPENAI, seed.ANTHROPIC, seed.OLLAMA):
        rows = seed.of(who, everything)
        provider, model = who
        for outcome in ("ok", "error", "cancelled", "budget_refused"):
            assert value(
                found, "magray_requests_total", provider=provider, model=model, outcome=outcome
            ) == sum(e.outcome == outcome for e in rows)
        cost = value(found, "magray_cost_usd_total", provider=provider, model=model)
        assert cost == pytest.approx(total(rows))
        assert value(
            found, "magray_tokens_total", provider=provider, model=model, kind="input"
        ) == sum(e.input_tokens for e in rows)
        for kind, tokens in (
            ("cache_read", "cached_input_tokens"),
            ("cache_write", "cache_write_tokens"),
        ):
            assert value(
                found, "magray_tokens_total", provider=provider, model=model, kind=kind
            ) == sum(getattr(e, tokens) for e in rows if not e.cached)
        p50 = value(found, "magray_latency_seconds", provider=provider, model=model, quantile="0.5")
        assert p50 == pytest.approx((seed.nearest_rank(rows, 50) or 0) / 1000)
    assert value(found, "magray_cache_hits_total", provider="openai", model="gpt-4o-mini") == 1
    saved = value(found, "magray_cache_saved_usd_total", provider="openai", model="gpt-4o-mini")
    assert saved == pytest.approx(0.0125)
    assert value(found, "magray_fallbacks_total", provider="openai", model="gpt-4o-mini") == 1

    assert value(found, "magray_month_spend_usd") == pytest.approx(total(seed.in_month()))
    assert value(found, "magray_budget_usd") == float(seed.BUDGET)
    assert value(found, "magray_provider_outages_total", provider="anthropic") == 1
    assert value(found, "magray_provider_recovery_seconds_mean", provider="anthropic") == (
        pytest.approx(seed.ANTHROPIC_RECOVERY_S)
    )
    assert value(found, "magray_provider_down", provider="openai") == 1
    assert value(found, "magray_provider_down", provider="anthropic") == 0
    assert value(found, "magray_ledger_up") == 1

    only = samples((await http.get(dash.url + "metrics?provider=anthropic")).text)
    assert {s.labels["provider"] for s in only["magray_requests_total"]} == {"anthropic"}


async def test_an_unreadable_ledger_is_a_503_that_still_parses(
    start: Start, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    dash = await start(tmp_path / "missing.sqlite3")
    got = await http.get(dash.url + "metrics")
    assert got.status_code == 503
    assert value(samples(got.text), "magray_ledger_up") == 0
    assert "no usage ledger at" in got.text


def test_label_values_are_escaped() -> None:
    fam = Family("magray_cost_usd_total", "counter", "help with \\ and\nnewline")
    odd = 'we"ird\\model\nname'
    fam.add({"provider": "p", "model": odd}, Decimal("0.125"))
    parsed = list(text_string_to_metric_families(metrics_text.render([fam])))
    assert parsed[0].documentation == "help with \\ and\nnewline"
    assert parsed[0].samples[0].labels == {"provider": "p", "model": odd}
    assert parsed[0].samples[0].value == 0.125
