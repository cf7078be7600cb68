"""Fixtures of the team-mode tests: a real redis-server per test and team budgets on ledgers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from tests.redis_server import RedisServer
from tests.unit.cost.team_helpers import PASSWORD

from magray_lsp.config.models import TeamConfig
from magray_lsp.cost.ledger import Ledger
from magray_lsp.cost.team import TeamBudget


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test only (it may be killed, paused or restarted)."""
    server = RedisServer(tmp_path / "redis", password=PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def make_team(
    tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[Callable[..., TeamBudget]]:
    """``make_team(machine="a", member="ann@x", monthly_usd="1", ...)``: a team budget on the
    ledger of ``machine`` (budgets of one machine share its ledger file, as editor windows do)."""
    made: list[TeamBudget] = []
    ledgers: dict[str, Ledger] = {}

    def make(machine: str = "a", *, url: str | None = None, **cfg: Any) -> TeamBudget:
        settings: dict[str, Any] = {
            "redis_url": url or redis_server.url,
            "name": "core",
            "member": "ann@example.com",
            **cfg,
        }
        if machine not in ledgers:
            ledgers[machine] = Ledger(tmp_path / f"ledger-{machine}.sqlite3")
        team = TeamBudget(TeamConfig.model_validate(settings), ledgers[machine])
        made.append(team)
        return team

    yield make
    for team in made:
        await team.aclose()
    for ledger in ledgers.values():
        ledger.close()
