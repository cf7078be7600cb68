"""The team's Redis dies (SIGKILL) or hangs (SIGSTOP) while two editor windows keep sending
requests, then comes back — killed, it restarts empty, without persistence.

Per ``on_unreachable``: ``refuse`` answers nothing while it is gone, ``local_only`` answers from
the free local model (an Ollama fake), ``allow`` keeps the paid model. In every case no window
crashes, no request outlives its deadline, every answer has its row in the local ledger, and once
the Redis is back the team's total is whole again: it equals what the machines' ledgers counted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from redis.asyncio import Redis
from tests.fakes.base import Reply
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for
from tests.redis_server import RedisServer
from tests.unit.cost.team_helpers import (
    DEADLINE_SECONDS,
    Window,
    gateway_settings,
    ledger_ok_ids,
    ledger_totals,
    spend_in_redis,
)

#: requests that started this soon after the Redis went away or came back may see either state
SETTLE_SECONDS = 1.5


@pytest.fixture(scope="module")
def paid() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        server.default = Reply(input_tokens=100, output_tokens=50, delay=0.05)
        yield server


@pytest.fixture(scope="module")
def local() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


def count(windows: list[Window], since: float, until: float = float("inf")) -> int:
    return sum(1 for w in windows for line in w.lines() if since <= line["started"] < until)


@pytest.mark.parametrize(
    ("policy", "how"),
    [("refuse", "kill"), ("local_only", "kill"), ("allow", "kill"), ("local_only", "pause")],
)
async def test_redis_lost_mid_run(
    tmp_path: Path,
    paid: FakeOpenAI,
    local: FakeOllama,
    redis_server: RedisServer,
    raw: Redis,
    policy: str,
    how: str,
) -> None:
    go, stop = tmp_path / "go", tmp_path / "stop"
    windows: list[Window] = []
    for name, member in (("laptop", "ann@example.com"), ("desktop", "bob@example.com")):
        team = {
            "member": member,
            "monthly_usd": "100",
            "on_unreachable": policy,
            "timeout_seconds": 0.5,
        }
        settings = gateway_settings(paid.base_url, redis_server.url, team, local_url=local.url)
        spec = {"settings": settings, "go": str(go), "stop": str(stop), "mode": "loop"}
        windows.append(
            Window(tmp_path, name, tmp_path / f"{name}.sqlite3", {**spec, "concurrency": 4})
        )
    try:
        go.touch()
        await wait_for(lambda: count(windows, 0) >= 10, 90)
        await asyncio.sleep(2 * SETTLE_SECONDS)  # requests well before the loss, too
        lost = time.time()
        if how == "kill":
            redis_server.kill()
        else:
            redis_server.pause()
        await wait_for(lambda: count(windows, lost + SETTLE_SECONDS) >= 16, 90)
        back = time.time()
        if how == "kill":
            redis_server.start()  # the same port, and empty: no persistence
        else:
            redis_server.resume()
        # the windows probe again within the retry interval (2 s) and re-add their spend
        await wait_for(lambda: count(windows, back + 3) >= 16, 90)
        stop.touch()
        lines = {w.ledger: w.finish() for w in windows}
    finally:
        for w in windows:
            w.kill()
        redis_server.resume()

    every = [line for found in lines.values() for line in found]
    assert max(line["seconds"] for line in every) < DEADLINE_SECONDS  # nothing hung
    before = [line for line in every if line["started"] < lost - SETTLE_SECONDS]
    during = [line for line in every if lost + SETTLE_SECONDS <= line["started"] < back]
    after = [line for line in every if line["started"] >= back + 3]
    assert before and during and after
    assert all(line["ok"] and line["provider"] == "openai" for line in before), before
    assert all(line["ok"] and line["provider"] == "openai" for line in after), after
    if policy == "refuse":
        assert not any(line["ok"] for line in during)
        assert all('on_unreachable = "refuse"' in line["error"] for line in during), during
    else:
        expected = "ollama" if policy == "local_only" else "openai"
        assert all(line["ok"] and line["provider"] == expected for line in during), during
    if policy == "local_only":
        reasons = [a for line in during for a in line["attempts"]]
        assert reasons and all('on_unreachable = "local_only"' in a for a in reasons)

    # the local ledgers are complete: every answer has its row, and no row lacks an answer
    for ledger, found in lines.items():
        assert ledger_ok_ids(ledger) == {line["request_id"] for line in found if line["ok"]}

    # the team's total is whole again: it equals what the ledgers counted, spend while the Redis
    # was gone included ("allow"), after a restart that lost everything ("kill")
    cost, counted = ledger_totals(lines)
    paid_answers = sum(1 for line in every if line["ok"] and line["provider"] == "openai")
    assert cost == counted == Decimal("0.0002") * paid_answers
    spend = await spend_in_redis(raw)
    assert spend["team"] == counted
    assert spend["m:ann@example.com"] + spend["m:bob@example.com"] == counted
    assert (await raw.hgetall("magray:team:{core}:reserved")).get("team", "0") == "0"
