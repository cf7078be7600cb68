"""The team budget against a real redis-server: reservations, limits, expiry, settlement,
outages and a Redis that restarted empty."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis
from tests.helpers import closed_port, wait_for
from tests.redis_server import RedisServer
from tests.unit.cost.team_helpers import (
    PASSWORD,
    ROOT,
    Make,
    local_counted,
    paid_entry,
    pay,
    settle,
    spend_in_redis,
    stream_rows,
)

from magray_lsp.config.models import MagrayConfig, TeamConfig
from magray_lsp.cost.ledger import LedgerEntry, LedgerTx, from_pico
from magray_lsp.cost.team import TeamBudget, TeamBudgetExceeded, TeamHold, counted_pico
from magray_lsp.cost.team_local import TeamTotal
from magray_lsp.cost.team_member import resolve_member
from magray_lsp.cost.team_store import SCRIPT, SCRIPT_SHA, TeamKeys, month_of

# --- reservations and limits ------------------------------------------------------------------


async def test_reserve_then_settle_counts_the_real_cost(make_team: Make, raw: Redis) -> None:
    team = make_team(monthly_usd="1")
    hold = await team.reserve(Decimal("0.30"))
    assert hold is not None and team.status.reserved == Decimal("0.3")
    await settle(team, hold, paid_entry("0.2"))
    assert await spend_in_redis(raw) == {
        "team": Decimal("0.2"),
        "m:ann@example.com": Decimal("0.2"),
    }
    assert (team.status.spent, team.status.reserved) == (Decimal("0.2"), Decimal(0))
    assert team.status.member_spent == Decimal("0.2") and team.status.reachable
    assert local_counted(team.local.ledger) == Decimal("0.2")


async def test_the_usage_stream_carries_the_row_but_no_code_or_path(
    make_team: Make, raw: Redis
) -> None:
    team = make_team()
    entry = await pay(team, "0.01", "0.004", action="refactor", output_tokens=33)
    await team.aclose()  # background work done: a first sync's replay
    [row] = await stream_rows(raw, month_of(entry.ts))
    assert row["id"] == entry.id and row["member"] == "ann@example.com"
    assert (row["action"], row["provider"], row["model"]) == ("refactor", "openai", "gpt-4o-mini")
    assert (row["out"], row["cost"], row["outcome"], row["cached"]) == (33, 4 * 10**9, "ok", False)
    assert "secret-project" not in json.dumps(row)  # no source path
    assert set(row) == {
        "id", "ts", "member", "action", "provider", "model", "in", "out", "cost", "outcome",
        "cached", "error", "ms",
    }  # fmt: skip


async def test_a_first_sync_replays_only_the_rows_recorded_before_it(
    make_team: Make, raw: Redis
) -> None:
    """A row committed after the sync goes out on its own: the replay, which reads the ledger
    later, must not send it a second time."""
    team = make_team()
    first = await pay(team, "0.01", "0.004")
    month = month_of(first.ts)
    _, _, newest = team.local.totals(month)
    second = await pay(team, "0.01", "0.002")
    assert [json.loads(r)["id"] for r in team.local.rows(month, newest)] == [first.id]
    assert len(team.local.rows(month, newest + 1)) == 2 and team.local.rows(month, 0) == []
    await team.aclose()
    assert [r["id"] for r in await stream_rows(raw, month)] == [first.id, second.id]


async def test_team_limit_refusal_says_it_was_the_team(make_team: Make) -> None:
    team = make_team(monthly_usd="1.00")
    await pay(team, "0.5", "0.5")
    await team.reserve(Decimal("0.25"))
    with pytest.raises(TeamBudgetExceeded) as info:
        await team.reserve(Decimal("0.30"))
    assert info.value.limit == "team"
    assert str(info.value) == (
        'team budget $1.00 of team "core" reached: $0.50 spent, $0.25 reserved; '
        "this request needs about $0.30"
    )


async def test_member_limit_refusal_names_the_member(make_team: Make) -> None:
    ann = make_team(monthly_usd="10", member_monthly_usd="0.5")
    bob = make_team("b", member="bob@example.com", monthly_usd="10", member_monthly_usd="0.5")
    await pay(ann, "0.4", "0.4")
    with pytest.raises(TeamBudgetExceeded) as info:
        await ann.reserve(Decimal("0.2"))
    assert info.value.limit == "member"
    assert str(info.value).startswith(
        'member budget $0.50 for ann@example.com (team "core") reached: $0.40 spent'
    )
    assert await bob.reserve(Decimal("0.45")) is not None  # another member's cap is untouched
    assert bob.status.spent == Decimal("0.4") and bob.status.reserved == Decimal("0.45")


async def test_an_estimate_that_exactly_fits_is_allowed_and_the_limit_counts_as_spent(
    make_team: Make,
) -> None:
    team = make_team(monthly_usd="1")
    await pay(team, "0.75", "0.75")
    fits = await team.reserve(Decimal("0.25"))  # spent + estimate == limit: allowed
    with pytest.raises(TeamBudgetExceeded):
        await team.reserve(Decimal("0.000000000001"))  # one pico-dollar more
    await settle(team, fits, paid_entry("0.25"))
    assert team.status.spent == Decimal(1) and team.status.exhausted
    with pytest.raises(TeamBudgetExceeded, match="team budget"):
        await team.reserve(Decimal("0.000000000001"))  # at the limit: spent
    assert await team.reserve(Decimal(0)) is None  # free requests are never refused


async def test_money_beyond_two_to_the_53_pico_dollars_stays_exact(make_team: Make) -> None:
    # 2^53 pico-dollars is about $9,007: a Lua double would round here, the script must not
    team = make_team(monthly_usd="100000", member_monthly_usd="100000")
    await pay(team, "60000.000000000001", "60000.000000000001")
    held = await team.reserve(Decimal("39999.999999999999"))  # exactly the rest
    with pytest.raises(TeamBudgetExceeded) as info:
        await team.reserve(Decimal("0.000000000001"))
    assert info.value.limit == "team"
    assert team.status.spent == Decimal("60000.000000000001")
    assert team.status.reserved == Decimal("39999.999999999999")
    await team.release(held)
    assert team.status.reserved == 0


async def test_a_zero_budget_refuses_every_paid_request(make_team: Make) -> None:
    team = make_team(monthly_usd="0")
    with pytest.raises(TeamBudgetExceeded, match=r"team budget \$0 of team"):
        await team.reserve(Decimal("0.000001"))


async def test_without_limits_nothing_is_refused_but_everything_counts(
    make_team: Make, raw: Redis
) -> None:
    team = make_team()
    for _ in range(3):
        await pay(team, "1000", "999")
    assert (await spend_in_redis(raw))["team"] == Decimal(2997)
    assert team.status.binding is None and team.status.remaining is None


async def test_release_frees_the_hold(make_team: Make) -> None:
    team = make_team(monthly_usd="1")
    hold = await team.reserve(Decimal("0.9"))
    with pytest.raises(TeamBudgetExceeded):
        await team.reserve(Decimal("0.2"))
    await team.release(hold)
    assert await team.reserve(Decimal("0.2")) is not None


async def test_holds_of_a_client_that_died_expire(make_team: Make) -> None:
    dead = make_team("a", monthly_usd="1")
    alive = make_team("b", member="bob@example.com", monthly_usd="1")
    await dead.reserve(Decimal("0.9"), ttl=0.3)  # then the process dies: never settled
    with pytest.raises(TeamBudgetExceeded):
        await alive.reserve(Decimal("0.2"))
    await asyncio.sleep(0.4)  # Redis' clock decides expiry
    assert await alive.reserve(Decimal("0.2")) is not None
    assert alive.status.reserved == Decimal("0.2")


async def test_expired_holds_are_swept_by_a_status_call_too(make_team: Make, raw: Redis) -> None:
    dead = make_team("a", monthly_usd="1")
    alive = make_team("b", member="bob@example.com", monthly_usd="1")
    await dead.reserve(Decimal("0.25"), ttl=0.3)
    await dead.reserve(Decimal("0.5"))  # still in flight: stays held
    await asyncio.sleep(0.4)
    status = await alive.refresh()
    assert status.reserved == Decimal("0.5") and status.member_reserved == 0
    keys = TeamKeys("core")
    assert await raw.zcard(keys.holds) == 1 and await raw.hlen(keys.holdamt) == 1
    assert await raw.hget(keys.reserved, "m:ann@example.com") == str(5 * 10**11)


async def test_more_concurrent_calls_than_connections_stay_exact(
    make_team: Make, raw: Redis
) -> None:
    # 40 reservations at once over the process's few connections: each call gets its own reply,
    # exactly as many fit as the limit allows, and their settlements add up to the cent.
    team = make_team(monthly_usd="1")
    await team.refresh()  # synced: the burst below is reserve calls only

    async def one(i: int) -> TeamHold | None:
        try:
            return await team.reserve(Decimal("0.1"))
        except TeamBudgetExceeded as exc:
            assert exc.limit == "team" and "team budget $1" in str(exc)
            return None

    holds = await asyncio.gather(*(one(i) for i in range(40)))
    granted = [h for h in holds if h is not None]
    assert len(granted) == 10 and len({h.id for h in granted}) == 10
    assert team.redis.max_connections < 40 and len(team.redis._conns) <= team.redis.max_connections
    assert (await team.refresh()).reserved == Decimal(1)

    async def paid(hold: TeamHold, cents: int) -> None:
        await settle(team, hold, paid_entry(str(Decimal(cents) / 100)))

    await asyncio.gather(*(paid(h, i + 1) for i, h in enumerate(granted)))
    assert (await spend_in_redis(raw))["team"] == Decimal("0.55")  # 0.01 + 0.02 + … + 0.10
    status = await team.refresh()
    assert (status.spent, status.reserved) == (Decimal("0.55"), Decimal(0))


async def test_a_connection_the_redis_dropped_is_replaced_without_an_outage(
    make_team: Make, raw: Redis
) -> None:
    team = make_team(monthly_usd="1")
    await team.reserve(Decimal("0.1"))
    # the Redis drops its clients (a restart with its data, `timeout` for idle clients, a
    # proxy in between): the next call reconnects once and goes through
    await raw.client_kill_filter(_type="normal", skipme=True)
    hold = await team.reserve(Decimal("0.2"))
    assert hold is not None and not team.redis.down and team.status.reachable
    assert team.status.reserved == Decimal("0.3")  # counted once, after the reconnect


def test_month_of_turns_at_midnight_utc_on_the_first() -> None:
    from datetime import UTC, datetime

    new_year = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert month_of(new_year - 0.001) == "2025-12"
    assert month_of(new_year) == "2026-01"
    assert month_of(new_year + 59.9) == "2026-01"
    assert month_of(datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC).timestamp()) == "2024-02"


async def test_which_limit_is_tighter(make_team: Make) -> None:
    team = make_team(monthly_usd="10", member_monthly_usd="3")
    await pay(team, "1", "1")
    assert team.status.binding == "member" and team.status.remaining == Decimal(2)
    assert not team.status.warn
    other = make_team("b", member="bob@example.com", monthly_usd="10", member_monthly_usd="9")
    await pay(other, "7.5", "7.5")
    await team.refresh()
    assert team.status.binding == "team"  # type: ignore[comparison-overlap]  # refresh changed it
    assert team.status.remaining == Decimal("1.5")
    assert team.status.warn and not team.status.exhausted  # $8.50 of $10: past warn_at 0.8
    assert team.status.binding_spent == (Decimal("8.5"), Decimal(10))


# --- settling: exactly once ---------------------------------------------------------------------


async def test_a_repeated_or_late_settlement_counts_once(make_team: Make, raw: Redis) -> None:
    team = make_team()
    entry = paid_entry("0.5")
    total = team.local.ledger.write(partial(recorded_for_team, team, entry))
    await team.settle(None, entry, total)
    await team.settle(None, entry, total)  # a retry after a timeout that had applied
    second = paid_entry("0.25")
    later = team.local.ledger.write(partial(recorded_for_team, team, second))
    await team.settle(None, second, later)
    await team.settle(None, entry, total)  # the first one's settlement arriving last
    assert (await spend_in_redis(raw))["team"] == Decimal("0.75")


async def test_two_windows_on_one_machine_do_not_double_count(make_team: Make, raw: Redis) -> None:
    one, two = make_team("laptop"), make_team("laptop")  # one ledger, two processes
    other = make_team("desktop")
    await pay(one, "1", "0.5")
    await pay(two, "1", "0.25")
    await pay(other, "1", "0.125")
    await pay(one, "1", "0.0625")
    assert (await spend_in_redis(raw))["team"] == Decimal("0.9375")


def test_what_the_team_counts_for_a_row() -> None:
    from magray_lsp.cost.team import TeamHold

    hold = TeamHold("h", 7 * 10**9, "ann")
    assert counted_pico(paid_entry("0.002"), hold) == 2 * 10**9  # the real cost
    # a broken or cancelled answer whose price is unknown: the estimate that was held
    assert counted_pico(paid_entry(None), hold) == 7 * 10**9
    assert counted_pico(paid_entry(None, input_tokens=0, output_tokens=0), hold) == 0
    assert counted_pico(paid_entry(None), None) == 0


# --- the Redis goes away ------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["refuse", "local_only", "allow"])
async def test_unreachable_redis_follows_on_unreachable(make_team: Make, policy: str) -> None:
    team = make_team(url=f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0", on_unreachable=policy)
    if policy == "allow":
        assert await team.reserve(Decimal("0.5")) is None  # spend goes on, unchecked
    else:
        with pytest.raises(TeamBudgetExceeded) as info:
            await team.reserve(Decimal("0.5"))
        assert info.value.limit == "unreachable"
        message = str(info.value)
        assert f'on_unreachable = "{policy}"' in message and "cannot be checked" in message
        assert PASSWORD not in message and "127.0.0.1" in message
    if policy == "refuse":
        with pytest.raises(TeamBudgetExceeded, match="every request is refused"):
            await team.reserve(Decimal(0))  # even a free, local request
    else:
        assert await team.reserve(Decimal(0)) is None  # local models keep working
    assert team.status.reachable is False and team.status.reason


async def test_a_hung_redis_costs_one_timeout_then_fails_fast(
    make_team: Make, redis_server: RedisServer
) -> None:
    team = make_team(monthly_usd="1", timeout_seconds=0.3)
    await team.reserve(Decimal("0.1"))
    calls = 0
    evalsha = team.redis.evalsha

    async def counting(command: tuple[str | int, ...]) -> object:
        nonlocal calls
        calls += 1
        return await evalsha(command)

    team.redis.evalsha = counting  # type: ignore[method-assign]
    redis_server.pause()  # connections stay open; nothing answers
    try:
        with pytest.raises(TeamBudgetExceeded, match=r"did not answer.*twice"):
            await asyncio.wait_for(team.reserve(Decimal("0.1")), 10)  # hang guard
        assert calls == 2  # the timeout, and once more (a blocked event loop looks the same)
        with pytest.raises(TeamBudgetExceeded, match=r"did not answer.*local_only"):
            await asyncio.wait_for(team.reserve(Decimal("0.1")), 10)
        assert calls == 2  # no further attempt (and timeout) while the Redis counts as down
    finally:
        redis_server.resume()


async def test_one_late_answer_is_tried_again_and_counts_once(
    make_team: Make, redis_server: RedisServer
) -> None:
    # A timer also fires when this process's event loop was blocked for a moment (a busy machine,
    # another part of the process starting up): one late answer must not refuse the request nor
    # mark the Redis down for everyone. Here the Redis itself stalls for 1.5 timeouts.
    team = make_team(monthly_usd="1", timeout_seconds=0.3)
    await team.refresh()  # connected and synced
    redis_server.pause()
    threading.Timer(0.45, redis_server.resume).start()
    hold = await asyncio.wait_for(team.reserve(Decimal("0.1")), 10)
    assert hold is not None and not team.redis.down
    # the first attempt was applied too when the Redis woke up: the hold counts once
    assert (await team.refresh()).reserved == Decimal("0.1")


async def test_a_reservation_never_outlives_the_request_deadline(
    make_team: Make, redis_server: RedisServer
) -> None:
    team = make_team(monthly_usd="1", timeout_seconds=5)
    redis_server.pause()
    try:
        loop = asyncio.get_running_loop()
        with pytest.raises(TeamBudgetExceeded, match="did not answer"):
            await asyncio.wait_for(
                team.reserve(Decimal("0.1"), deadline=loop.time() + 0.2), 10
            )  # the 5 s socket timeout does not apply: the request has 0.2 s left
    finally:
        redis_server.resume()


async def test_what_happened_during_an_outage_is_merged_afterwards(
    make_team: Make, redis_server: RedisServer, raw: Redis
) -> None:
    team = make_team(monthly_usd="5", on_unreachable="allow", timeout_seconds=0.3)
    team.redis.retry_seconds = 0.2
    hold = await team.reserve(Decimal("1"))
    assert hold is not None
    redis_server.pause()
    try:
        entry = paid_entry("0.75")
        await asyncio.wait_for(settle(team, hold, entry), 10)  # cannot reach Redis: no error
        assert await team.reserve(Decimal("1")) is None  # "allow": unchecked meanwhile
        offline = await pay(team, "1", "0.5")
    finally:
        redis_server.resume()
    await asyncio.sleep(0.3)  # past the retry interval
    await team.refresh()
    await wait_for(lambda: not team._tasks)  # the orphaned hold and the rows are sent
    assert await spend_in_redis(raw) == {
        "team": Decimal("1.25"),
        "m:ann@example.com": Decimal("1.25"),
    }
    assert team.status.reserved == 0  # the orphaned hold was released
    rows = await stream_rows(raw, month_of(entry.ts))
    assert {r["id"] for r in rows} == {entry.id, offline.id}


_DIES_DURING_AN_OUTAGE = """
import asyncio, json, os, signal, sys
from decimal import Decimal
from tests.unit.cost.team_helpers import pay
from magray_lsp.config.models import TeamConfig
from magray_lsp.cost.ledger import Ledger
from magray_lsp.cost.team import TeamBudget

async def main() -> None:
    cfg = {"redis_url": sys.argv[2], "name": "core", "member": "ann@example.com",
           "on_unreachable": "allow", "timeout_seconds": 0.3}
    team = TeamBudget(TeamConfig.model_validate(cfg), Ledger(sys.argv[1]))
    ids = [(await pay(team, "1", cost)).id for cost in ("0.25", "0.5")]
    print(json.dumps(ids), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # before the Redis is back: no clean shutdown

asyncio.run(main())
"""


async def test_rows_of_a_process_that_died_during_an_outage_reach_the_stream(
    make_team: Make, raw: Redis, tmp_path: Path
) -> None:
    """Its spend was always merged from the ledger's totals; its usage rows now wait in the
    ledger too, and the next process on that machine appends them."""
    before = await pay(make_team("a"), "1", "0.125")  # this machine synced before the outage
    dead = f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "server"), str(ROOT)])}
    ledger = str(tmp_path / "ledger-a.sqlite3")  # the same machine's ledger file
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _DIES_DURING_AN_OUTAGE, ledger, dead,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode == -9, err.decode()
    ids = [before.id, *json.loads(out)]
    team = make_team("a")  # the next window on that machine, with the Redis up
    await team.refresh()
    await wait_for(lambda: not team._tasks)
    assert sorted(r["id"] for r in await stream_rows(raw)) == sorted(ids)
    assert (await spend_in_redis(raw))["team"] == Decimal("0.875")
    assert team.local.unsent(10) == []  # appended: nothing kept
    again = make_team("a")  # and a later process sends nothing twice
    await again.refresh()
    await wait_for(lambda: not again._tasks)
    assert len(await stream_rows(raw)) == 3


async def test_redis_restarted_empty_is_rebuilt_from_every_machines_ledger(
    make_team: Make, redis_server: RedisServer, raw: Redis
) -> None:
    ann = make_team("laptop", monthly_usd="10")
    ann2 = make_team("laptop", monthly_usd="10")  # a second window on the same laptop
    bob = make_team("desktop", member="bob@example.com", monthly_usd="10")
    rows = [await pay(ann, "1", "0.5"), await pay(ann2, "1", "0.25"), await pay(bob, "1", "2")]
    assert (await spend_in_redis(raw))["team"] == Decimal("2.75")

    redis_server.stop()  # no persistence: everything is gone
    redis_server.start()
    for team in (ann, ann2, bob):
        team.redis.retry_seconds = 0.0
    await raw.connection_pool.disconnect()
    assert await spend_in_redis(raw) == {}

    # each machine notices at its next call and re-adds its month-to-date once
    await ann.refresh()
    await ann2.refresh()
    await bob.refresh()
    spend = await spend_in_redis(raw)
    assert spend == {
        "team": Decimal("2.75"),
        "m:ann@example.com": Decimal("0.75"),
        "m:bob@example.com": Decimal(2),
    }
    await wait_for(lambda: not any(t._tasks for t in (ann, ann2, bob)))
    resent = await stream_rows(raw)
    assert sorted({r["id"] for r in resent}) == sorted(r.id for r in rows)
    # a later restart of one process re-adds nothing more
    late = make_team("laptop", monthly_usd="10")
    await late.refresh()
    assert (await spend_in_redis(raw))["team"] == Decimal("2.75")
    # and the rebuilt total is enforced: $2.75 + $8 > $10
    with pytest.raises(TeamBudgetExceeded, match=r"\$2.75 spent"):
        await bob.reserve(Decimal("8"))


# --- member name, configuration, script ---------------------------------------------------------


def test_member_comes_from_config_then_git_then_the_os_user(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    subprocess.run(
        ["git", "-C", str(repo), "config", "user.email", "dev@example.com"], check=True, env=env
    )
    cfg = TeamConfig(redis_url="redis://x", name="core")
    assert resolve_member(cfg.model_copy(update={"member": " lead "}), repo) == ("lead", "config")
    assert resolve_member(cfg, repo) == ("dev@example.com", "git config user.email")


def test_member_without_git_email_is_the_os_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # an empty HOME: no global git identity
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("USER", "builder")
    member, source = resolve_member(TeamConfig(redis_url="redis://x", name="core"), tmp_path)
    assert (member, source) == ("builder", "OS user")


def test_team_config_validation() -> None:
    with pytest.raises(ValidationError, match="name is required"):
        TeamConfig(redis_url="redis://localhost")
    with pytest.raises(ValidationError):
        TeamConfig(redis_url="redis://localhost", name="a{b}")  # would break the hash tag
    with pytest.raises(ValidationError):
        TeamConfig(on_unreachable="sometimes")
    with pytest.raises(ValidationError):
        TeamConfig(monthly_usd=Decimal(-1))
    assert not TeamConfig().enabled and MagrayConfig().team.on_unreachable == "local_only"
    schema = MagrayConfig.model_json_schema()["$defs"]["TeamConfig"]["properties"]
    assert set(schema) >= {
        "redis_url", "name", "member", "monthly_usd", "member_monthly_usd", "warn_at",
        "on_unreachable",
    }  # fmt: skip


async def test_the_script_is_loaded_once_and_rejects_unknown_operations(
    make_team: Make, raw: Redis
) -> None:
    team = make_team()
    await team.refresh()
    assert (await raw.script_exists(SCRIPT_SHA)) == [True]
    with pytest.raises(Exception, match="unknown operation"):
        await raw.evalsha(SCRIPT_SHA, 7, *TeamKeys("core").script_keys("2025-01"), "nope", "")
    assert SCRIPT.startswith("-- magray-lsp team budget")
    await raw.script_flush()  # e.g. a Redis restart: the next call loads it again
    await team.refresh()
    assert team.status.reachable


def test_no_team_mode_without_redis_url(tmp_path: Path) -> None:
    from magray_lsp.cost.ledger import Ledger

    with Ledger(tmp_path / "l.sqlite3") as ledger:
        assert TeamBudget.for_config(TeamConfig(monthly_usd=Decimal(5)), ledger) is None
    assert from_pico(counted_pico(paid_entry("0.00000015"), None)) == Decimal("0.00000015")


def recorded_for_team(team: TeamBudget, entry: LedgerEntry, tx: LedgerTx) -> TeamTotal:
    """The gateway's write of a paid row: recorded, and counted for the team (no hold)."""
    tx.record(entry)
    total = team.record_in(tx, entry, None)
    assert total is not None  # a paid row counts
    return total
