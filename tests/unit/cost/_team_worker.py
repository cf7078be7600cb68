"""One editor window of a team, in its own OS process: a gateway with ``[team]`` on its own
ledger, sending paid requests to the loopback fakes. Run by the team-mode tests:

    python _team_worker.py SPEC.json

SPEC: ``settings`` (the configuration), ``ledger``, ``go`` (start when this file exists),
``out`` (one JSON line per finished request, flushed at once), ``mode``: ``burst`` (``requests``
at once, then exit) or ``loop`` (``concurrency`` requests back to back until ``stop`` exists).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

from magray_lsp import event_loop
from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import load_config
from magray_lsp.cost.ledger import Ledger
from magray_lsp.gateway import Gateway
from magray_lsp.task import Task


def _task(i: int) -> Task:
    return Task(
        action="explain",
        system="You explain code.",
        prompt=f"def step_{i}(x):\n    return x + {i}\n",
        context_tokens=100,
        max_output_tokens=50,
    )


async def _one(gw: Gateway, i: int, out: TextIO) -> None:
    started, clock = time.time(), time.monotonic()
    line: dict[str, Any] = {"i": i, "started": started}
    try:
        outcome = await gw.run(_task(i))
        line.update(
            ok=True,
            provider=outcome.ref.provider,
            cost=str(outcome.cost_usd),
            request_id=outcome.request_id,
            attempts=list(outcome.attempts),
        )
    except Exception as exc:  # what the user would see; the test reads every message
        line.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    line["seconds"] = time.monotonic() - clock
    out.write(json.dumps(line) + "\n")
    out.flush()


async def main(spec: dict[str, Any], out: TextIO) -> None:
    loaded = load_config(settings=spec["settings"], env={}, include_user=False)
    gw = Gateway(Catalog(loaded), ledger=Ledger(Path(spec["ledger"])), workspace="/ws")
    go, stop = Path(spec["go"]), Path(spec.get("stop", "/nonexistent"))
    deadline = time.monotonic() + 120
    while not await asyncio.to_thread(go.exists):
        if time.monotonic() > deadline:
            raise SystemExit("the go file never appeared")
        await asyncio.sleep(0.005)
    if spec["mode"] == "burst":
        await asyncio.gather(*(_one(gw, i, out) for i in range(spec["requests"])))
    else:
        counter = iter(range(10**9))

        async def lane() -> None:
            while not await asyncio.to_thread(stop.exists):
                await _one(gw, next(counter), out)

        await asyncio.gather(*(lane() for _ in range(spec["concurrency"])))
    await gw.aclose()
    print("done", flush=True)


if __name__ == "__main__":
    spec = json.loads(Path(sys.argv[1]).read_text())
    try:
        with open(spec["out"], "a", encoding="utf-8") as out:
            event_loop.run(main(spec, out))  # the loop `magray-lsp` runs on
    except BaseException:
        traceback.print_exc()
        raise
