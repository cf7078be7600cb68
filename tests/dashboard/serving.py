"""Start dashboards in the test's event loop with the seed's clock and budget; stop them after."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from magray_lsp.config.models import BudgetConfig
from magray_lsp.dashboard.server import RunningDashboard, start_dashboard
from tests.dashboard import seed

Start = Callable[[Path], Awaitable[RunningDashboard]]


@asynccontextmanager
async def dashboards() -> AsyncIterator[Start]:
    running: list[RunningDashboard] = []

    async def start(ledger: Path) -> RunningDashboard:
        dash = await start_dashboard(
            ledger, lambda: BudgetConfig(monthly_usd=seed.BUDGET), clock=lambda: seed.NOW
        )
        running.append(dash)
        return dash

    try:
        yield start
    finally:
        for dash in running:
            await dash.aclose()
