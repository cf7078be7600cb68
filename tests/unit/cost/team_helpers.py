"""Helpers of the team-mode tests: a paid request's reserve → record → settle as the gateway does
it, and what the Redis and the ledgers hold afterwards."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from magray_lsp.cost.ledger import Ledger, LedgerEntry, from_pico
from magray_lsp.cost.team import TeamBudget, TeamHold
from magray_lsp.cost.team_store import TeamKeys, month_of

PASSWORD = "team-s3cret-pass"


Make = Callable[..., TeamBudget]


def paid_entry(cost: str | None, **kw: Any) -> LedgerEntry:
    fields: dict[str, Any] = {
        "action": "explain",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "cost_usd": None if cost is None else Decimal(cost),
        "input_tokens": 100,
        "output_tokens": 50,
        "source_path": "/home/ann/secret-project/keys.py",
    }
    fields.update(kw)
    return LedgerEntry(**fields)


async def settle(team: TeamBudget, hold: TeamHold | None, entry: LedgerEntry) -> None:
    """What the gateway does once a call ended: the ledger row (and the team's count of it) in
    one transaction, then the team's settlement."""
    ledger = team.local.ledger

    def body(tx: Any) -> Any:
        tx.record(entry)
        return team.record_in(tx, entry, hold)

    total = ledger.write(body)
    await team.settle(hold, entry, total)


async def pay(team: TeamBudget, estimate: str, cost: str | None, **kw: Any) -> LedgerEntry:
    hold = await team.reserve(Decimal(estimate))
    entry = paid_entry(cost, **kw)
    await settle(team, hold, entry)
    return entry


async def spend_in_redis(raw: Redis, team: str = "core") -> dict[str, Decimal]:
    """The month's settled spend as the Redis holds it: "team" and "m:<member>"."""
    import time

    fields = await raw.hgetall(TeamKeys(team).spend(month_of(time.time())))
    return {k: from_pico(int(v)) for k, v in fields.items()}


def local_counted(ledger: Ledger, team: str = "core") -> Decimal:
    rows = ledger.read(
        "SELECT COALESCE(SUM(counted_pico), 0) FROM team_usage WHERE team = ?", (team,)
    )
    return from_pico(int(rows[0][0]))
