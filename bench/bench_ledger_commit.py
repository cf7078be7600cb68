"""What committing one request's ledger row costs on the answer's path.

    python bench/bench_ledger_commit.py [--samples N] [--month-days D]

One process, one event loop, a ledger per variant on a temporary file (WAL, synchronous=NORMAL,
as the product), interleaved sample by sample so that drift on a shared machine hits every
variant alike:
  floor)   an empty ``BEGIN IMMEDIATE`` / ``COMMIT`` (``Ledger.append``, nothing to fold)
  write)   ``Ledger.write`` of one ``LedgerEntry``: the row folded into the rollups in its own
           transaction (what every row cost while a trigger kept the rollups, schema ≤ 4)
  append)  ``Ledger.append(nowait=True)`` of the same: the row alone, folded later (what the
           event loop thread commits, schema 5)
  journal) ``Journal.append`` of the same: the row's record written to the process's row journal
           with one ``os.write`` (the commit of schema 7, without the writer around it)
  commit)  ``LedgerRows.commit`` of a prepared entry by a lone request on the event loop: what a
           paid request's ``record`` costs once its entry is built (appended to the journal,
           the writer thread woken; no SQLite on the loop)
  record)  ``LedgerRows.record`` of a lone paid request's answer: priced, its entry built and
           committed (``commit`` plus what settling a call adds)
  free)    ``LedgerRows.free``: a cache hit's row, entry built and committed
Between two samples (untimed) the gateways' writer threads put what was journaled into their
ledgers, so that one variant's thread does not take the GIL during another's sample (in
`bench_gateway.py`, where requests follow each other at once, that overlap is measured).
Medians in µs, and each as a ratio to ``write`` of the same run; then what the writer thread
does afterwards, off the answer's path, per row: putting journaled rows into ``requests`` with
the journal's offset (one transaction for 1 or 64 of them), and folding rows into the rollups.
`--month-days D` starts every ledger with D days of history (a row per hour, model and action).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import (
    add_loop_option,
    command_line,
    is_quick,
    machine,
    median,
    run_on_loop,
    setup_path,
    table,
    use_loop,
    write_result,
)

setup_path()

from bench_gateway import ledger_with_history, make_task, settings  # noqa: E402

from magray_lsp.catalog import Catalog, ModelRef  # noqa: E402
from magray_lsp.config.loader import load_config  # noqa: E402
from magray_lsp.cost.journal import Journal, JournalRecord, fold_in  # noqa: E402
from magray_lsp.cost.ledger import LedgerEntry, LedgerTx  # noqa: E402
from magray_lsp.gateway import Gateway  # noqa: E402
from magray_lsp.gateway.rows import Attempt  # noqa: E402
from magray_lsp.providers.base import Usage  # noqa: E402
from magray_lsp.providers.events import Completion  # noqa: E402

#: rows per fold measured: a lone request's, a burst's
FOLDS = (1, 64)


def row() -> LedgerEntry:
    return LedgerEntry(
        id=uuid.uuid4().hex,
        ts=time.time(),
        workspace="b",
        action="explain",
        source_path="bench.py",
        provider="openai",
        model="gpt-4o-mini",
        input_tokens=900,
        output_tokens=120,
        cost_usd=Decimal("0.00018"),
        latency_ms=640.0,
    )


async def measure(folder: Path, samples: int, days: int) -> dict[str, list[float]]:
    loaded = load_config(settings=settings("http://127.0.0.1:9"), env={}, include_user=False)
    floor_ledger = ledger_with_history(folder / "floor.sqlite3", days)
    write_ledger = ledger_with_history(folder / "write.sqlite3", days)
    append_ledger = ledger_with_history(folder / "append.sqlite3", days)
    journal_ledger = ledger_with_history(folder / "journal.sqlite3", days)
    journal = Journal(journal_ledger.path)
    commit_gw = Gateway(
        Catalog(loaded), ledger=ledger_with_history(folder / "c.sqlite3", days), workspace="b"
    )
    free_gw = Gateway(
        Catalog(loaded), ledger=ledger_with_history(folder / "f.sqlite3", days), workspace="b"
    )
    record_gw = Gateway(
        Catalog(loaded), ledger=ledger_with_history(folder / "r.sqlite3", days), workspace="b"
    )
    task = make_task()
    ref = ModelRef("openai", "openai", "gpt-4o-mini")
    usage = Usage(900, 120)

    def empty(tx: LedgerTx) -> None:
        pass

    async def floor() -> None:
        floor_ledger.append(empty)

    async def write() -> None:
        entry = row()
        write_ledger.write(lambda tx: tx.record(entry))

    async def append() -> None:
        entry = row()
        append_ledger.append(lambda tx: tx.record(entry), nowait=True)

    async def journaled() -> None:
        journal.append(row(), None)

    entries: list[LedgerEntry] = []

    async def commit() -> None:
        await commit_gw.rows.commit(entries.pop())

    plan = record_gw.router.plan(task)
    done = Completion(usage=usage, finish_reason="stop", model="gpt-4o-mini")

    attempts: list[Attempt] = []

    def attempt() -> Attempt:
        run = Attempt(task, plan.primary, [], None, plan.candidates, sent=True)
        run.received("answer")
        run.done = done
        return run

    async def record() -> None:
        await record_gw.rows.record(attempts.pop(), "ok", None)

    async def free() -> None:
        await free_gw.rows.free(task, ref, usage, Decimal("0.0001"))

    variants: dict[str, Callable[[], Awaitable[None]]] = {
        "floor": floor,
        "write": write,
        "append": append,
        "journal": journaled,
        "commit": commit,
        "record": record,
        "free": free,
    }
    out: dict[str, list[float]] = {name: [] for name in variants}
    clock = time.perf_counter
    for i in range(samples + 50):  # the first 50: warm-up
        entries.append(row())  # built untimed: `commit` measures the commit alone
        attempts.append(attempt())  # and `record` what settling the call adds to it
        for name, fn in variants.items():
            start = clock()
            await fn()
            took = clock() - start
            if i >= 50:
                out[name].append(took)
        await asyncio.sleep(0)  # as between two requests: the loop runs what is due
        # untimed: the writer threads put the journaled rows into their ledgers, so that one
        # variant's thread does not compete for the GIL during the next variant's sample
        for gw in (commit_gw, record_gw, free_gw):
            gw.writer.flush()
    # rows committed to SQLite on the loop's thread (0 with the journal: the thread does it)
    out["inline"] = [float(gw.writer.inline) for gw in (commit_gw, record_gw, free_gw)]
    # budget statuses the tracker brought up to date without a query (`BudgetTracker._quietly`)
    out["unqueried"] = [float(gw.rows.tracker.unqueried) for gw in (commit_gw, record_gw, free_gw)]
    for gw in (commit_gw, record_gw, free_gw):
        await gw.aclose()
    # journaled rows into the ledger, as the writer thread does: a lone one, a burst
    for rows in FOLDS:
        out[f"journal{rows}"] = []
        for _ in range(max(samples // rows, 5)):
            entries = [row() for _ in range(rows)]
            records = [JournalRecord(e, None, journal.append(e, None)) for e in entries]
            start = clock()
            journal_ledger.append(lambda tx, records=records: fold_in(tx, journal.name, records))
            out[f"journal{rows}"].append((clock() - start) / rows)
    journal.close(remove=True)
    # the folds, as the writer thread runs them once idle: after a lone request, after a burst
    for rows in FOLDS:
        out[f"fold{rows}"] = []
        for _ in range(max(samples // rows, 5)):
            append_ledger.append(lambda tx, rows=rows: [tx.record(row()) for _ in range(rows)])
            start = clock()
            append_ledger.fold()
            out[f"fold{rows}"].append((clock() - start) / rows)
    for ledger in (floor_ledger, write_ledger, append_ledger, journal_ledger):
        ledger.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--month-days", type=int, default=0)
    add_loop_option(parser)
    args = parser.parse_args()
    use_loop(args.loop)
    samples = 100 if is_quick() else args.samples
    with tempfile.TemporaryDirectory() as tmp:
        out = run_on_loop(measure(Path(tmp), samples, args.month_days))
    inline = out.pop("inline")
    into = {rows: median(out.pop(f"journal{rows}")) for rows in FOLDS}
    unqueried = out.pop("unqueried")
    folds = {rows: median(out.pop(f"fold{rows}")) for rows in FOLDS}
    base = median(out["write"])
    rows: list[list[Any]] = [
        [name, f"{median(times) * 1e6:.0f}", f"{median(times) / base:.2f}"]
        for name, times in out.items()
    ]
    text = (
        "### Ledger commit on the answer's path\n\n"
        f"{machine()}; `{command_line()}`; {samples} samples per variant, interleaved.\n\n"
        + table(["variant", "median µs", "× write"], rows, "lrr")
        + "\n\nRows committed to SQLite on the loop's thread (commit, record, free): "
        + ", ".join(f"{n:.0f}" for n in inline)
        + "; budget statuses without a query: "
        + ", ".join(f"{n:.0f}" for n in unqueried)
        + f" of {samples + 50} each. "
        "Journaled rows into the ledger (the writer thread, right after), per row: "
        + ", ".join(f"{into[n] * 1e6:.0f} µs with {n} per transaction" for n in FOLDS)
        + ". Folding them into the rollups afterwards (the writer thread, once idle), per row: "
        + ", ".join(f"{folds[n] * 1e6:.0f} µs with {n} per fold" for n in FOLDS)
        + ".\n"
    )
    print(text)
    write_result("ledger_commit", text, {"args": vars(args), "samples": out})


if __name__ == "__main__":
    main()
