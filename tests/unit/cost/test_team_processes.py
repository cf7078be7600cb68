"""Five editor windows (OS processes, four machines' ledgers) × 40 concurrent paid requests
against one team limit, then one member limit, on a real redis-server and a loopback OpenAI fake.

Each answer costs exactly its estimate ($0.0002: 100 tokens in at $1/M, 50 out at $2/M), so a
$0.01 limit admits exactly 50 of the 200 requests: the limit is never crossed and never wasted,
every refusal names the limit that stopped it, and the team's total in Redis equals the sum of
the machines' ledgers.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.redis_server import RedisServer
from tests.unit.cost.team_helpers import (
    Window,
    gateway_settings,
    ledger_ok_ids,
    ledger_totals,
    spend_in_redis,
)

WINDOWS = 5
REQUESTS = 40
COST = Decimal("0.0002")
LIMIT = Decimal("0.01")


@pytest.fixture
def paid() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        server.default = Reply(input_tokens=100, output_tokens=50)
        yield server


def run_windows(
    tmp_path: Path, settings: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[Path]]:
    go = tmp_path / "go"
    # windows 0 and 1 are two editor windows on one laptop: they share its ledger
    ledgers = [tmp_path / f"machine-{max(i - 1, 0)}.sqlite3" for i in range(WINDOWS)]
    spec = {"settings": settings, "go": str(go), "mode": "burst", "requests": REQUESTS}
    windows = [Window(tmp_path, f"w{i}", ledgers[i], spec) for i in range(WINDOWS)]
    try:
        go.touch()
        lines = [line for w in windows for line in w.finish()]
    finally:
        for w in windows:
            w.kill()
    assert len(lines) == WINDOWS * REQUESTS
    for w, ledger in zip(windows, ledgers, strict=True):
        answered = {line["request_id"] for line in w.lines() if line["ok"]}
        assert answered <= ledger_ok_ids(ledger)  # every answer has its ledger row
    return lines, ledgers


async def check_limit(
    lines: list[dict[str, Any]], ledgers: list[Path], raw: Redis, refusal: str
) -> None:
    answered = [line for line in lines if line["ok"]]
    refused = [line for line in lines if not line["ok"]]
    assert {line["cost"] for line in answered} == {str(COST)}
    for line in refused:  # every refusal says which limit stopped it, and nothing else failed
        assert line["error"].startswith("AllModelsFailed: "), line["error"]
        assert refusal in line["error"], line["error"]
    spend = await spend_in_redis(raw)
    assert spend["team"] <= LIMIT + COST  # the bound: one request's maximum cost
    assert len(answered) == LIMIT / COST  # estimates are exact here: the limit is used up
    cost, counted = ledger_totals(ledgers)
    assert spend["team"] == cost == counted == COST * len(answered)


async def test_five_windows_against_a_team_limit(
    tmp_path: Path, paid: FakeOpenAI, redis_server: RedisServer, raw: Redis
) -> None:
    team = {"monthly_usd": str(LIMIT), "member": "ann@example.com"}
    lines, ledgers = run_windows(tmp_path, gateway_settings(paid.base_url, redis_server.url, team))
    await check_limit(lines, ledgers, raw, 'team budget $0.01 of team "core" reached')


async def test_five_windows_of_one_member_against_a_member_limit(
    tmp_path: Path, paid: FakeOpenAI, redis_server: RedisServer, raw: Redis
) -> None:
    team = {"monthly_usd": "5", "member_monthly_usd": str(LIMIT), "member": "ann@example.com"}
    lines, ledgers = run_windows(tmp_path, gateway_settings(paid.base_url, redis_server.url, team))
    await check_limit(
        lines, ledgers, raw, 'member budget $0.01 for ann@example.com (team "core") reached'
    )
    assert (await spend_in_redis(raw))["m:ann@example.com"] == LIMIT
