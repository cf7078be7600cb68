"""A dashboard over the seeded ledger (tests/dashboard/seed.py), with the seed's clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.dashboard import seed
from tests.dashboard.serving import Start, dashboards


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    return seed.seed_ledger(tmp_path / "ledger.sqlite3")


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    async with dashboards() as go:
        yield go


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        yield client
