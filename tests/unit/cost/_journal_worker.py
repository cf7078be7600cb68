"""A real process for the row journal's tests.

python _journal_worker.py journal LEDGER N
    A Gateway on LEDGER (no team: rows are journaled) reserves money for one request, then
    keeps its writer thread from folding the journal and commits N
    rows through `LedgerRows.commit` (the first settling that reservation). Prints one JSON line
    (the rows' ids, the reservation's id, the journal's path) and sleeps until killed.

python _journal_worker.py take-over LEDGER GO_FILE
    Waits for GO_FILE, then takes over every journal of a dead process; prints the rows folded.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from decimal import Decimal
from pathlib import Path

from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import load_config
from magray_lsp.cost.journal import take_over
from magray_lsp.cost.ledger import Ledger, LedgerEntry
from magray_lsp.gateway import Gateway


def entry(i: int) -> LedgerEntry:
    return LedgerEntry(
        action="explain",
        provider="openai",
        model="gpt-4o-mini",
        workspace="/w",
        input_tokens=100 + i,
        output_tokens=10,
        cost_usd=Decimal("0.0001") + Decimal(i).scaleb(-9),
        latency_ms=12.5,
        ts=time.time(),
    )


async def journal(ledger: Path, n: int) -> None:
    loaded = load_config(settings={}, env={}, include_user=False)
    gw = Gateway(Catalog(loaded), ledger=Ledger(ledger), workspace="/w")
    reservation = gw.budget.reserve(Decimal("0.5"), request_id="r0")
    await gw.rows.flush()  # the reservation is in; the writer is idle
    # the writer thread leaves the journal alone from now on: the fold never comes (and no
    # transaction is held open, so other processes can write meanwhile)
    gw.writer._journal_retry = time.monotonic() + 3600
    entries = [entry(i) for i in range(n)]
    await gw.rows.commit(entries[0], reservation)
    for e in entries[1:]:
        await gw.rows.commit(e)
    journal = gw.writer._journal
    assert journal is not None
    print(
        json.dumps(
            {
                "ids": [e.id for e in entries],
                "reservation": reservation.id,
                "journal": str(journal.path),
            }
        ),
        flush=True,
    )
    await asyncio.sleep(3600)  # until SIGKILLed


def take_over_when(ledger: Path, go: Path) -> None:
    led = Ledger(ledger)
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    print(json.dumps({"folded": take_over(led)}), flush=True)
    led.close()


if __name__ == "__main__":
    if sys.argv[1] == "journal":
        asyncio.run(journal(Path(sys.argv[2]), int(sys.argv[3])))
    else:
        take_over_when(Path(sys.argv[2]), Path(sys.argv[3]))
