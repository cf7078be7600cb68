"""Every answer the gateway returns already has its committed ledger row."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from decimal import Decimal

from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.unit.gateway.conftest import task

from magray_lsp.cost.journal import journal_dir, read_records
from magray_lsp.gateway import Gateway

MakeGateway = Callable[..., Gateway]


def in_ledger(gw: Gateway) -> dict[str, tuple[int, str | None]]:
    """Rows another process would see now: id → (cached, cost)."""
    conn = sqlite3.connect(gw.ledger.path)
    try:
        return {
            r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, cached, cost_usd FROM requests")
        }
    finally:
        conn.close()


def committed(gw: Gateway) -> dict[str, tuple[int, str | None]]:
    """Rows that are durable now (would survive the process being killed): those in the ledger
    and those in the row journal files beside it, read from disk as a process taking a journal
    over reads them. id → (cached, cost)."""
    rows = in_ledger(gw)
    for path in sorted(journal_dir(gw.ledger.path).glob("*.log")):
        for record in read_records(path, 0):
            e = record.entry
            cost = None if e.cost_usd is None else format(e.cost_usd, "f")
            rows.setdefault(e.id, (int(e.cached), cost))
    return rows


async def test_run_returns_after_its_row_is_committed(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    gw = make_gateway(cache=True)
    paid = await gw.run(task(key="k"))
    hit = await gw.run(task(key="k"))
    rows = committed(gw)  # no flush(): the rows are already there
    assert rows[paid.request_id] == (0, "0.000025")  # 11 in × $1 + 7 out × $2 per Mtok
    assert rows[hit.request_id] == (1, "0")
    assert paid.month_usd == Decimal("0.000025")  # the spend includes this very request


async def test_concurrent_requests_share_transactions_and_each_has_its_row(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text="answer", chunk_delay=0.005)
    gw = make_gateway()
    outcomes = await asyncio.gather(*(gw.run(task()) for _ in range(60)))
    rows = committed(gw)
    assert {o.request_id for o in outcomes} <= set(rows) and len(rows) == 60
    assert gw.writer.flush(30)  # the journal's records, into the ledger in batches
    assert gw.writer.batches < gw.writer.writes  # group commit happened


async def test_coalesced_requests_get_free_rows_of_their_own(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text="shared", chunk_delay=0.01)
    gw = make_gateway(cache=True)
    outcomes = await asyncio.gather(*(gw.run(task(key="hot")) for _ in range(20)))
    rows = committed(gw)
    assert len({o.request_id for o in outcomes}) == 20 and set(rows) == {
        o.request_id for o in outcomes
    }
    assert sorted(cached for cached, _ in rows.values()) == [0] + [1] * 19
