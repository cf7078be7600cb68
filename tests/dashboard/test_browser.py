"""The dashboard in a real headless Chromium: the numbers on the page equal the seeded ledger's
(worked out independently in ``seed``), filters in the URL narrow them, the charts' time axes
span the selected range, and a broken, empty or missing ledger shows a clear message. Saves
``artifacts/dashboard.png``, ``dashboard-one-day.png`` and ``dashboard-40-days.png``."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest

from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import load_config
from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.ledger import Ledger
from magray_lsp.dashboard.server import start_dashboard
from magray_lsp.gateway import Gateway
from tests.dashboard import seed
from tests.dashboard.browser import Dom, dump_dom, screenshot
from tests.dashboard.seed import (
    ANTHROPIC,
    OLLAMA,
    OPENAI,
    in_month,
    ms,
    nearest_rank,
    of,
    pct,
    usd,
    usd_fine,
)
from tests.dashboard.serving import dashboards
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import Status
from tests.fakes.openai import FakeOpenAI
from tests.unit.gateway.conftest import settings, task

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
Serve = Callable[[Path], Awaitable[str]]
DAY, HOUR = int(seed.DAY), int(seed.HOUR)
CHARTS = ("chart-spend", "chart-health")


@pytest.fixture
async def served() -> AsyncIterator[Serve]:
    """Start dashboards over given ledger files (the seed's clock and budget); their URLs."""
    async with dashboards() as start:

        async def serve(ledger: Path) -> str:
            return (await start(ledger)).url

        yield serve


@pytest.fixture
async def url(tmp_path: Path, served: Serve) -> str:
    return await served(seed.seed_ledger(tmp_path / "ledger.sqlite3"))


async def test_the_page_shows_the_ledgers_numbers_for_this_month(url: str) -> None:
    dom = await dump_dom(url)
    assert dom.state == "ready", dom.text("notice")
    month = in_month()
    spent = seed.total_cost(month)
    assert spent == Decimal("0.1485")  # the seed is what we think it is

    assert dom.text("kpi-month") == usd(spent) == "$0.15"
    assert Decimal(dom.by_id("kpi-month").attrs["data-value"]) == spent
    assert (
        dom.text("kpi-budget")
        == f"of {usd(seed.BUDGET)} budget ({pct(float(spent / seed.BUDGET))})"
    )
    assert dom.text("kpi-spend") == usd(spent)
    assert dom.text("kpi-requests") == str(len(month)) == "12"
    assert dom.text("kpi-errors") == str(sum(e.outcome == "error" for e in month))
    assert dom.text("kpi-success") == pct(seed.success_rate(month)) == "80.0%"
    hits = [e for e in month if e.cached]
    assert dom.text("kpi-cache") == pct(len(hits) / len(month)) == "8.3%"
    assert dom.text("kpi-saved") == usd(sum((e.saved_usd or Decimal(0) for e in hits), Decimal(0)))
    prompt_saved = seed.prompt_cache_saved(month)
    assert dom.text("kpi-prompt-saved") == usd(prompt_saved) == "$0.0024"
    assert Decimal(dom.by_id("kpi-prompt-saved").attrs["data-value"]) == prompt_saved
    fell_back = [e for e in month if e.fallback_chain]
    assert dom.text("kpi-fallback") == pct(len(fell_back) / len(month))
    assert dom.text("kpi-p50") == ms(nearest_rank(month, 50))
    assert dom.text("kpi-p99") == ms(nearest_rank(month, 99))
    assert dom.text("kpi-cpr") == usd_fine(seed.cost_per_request(month))

    models = dom.table("models", "model")
    assert set(models) == {"/".join(w) for w in (OPENAI, ANTHROPIC, OLLAMA)}
    for who in (OPENAI, ANTHROPIC, OLLAMA):
        row, rows = models["/".join(who)], of(who, month)
        assert row.cell("requests").text == str(len(rows))
        assert row.cell("cost").text == usd(seed.total_cost(rows))
        assert row.cell("cost_per_request").text.strip() == usd_fine(seed.cost_per_request(rows))
        assert row.cell("success").text == pct(seed.success_rate(rows))
        assert row.cell("p50").text == ms(nearest_rank(rows, 50))
    assert models["openai/gpt-4o-mini"].cell("cost_per_request").text.strip() == "$0.0135"
    assert models["anthropic/claude-3-5-haiku-latest"].cell("cost_per_request").text.strip() == (
        "$0.0270"
    )

    providers = dom.table("providers", "provider")
    anthropic = [e for e in month if e.provider == "anthropic"]
    assert providers["anthropic"].cell("success").text == pct(seed.success_rate(anthropic))
    assert providers["anthropic"].cell("outages").text == "1"
    assert (
        providers["anthropic"].cell("recovery").text == f"{seed.ANTHROPIC_RECOVERY_S / 60:.1f} min"
    )

    # anthropic recovered; openai's last request failed, so its outage is still going on
    outages = dom.table("outages", "provider")
    assert list(outages) == ["openai", "anthropic"]  # newest first
    assert outages["anthropic"].cell("recovery").text == "29.5 min"
    assert outages["openai"].cell("recovery").text == "–"
    assert "ongoing" in outages["openai"].text
    assert providers["openai"].cell("outages").text == "1 (down now)"

    recent = dom.by_id("recent").rows()
    assert len(recent) == len(month)
    newest = max(month, key=lambda e: e.ts)
    assert recent[0].cell("outcome").text == f"error: {newest.error_type}"
    assert recent[0].cell("file").text == "app.py"
    assert recent[0].cell("file").attrs["title"] == newest.source_path

    # the charts rendered (uPlot draws on canvases)
    for chart in ("chart-spend", "chart-health"):
        assert dom.by_id(chart).find_all(lambda n: n.tag == "canvas"), chart


async def test_filters_in_the_url_narrow_every_number(url: str) -> None:
    anthropic = [e for e in in_month() if e.provider == "anthropic"]
    dom = await dump_dom(url + "?provider=anthropic")
    assert dom.state == "ready"
    assert dom.text("kpi-requests") == str(len(anthropic)) == "4"
    assert dom.text("kpi-spend") == usd(seed.total_cost(anthropic))
    assert list(dom.table("models", "model")) == ["anthropic/claude-3-5-haiku-latest"]
    # the budget line stays global: the budget counts every provider
    assert dom.text("kpi-month") == usd(seed.total_cost(in_month()))

    beta = [e for e in seed.SEED if e.workspace == seed.BETA]
    dom = await dump_dom(url + "?range=all&workspace=%2Fwork%2Fbeta")
    assert dom.text("kpi-requests") == str(len(beta)) == "6"
    assert dom.text("kpi-spend") == usd(seed.total_cost(beta))

    february = [e for e in seed.SEED if e.ts < seed.MONTH_START]
    dom = await dump_dom(url + "?range=custom&from=2026-02-01&to=2026-02-28")
    assert dom.text("kpi-requests") == str(len(february)) == "2"
    assert dom.text("kpi-spend") == usd(seed.total_cost(february)) == "$3.75"
    assert "hidden" not in dom.by_id("custom-range").attrs  # the date inputs are shown


async def test_screenshot_artifact(url: str) -> None:
    path = ARTIFACTS / "dashboard.png"
    await screenshot(url, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_empty_missing_and_corrupt_ledgers_show_a_clear_message(
    tmp_path: Path, served: Serve
) -> None:
    empty = tmp_path / "empty.sqlite3"
    Ledger(empty).close()
    dom = await dump_dom(await served(empty))
    assert dom.state == "ready"
    assert dom.by_id("notice").attrs["data-reason"] == "empty"
    assert "No requests recorded yet" in dom.text("notice")
    assert dom.text("kpi-requests") == "0" and dom.text("kpi-month") == "$0"

    dom = await dump_dom(await served(tmp_path / "nowhere.sqlite3"))
    assert dom.state == "error"
    assert dom.by_id("notice").attrs["data-reason"] == "missing"
    assert "no usage ledger at" in dom.text("notice")

    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"this is not a database" * 200)
    dom = await dump_dom(await served(corrupt))
    assert dom.state == "error"
    assert dom.by_id("notice").attrs["data-reason"] == "corrupt"
    assert "damaged" in dom.text("notice")
    assert corrupt.read_bytes() == b"this is not a database" * 200  # looked at, never touched


def x_axis(dom: Dom, chart: str) -> tuple[float, float, list[float]]:
    """The x range and tick positions (epoch seconds) a chart drew, as app.js records them."""
    node = dom.by_id(chart)
    ticks = [float(t) for t in node.attrs["data-x-ticks"].split(",")]
    return float(node.attrs["data-x-min"]), float(node.attrs["data-x-max"]), ticks


def assert_day_ticks(dom: Dom, lo: float, hi: float, most_days_apart: int = 2) -> None:
    """Both charts span [lo, hi) and tick at UTC midnights, whole days apart (at most
    ``most_days_apart``)."""
    for chart in CHARTS:
        x_min, x_max, ticks = x_axis(dom, chart)
        assert (x_min, x_max) == (lo, hi), chart
        assert ticks and all(x_min <= t <= x_max and t % DAY == 0 for t in ticks), (chart, ticks)
        steps = {b - a for a, b in itertools.pairwise(ticks)}
        assert steps <= {n * DAY for n in range(1, most_days_apart + 1)}, (chart, steps)


async def test_one_day_of_data_is_one_day_on_a_month_wide_axis(
    tmp_path: Path, served: Serve
) -> None:
    """ "This month" with one day of data: the axes run from the 1st to the end of today (not to
    2029), with day ticks; a lone day is bars and a flat line, and a screenshot shows it."""
    url = await served(seed.seed_ledger(tmp_path / "ledger.sqlite3", seed.one_day()))
    dom = await dump_dom(url)
    assert dom.state == "ready", dom.text("notice")
    assert dom.text("kpi-requests") == "5"
    assert_day_ticks(dom, seed.MONTH_START, seed.MONTH_START + 15 * DAY)  # Mar 1 to Mar 16
    await screenshot(url, ARTIFACTS / "dashboard-one-day.png")

    # the last 24 hours: health per hour, from the hour 24 h ago to now
    dom = await dump_dom(url + "?range=24h")
    x_min, x_max, ticks = x_axis(dom, "chart-health")
    assert (x_min, x_max) == (seed.NOW - DAY, seed.NOW)
    assert all(t % HOUR == 0 for t in ticks) and len(ticks) >= 4, ticks
    assert x_axis(dom, "chart-spend")[:2] == (seed.NOW - 1.5 * DAY, seed.NOW + 0.5 * DAY)


async def test_forty_days_of_data_over_all_time_and_this_month(
    tmp_path: Path, served: Serve
) -> None:
    entries = seed.forty_days()
    url = await served(seed.seed_ledger(tmp_path / "ledger.sqlite3", entries))
    first_day = min(e.ts for e in entries) // DAY * DAY
    dom = await dump_dom(url + "?range=all")
    assert dom.state == "ready", dom.text("notice")
    assert dom.text("kpi-requests") == str(len(entries))
    assert_day_ticks(dom, first_day, seed.MONTH_START + 15 * DAY, most_days_apart=7)
    await screenshot(url + "?range=all", ARTIFACTS / "dashboard-40-days.png")

    dom = await dump_dom(url)  # this month: the same axis as with one day of data
    assert_day_ticks(dom, seed.MONTH_START, seed.MONTH_START + 15 * DAY)


async def test_every_provider_listed_is_a_configured_section(tmp_path: Path) -> None:
    """A ledger the gateway itself wrote: openai fails (anthropic answers instead), then openai
    answers again. Every provider the page lists (health table, outages, the filter) is a
    configured section, never a model reference such as "openai.default"."""
    path = tmp_path / "ledger.sqlite3"
    with FakeOpenAI() as openai, FakeAnthropic() as anthropic:
        config = settings(openai, anthropic, retry={"max_attempts": 1})
        sections = {name for name, cfg in config["llm"].items() if cfg.get("enabled", True)}
        gateway = Gateway(
            Catalog(load_config(settings=config, env={}, include_user=False)),
            ledger=Ledger(path),
            workspace=str(tmp_path),
        )
        try:
            openai.script(Status(500, "overloaded"))
            for _ in range(2):
                async for _event in gateway.stream(task()):
                    pass
        finally:
            await gateway.aclose()
    dash = await start_dashboard(path, lambda: BudgetConfig(monthly_usd=seed.BUDGET))
    try:
        dom = await dump_dom(dash.url + "?range=24h")
    finally:
        await dash.aclose()
    assert dom.state == "ready", dom.text("notice")
    listed = {
        "providers": set(dom.table("providers", "provider")),
        "outages": set(dom.table("outages", "provider")),
        "filter": {
            n.attrs["value"]
            for n in dom.by_id("provider").find_all(lambda n: n.tag == "option")
            if n.attrs.get("value")
        },
        "models": {m.split("/", 1)[0] for m in dom.table("models", "model")},
    }
    assert listed["providers"] == listed["filter"] == {"openai", "anthropic"}
    assert listed["outages"] == {"openai"}  # it failed, then recovered
    for where, names in listed.items():
        assert names <= sections, (where, names - sections)
