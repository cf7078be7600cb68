"""The gateway with ``[team]``: loopback providers (a paid OpenAI fake, a free local Ollama fake)
and a real redis-server. Reservations sit next to the local budget's, settlement uses the cost the
ledger records, refusals name the limit, and the status and titles show the tighter budget."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from tests.fakes.base import Reply
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai import FakeOpenAI
from tests.helpers import closed_port, wait_for
from tests.redis_server import RedisServer
from tests.unit.cost.team_helpers import gateway_settings, spend_in_redis, stream_rows
from tests.unit.gateway.conftest import openai_server  # noqa: F401 (a shared fake server)

from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import load_config
from magray_lsp.context.document import Document
from magray_lsp.cost.ledger import Ledger, from_pico
from magray_lsp.gateway import AllModelsFailed, Gateway
from magray_lsp.lsp.offers import offers
from magray_lsp.lsp.status import status_payload
from magray_lsp.providers.base import TextDelta
from magray_lsp.task import Task

ESTIMATE = Decimal("0.0002")  # 100 tokens in at $1/M + 50 out at $2/M
COST = Decimal("0.000025")  # the fake's usage: 11 in, 7 out


@pytest.fixture
def paid(openai_server: FakeOpenAI) -> FakeOpenAI:  # noqa: F811 (the imported fixture)
    openai_server.reset()
    return openai_server


@pytest.fixture(scope="module")
def local_server() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


@pytest.fixture
def local(local_server: FakeOllama) -> FakeOllama:
    local_server.reset()
    return local_server


MakeGateway = Callable[..., Gateway]


@pytest.fixture
async def make_gateway(
    tmp_path: Path, paid: FakeOpenAI, local: FakeOllama, redis_server: RedisServer
) -> AsyncIterator[MakeGateway]:
    made: list[Gateway] = []

    def make(
        *, with_local: bool = False, team: dict[str, Any] | None = None, **extra: Any
    ) -> Gateway:
        settings = gateway_settings(
            paid.base_url,
            redis_server.url,
            {"member": "ann@example.com", **(team or {})},
            local_url=local.url if with_local else None,
        )
        loaded = load_config(settings={**settings, **extra}, env={}, include_user=False)
        gw = Gateway(
            Catalog(loaded), ledger=Ledger(tmp_path / "ledger.sqlite3"), workspace=str(tmp_path)
        )
        made.append(gw)
        return gw

    yield make
    for gw in made:
        await gw.aclose()


def task(**kw: Any) -> Task:
    return Task(
        action="explain",
        system="You explain code.",
        prompt="def f(): pass",
        context_tokens=100,
        max_output_tokens=50,
        **kw,
    )


def ledger_cost(gw: Gateway) -> Decimal:
    rows = gw.ledger.read("SELECT COALESCE(SUM(cost_pico), 0) FROM requests")
    return from_pico(int(rows[0][0]))


async def test_a_paid_answer_settles_the_team_hold_with_the_ledgers_cost(
    make_gateway: MakeGateway, raw: Redis
) -> None:
    gw = make_gateway(team={"monthly_usd": "1"})
    outcome = await gw.run(task())
    assert outcome.cost_usd == COST and outcome.team is not None
    assert (outcome.team.spent, outcome.team.reserved) == (COST, Decimal(0))
    assert await spend_in_redis(raw) == {"team": COST, "m:ann@example.com": COST}
    assert ledger_cost(gw) == COST
    assert [r["id"] for r in await stream_rows(raw)] == [outcome.request_id]


async def test_a_team_refusal_falls_back_to_a_local_model_and_says_which_limit(
    make_gateway: MakeGateway, paid: FakeOpenAI, local: FakeOllama
) -> None:
    gw = make_gateway(with_local=True, team={"monthly_usd": "0"})
    outcome = await gw.run(task())
    assert outcome.ref.provider == "ollama" and not paid.requests
    assert any('team budget $0 of team "core" reached' in a for a in outcome.attempts)
    assert outcome.team is not None and outcome.team.exhausted


async def test_every_refusal_names_its_limit_when_no_local_model_is_left(
    make_gateway: MakeGateway,
) -> None:
    team_gw = make_gateway(team={"monthly_usd": "0"})
    with pytest.raises(AllModelsFailed, match=r'openai.default: team budget \$0 of team "core"'):
        await team_gw.run(task())
    member_gw = make_gateway(team={"monthly_usd": "5", "member_monthly_usd": "0.0001"})
    with pytest.raises(AllModelsFailed, match=r"member budget \$0.0001 for ann@example.com"):
        await member_gw.run(task())
    local_gw = make_gateway(budget={"monthly_usd": "0.0001"}, team={"monthly_usd": "5"})
    with pytest.raises(AllModelsFailed, match=r"monthly budget \$0.0001 reached"):
        await local_gw.run(task())
    assert local_gw.team is not None and local_gw.team.status.reachable is None  # never asked


async def test_a_team_refusal_releases_the_local_reservation(make_gateway: MakeGateway) -> None:
    gw = make_gateway(with_local=True, budget={"monthly_usd": "10"}, team={"monthly_usd": "0"})
    await gw.run(task())
    assert gw.budget.status().reserved == 0


async def test_a_cancelled_answer_counts_its_estimate_for_the_team(
    make_gateway: MakeGateway, paid: FakeOpenAI, raw: Redis
) -> None:
    paid.default = Reply(text=" ".join(["word"] * 200), chunk_delay=0.02)
    gw = make_gateway(team={"monthly_usd": "1"})
    got_text = asyncio.Event()

    async def consume() -> None:
        async for event in gw.stream(task()):
            if isinstance(event, TextDelta):
                got_text.set()

    runner = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), 10)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    await wait_for(lambda: gw.team is not None and gw.team.status.reserved == 0)
    # the ledger row has no price (cancelled before the usage arrived); the team counts the hold
    assert [r.outcome for r in gw.ledger.recent()] == ["cancelled"]
    assert (await spend_in_redis(raw))["team"] == ESTIMATE


@pytest.mark.parametrize("policy", ["refuse", "local_only", "allow"])
async def test_redis_out_of_reach_follows_on_unreachable(
    make_gateway: MakeGateway, paid: FakeOpenAI, policy: str
) -> None:
    gw = make_gateway(
        with_local=True,
        team={
            "redis_url": f"redis://127.0.0.1:{closed_port()}/0",
            "monthly_usd": "1",
            "on_unreachable": policy,
        },
    )
    if policy == "refuse":
        with pytest.raises(AllModelsFailed) as info:
            await gw.run(task())
        assert str(info.value).count('on_unreachable = "refuse"') == 2  # paid and local refused
        assert not paid.requests
        return
    outcome = await gw.run(task())
    expected = "openai" if policy == "allow" else "ollama"
    assert outcome.ref.provider == expected
    status = status_payload(outcome, action="explain", local_only=False)
    assert status["team"]["reachable"] is False
    note = (
        "team budget not checked (Redis unreachable)"
        if policy == "allow"
        else "team budget unavailable: local models only"
    )
    assert note in status["text"]
    assert len(gw.ledger.recent()) == 1  # the local ledger still records every request


async def test_status_shows_the_team_budget_when_it_is_the_tighter_limit(
    make_gateway: MakeGateway,
) -> None:
    gw = make_gateway(budget={"monthly_usd": "20"}, team={"monthly_usd": "0.5"})
    outcome = await gw.run(task())
    status = status_payload(outcome, action="explain", local_only=False)
    assert status["budgetScope"] == "team"
    assert (status["monthUsd"], status["budgetUsd"]) == (float(COST), 0.5)
    assert (status["localMonthUsd"], status["localBudgetUsd"]) == (float(COST), 20.0)
    assert "team <$0.0001/$0.50" in status["text"] and "month" not in status["text"]
    assert status["team"]["name"] == "core" and status["team"]["reachable"] is True

    member = make_gateway(
        budget={"monthly_usd": "0.4"}, team={"monthly_usd": "5", "member_monthly_usd": "0.3"}
    )
    scoped = status_payload(await member.run(task()), action="explain", local_only=False)
    assert scoped["budgetScope"] == "member" and "you " in scoped["text"]

    roomy = make_gateway(budget={"monthly_usd": "0.1"}, team={"monthly_usd": "100"})
    local = status_payload(await roomy.run(task()), action="explain", local_only=False)
    assert local["budgetScope"] == "local" and local["budgetUsd"] == 0.1
    assert "month " in local["text"]


async def test_titles_show_the_team_budget_when_it_is_tighter(make_gateway: MakeGateway) -> None:
    gw = make_gateway(team={"monthly_usd": "0.001"})
    doc = Document.from_text("def f(x):\n    return x + 1\n", path="a.py", uri="file:///w/a.py")
    before = [o.title for o in offers(gw, doc, 0, 0, private=False)]
    assert not any("team" in t for t in before)  # nothing known yet: no note
    assert gw.team is not None
    await wait_for(lambda: gw.team is not None and gw.team.status.reachable)  # refreshed
    for _ in range(4):
        await gw.run(task())
    titles = [o.title for o in offers(gw, doc, 0, 0, private=False)]
    assert titles and all("team budget $0.0001/$0.0010" in t for t in titles), titles
