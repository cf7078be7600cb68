"""Run in a separate OS process by the cost tests: hammer one ledger file, print a JSON result.

python _worker.py record LEDGER N GO_FILE
python _worker.py budget LEDGER THREADS LIMIT ESTIMATE GO_FILE SEED [tracked]
  (tracked: reservations checked against a BudgetTracker's month spend, as the gateway does)
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

from magray_lsp.config.models import BudgetConfig
from magray_lsp.cost.budget import BudgetGuard
from magray_lsp.cost.budget_tracker import BudgetTracker
from magray_lsp.cost.ledger import Ledger, LedgerEntry
from magray_lsp.errors import BudgetExceeded


def _wait(go: Path) -> None:
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("go file never appeared")
        time.sleep(0.005)


def record(path: Path, n: int, go: Path) -> dict[str, object]:
    ledger = Ledger(path)
    _wait(go)
    errors: list[str] = []
    for i in range(n):
        try:
            ledger.record(
                LedgerEntry(
                    action="explain",
                    provider="openai",
                    model="gpt-4o-mini",
                    cost_usd=Decimal("0.0001"),
                    latency_ms=float(i),
                )
            )
        except Exception as exc:  # the test asserts there are none
            errors.append(repr(exc))
    ledger.close()
    return {"errors": errors}


def budget(
    path: Path,
    threads: int,
    limit: Decimal,
    estimate: Decimal,
    go: Path,
    seed: int,
    tracked: bool = False,
) -> dict[str, object]:
    ledger = Ledger(path)
    guard = BudgetGuard(ledger, BudgetConfig(monthly_usd=limit, hard_stop=True))
    if tracked:
        guard.month_spend_in = BudgetTracker(guard).spent_pico_in
    rnd = random.Random(seed)
    actuals = [estimate * Decimal(rnd.randint(50, 100)) / 100 for _ in range(threads)]
    result: dict[str, list[str]] = {"ok": [], "refused": [], "errors": []}
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def one(i: int) -> None:
        barrier.wait()
        try:
            reservation = guard.reserve(estimate, request_id=f"{seed}-{i}")
        except BudgetExceeded as exc:
            with lock:
                result["refused"].append(str(exc))
            return
        except Exception as exc:
            with lock:
                result["errors"].append(repr(exc))
            return
        time.sleep(rnd.random() * 0.01)  # the provider call
        try:
            guard.settle(
                reservation,
                LedgerEntry(action="explain", provider="openai", model="m", cost_usd=actuals[i]),
            )
            with lock:
                result["ok"].append(str(actuals[i]))
        except Exception as exc:
            with lock:
                result["errors"].append(repr(exc))

    _wait(go)
    workers = [threading.Thread(target=one, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    ledger.close()
    return dict(result)


def main(argv: list[str]) -> None:
    mode, path = argv[0], Path(argv[1])
    if mode == "record":
        out = record(path, int(argv[2]), Path(argv[3]))
    else:
        out = budget(
            path,
            int(argv[2]),
            Decimal(argv[3]),
            Decimal(argv[4]),
            Path(argv[5]),
            int(argv[6]),
            tracked=argv[7:] == ["tracked"],
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
