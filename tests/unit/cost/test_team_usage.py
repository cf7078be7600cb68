"""The team's usage view — `stats --team`, the dashboard's `/team`, `/api/team` and team gauges
on `/metrics` — and `doctor`'s team checks, against a real redis-server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from tests.helpers import closed_port
from tests.redis_server import RedisServer
from tests.unit.cost.team_helpers import PASSWORD, Make, pay

from magray_lsp.config.models import BudgetConfig, TeamConfig
from magray_lsp.cost.team_store import TeamKeys, month_of
from magray_lsp.cost.team_usage import read_usage
from magray_lsp.dashboard.server import RunningDashboard, start_dashboard

ROOT = Path(__file__).resolve().parents[3]


async def seed(make_team: Make) -> None:
    """Ann spends $1.50 on two models, Bob $0.25."""
    ann = make_team("laptop", monthly_usd="10", member_monthly_usd="2")
    bob = make_team("desktop", member="bob@example.com", monthly_usd="10", member_monthly_usd="2")
    await pay(ann, "1", "1", output_tokens=40)
    await pay(ann, "1", "0.5", model="gpt-4o", output_tokens=60)
    await pay(bob, "1", "0.25", provider="anthropic", model="claude-3-5-haiku-latest")
    for team in (ann, bob):  # their background work (a first sync's replay) done
        await team.aclose()


def team_config(redis_server: RedisServer, **kw: object) -> TeamConfig:
    settings = {"redis_url": redis_server.url, "name": "core", "monthly_usd": "10"}
    return TeamConfig.model_validate({**settings, "member_monthly_usd": "2", **kw})


async def test_the_view_per_member_model_and_day(
    make_team: Make, redis_server: RedisServer, raw: Redis
) -> None:
    await seed(make_team)
    # a member's first sync may replay its ledger rows in the background (a row that raced it
    # is then in the stream twice): count the duplicates already there
    before = await read_usage(team_config(redis_server))
    stream = TeamKeys("core").usage(month_of(time.time()))
    [(_, first), *_] = cast(list[tuple[str, dict[Any, Any]]], await raw.xrange(stream))
    await raw.xadd(stream, first)  # re-sent after an outage: must count once
    await raw.xadd(stream, {"row": "{not json"})  # not ours: skipped, never a crash
    await raw.xadd(stream, {"note": "written by hand"})
    usage = await read_usage(team_config(redis_server))
    assert usage.error is None and usage.rows == 3 and usage.duplicates == before.duplicates + 1
    assert usage.skipped == 2
    assert (usage.spent, usage.limit) == (Decimal("1.75"), Decimal(10))
    assert usage.member_spent == {
        "ann@example.com": Decimal("1.5"),
        "bob@example.com": Decimal("0.25"),
    }
    view = usage.jsonable()
    assert [(m["member"], m["requests"], m["ofMemberLimit"]) for m in view["members"]] == [
        ("ann@example.com", 2, 0.75),
        ("bob@example.com", 1, 0.125),
    ]
    assert [(m["model"], m["costUsd"]) for m in view["models"]] == [
        ("openai/gpt-4o-mini", Decimal(1)),
        ("openai/gpt-4o", Decimal("0.5")),
        ("anthropic/claude-3-5-haiku-latest", Decimal("0.25")),
    ]
    [day] = view["days"]
    assert day["requests"] == 3 and day["costUsd"] == Decimal("1.75")
    assert view["members"][0]["outputTokens"] == 100


async def test_a_redis_out_of_reach_gives_a_view_with_the_reason() -> None:
    cfg = TeamConfig(redis_url=f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0", name="core")
    usage = await read_usage(cfg)
    assert usage.error and "127.0.0.1" in usage.error and PASSWORD not in usage.error


def magray(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "magray_lsp", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT / "server")},
    )


def write_team_toml(folder: Path, url: str, **extra: str) -> None:
    lines = [f'redis_url = "{url}"', 'name = "core"', 'member = "ann@example.com"']
    lines += [
        "monthly_usd = 10",
        "member_monthly_usd = 2",
        *(f"{k} = {v}" for k, v in extra.items()),
    ]
    (folder / ".magray.toml").write_text(
        "[llm.local]\nenabled = true\n\n[team]\n" + "\n".join(lines) + "\n"
    )


async def test_stats_team_prints_members_models_days(
    make_team: Make, redis_server: RedisServer, tmp_path: Path
) -> None:
    await seed(make_team)
    write_team_toml(tmp_path, redis_server.url)
    proc = magray("stats", "--team", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert 'team "core"' in text and PASSWORD not in text
    assert "team spend: $1.75 of $10.00 (18%), $0 reserved" in text
    assert "member cap: $2.00 each" in text
    assert "ann@example.com" in text and "bob@example.com" in text
    assert "openai/gpt-4o-mini" in text and "anthropic/claude-3-5-haiku-latest" in text
    report = json.loads(magray("stats", "--team", "--json", cwd=tmp_path).stdout)
    assert report["spentUsd"] == "1.75" and report["limitUsd"] == "10"
    assert {m["member"]: m["spentUsd"] for m in report["members"]} == {
        "ann@example.com": "1.5",
        "bob@example.com": "0.25",
    }
    empty = magray("stats", "--team", "--month", "2001-01", "--json", cwd=tmp_path)
    assert json.loads(empty.stdout)["members"] == []


def test_stats_team_without_a_team_says_how_to_set_one(tmp_path: Path) -> None:
    (tmp_path / ".magray.toml").write_text("[budget]\nmonthly_usd = 5\n")
    proc = magray("stats", "--team", cwd=tmp_path)
    assert proc.returncode == 1 and "set [team] redis_url and name" in proc.stdout


@pytest.fixture
async def dashboard(
    make_team: Make, redis_server: RedisServer, tmp_path: Path
) -> AsyncIterator[RunningDashboard]:
    await seed(make_team)
    cfg = team_config(redis_server)
    running = await start_dashboard(
        tmp_path / "ledger-laptop.sqlite3", lambda: BudgetConfig(), team=lambda: cfg
    )
    yield running
    await running.aclose()


async def test_dashboard_team_page_api_and_gauges(dashboard: RunningDashboard) -> None:
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        page = await http.get(dashboard.url + "team")
        assert page.status_code == 200 and "/static/team.js" in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        script = await http.get(dashboard.url + "static/team.js")
        assert script.status_code == 200 and "/api/team" in script.text
        api = await http.get(dashboard.url + "api/team")
        assert api.status_code == 200
        body = api.json()
        assert body["spentUsd"] == "1.75" and len(body["members"]) == 2
        assert (await http.get(dashboard.url + "api/team?month=2025-13")).status_code == 400
        metrics = await http.get(dashboard.url + "metrics")
    assert metrics.status_code == 200
    samples = {
        (s.name, s.labels.get("member", "")): s.value
        for family in text_string_to_metric_families(metrics.text)
        for s in family.samples
        if s.name.startswith("magray_team_")
    }
    assert samples[("magray_team_up", "")] == 1
    assert samples[("magray_team_spend_usd", "")] == 1.75
    assert samples[("magray_team_budget_usd", "")] == 10
    assert samples[("magray_team_member_spend_usd", "ann@example.com")] == 1.5
    assert samples[("magray_team_member_budget_usd", "")] == 2
    assert samples[("magray_team_reserved_usd", "")] == 0


async def test_dashboard_team_view_when_the_redis_is_gone(
    dashboard: RunningDashboard, redis_server: RedisServer
) -> None:
    redis_server.kill()
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        api = await http.get(dashboard.url + "api/team")
        metrics = await http.get(dashboard.url + "metrics")
    assert api.status_code == 503 and api.json()["error"]["reason"] == "team_unavailable"
    assert PASSWORD not in api.text
    assert 'magray_team_up{team="core"} 0' in metrics.text


async def test_dashboard_without_a_team_has_no_team_api(tmp_path: Path) -> None:
    running = await start_dashboard(tmp_path / "none.sqlite3", lambda: BudgetConfig())
    try:
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            got = await http.get(running.url + "api/team")
            metrics = await http.get(running.url + "metrics")
        assert got.status_code == 404 and "no team configured" in got.text
        assert "magray_team_" not in metrics.text
    finally:
        await running.aclose()


async def test_doctor_checks_the_redis_the_script_and_the_member(
    make_team: Make, redis_server: RedisServer, tmp_path: Path
) -> None:
    await seed(make_team)
    write_team_toml(tmp_path, redis_server.url)
    proc = magray("doctor", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    team = json.loads(proc.stdout)["team"]
    assert (team["redisStatus"], team["script"], team["problems"]) == ("ok", "ok", [])
    assert (team["member"], team["memberSource"]) == ("ann@example.com", "config")
    assert team["epoch"] and team["spentUsd"] == "1.75" and team["memberSpentUsd"] == "1.5"
    assert team["persistence"].startswith("none")  # the test server runs without AOF
    assert PASSWORD not in proc.stdout
    text = magray("doctor", cwd=tmp_path).stdout
    assert 'team "core" at redis://:***@127.0.0.1' in text
    assert "member: ann@example.com (from config)" in text and "script: ok" in text


def test_doctor_fails_when_the_team_redis_is_unreachable(tmp_path: Path) -> None:
    write_team_toml(tmp_path, f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0")
    proc = magray("doctor", "--json", cwd=tmp_path)
    assert proc.returncode == 1
    team = json.loads(proc.stdout)["team"]
    assert team["redisStatus"] == "unreachable" and team["problems"]
    assert PASSWORD not in proc.stdout + proc.stderr
