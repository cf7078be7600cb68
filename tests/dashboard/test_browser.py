"""The dashboard in a real headless Chromium: the numbers on the page equal the seeded ledger's
(worked out independently in ``seed``), filters in the URL narrow them, and a broken, empty or
missing ledger shows a clear message. Saves ``artifacts/dashboard.png``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest

from magray_lsp.cost.ledger import Ledger
from tests.dashboard import seed
from tests.dashboard.browser import dump_dom, screenshot
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

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
Serve = Callable[[Path], Awaitable[str]]


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
