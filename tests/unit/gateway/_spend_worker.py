"""One OS process of the spend test: a real Gateway on the shared ledger, N requests started at
staggered moments, those whose prompt says CANCEL-ME cancelled after their third chunk.

python _spend_worker.py SETTINGS_JSON LEDGER GO_FILE SEED N

Prints one JSON object: how many requests completed, were cancelled mid-stream, were refused by
the budget, and any other error.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from magray_lsp import event_loop
from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import load_config
from magray_lsp.cost.ledger import Ledger
from magray_lsp.gateway import AllModelsFailed, Gateway
from magray_lsp.providers.base import TextDelta
from magray_lsp.routing.router import NoRoute
from magray_lsp.task import Task

CODE = "\n".join(
    f"def handler_{i}(request):\n"
    f"    value = request.args.get('k{i}', '')\n"
    "    return value.strip()\n"
    for i in range(24)
)
CANCEL_AFTER_CHUNKS = 3


def task(name: str, cancel: bool) -> Task:
    marker = "CANCEL-ME" if cancel else "ANSWER-ME"
    return Task(
        action="explain",
        system="You explain code.",
        prompt=f"# {name} {marker}\n{CODE}",
        language="python",
        context_tokens=50,  # the estimate is low: the prompt is about ten times that
        max_output_tokens=60,
    )


async def one(gw: Gateway, t: Task, delay: float, cancel: bool) -> str:
    await asyncio.sleep(delay)
    third_chunk = asyncio.Event()

    async def consume() -> None:
        chunks = 0
        async for event in gw.stream(t):
            if isinstance(event, TextDelta):
                chunks += 1
                if chunks == CANCEL_AFTER_CHUNKS and cancel:
                    third_chunk.set()

    runner = asyncio.ensure_future(consume())
    waiter = asyncio.ensure_future(third_chunk.wait())
    await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if not runner.done():  # mid-stream: the user walked away
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        return "cancelled"
    exc = runner.exception()
    if exc is None:
        return "ok"
    # refused at the reservation, or not even planned once the month is spent
    if isinstance(exc, AllModelsFailed | NoRoute) and "monthly budget" in str(exc):
        return "refused"
    return f"error: {type(exc).__name__}: {exc}"


def wait_for(go: Path) -> None:
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("go file never appeared")
        time.sleep(0.005)


async def main(settings: dict[str, Any], ledger: Path, go: Path, seed: int, n: int) -> None:
    loaded = load_config(settings=settings, env={}, include_user=False)
    gw = Gateway(Catalog(loaded), ledger=Ledger(ledger), workspace=f"worker-{seed}")
    rnd = random.Random(seed)
    await asyncio.to_thread(wait_for, go)
    try:
        results = await asyncio.gather(
            *(
                one(gw, task(f"w{seed}-r{i}", i % 2 == 0), rnd.uniform(0, 2), i % 2 == 0)
                for i in range(n)
            )
        )
    finally:
        await gw.aclose()
    out: dict[str, Any] = {"ok": 0, "cancelled": 0, "refused": 0, "errors": []}
    for result in results:
        if result.startswith("error"):
            out["errors"].append(result)
        else:
            out[result] += 1
    print(json.dumps(out))


if __name__ == "__main__":
    settings_path, ledger_path, go_file, seed_text, count = sys.argv[1:]
    event_loop.run(  # the loop `magray-lsp` runs on
        main(
            json.loads(Path(settings_path).read_text()),
            Path(ledger_path),
            Path(go_file),
            int(seed_text),
            int(count),
        )
    )
