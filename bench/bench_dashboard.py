"""Dashboard response times on a huge ledger (1M requests by default).

Seeds a ledger with N requests spread over the last 60 days (5 providers, 9 models, 4
workspaces; errors, cancellations, cache hits, fallbacks and outages in realistic shares) through
the ledger's own write API, so the rollups are the ones real use builds. The seeded file is kept
in $XDG_CACHE_HOME/magray-bench (re-seeded when older than 6 hours, or with --fresh). A recent
seed of an older ledger schema is upgraded instead (a copy, opened with ``Ledger``), and the
time that schema migration took on it is reported.

Then starts the dashboard in-process on loopback and times, over HTTP from a client in the same
process: the page and its static files, ``/api/dashboard`` for each time range and with provider
and workspace filters, and ``/metrics``; and the CPU time of the same work called directly.
"Page load" = HTML + CSS + scripts + the API call, one after another, as a browser without a
cache would fetch them. ``--browser`` adds the wall time of a headless Chromium loading the page
until the data is rendered (Chromium start-up included).

    .venv/bin/python bench/bench_dashboard.py [--rows 1000000] [--repeat 7] [--browser]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from _common import (
    add_loop_option,
    command_line,
    is_quick,
    machine,
    median,
    percentile,
    run_on_loop,
    setup_path,
    table,
    use_loop,
    write_result,
)

setup_path()

import httpx  # noqa: E402

from magray_lsp.config.models import BudgetConfig  # noqa: E402
from magray_lsp.cost.ledger import (  # noqa: E402
    SCHEMA_VERSION,
    Action,
    Ledger,
    LedgerEntry,
    Outcome,
)
from magray_lsp.dashboard import metrics_text, queries  # noqa: E402
from magray_lsp.dashboard.filters import parse_filters  # noqa: E402
from magray_lsp.dashboard.reader import LedgerReader  # noqa: E402
from magray_lsp.dashboard.server import start_dashboard  # noqa: E402

MODELS = [
    ("openai", "gpt-4o-mini", "0.00000015", "0.0000006"),
    ("openai", "gpt-4o", "0.0000025", "0.00001"),
    ("anthropic", "claude-3-5-haiku-latest", "0.0000008", "0.000004"),
    ("anthropic", "claude-3-5-sonnet-latest", "0.000003", "0.000015"),
    ("google", "gemini-1.5-flash", "0.000000075", "0.0000003"),
    ("google", "gemini-1.5-pro", "0.00000125", "0.000005"),
    ("ollama", "llama3.1", "0", "0"),
    ("huggingface", "Qwen2.5-Coder-32B", "0.0000002", "0.0000006"),
    ("local", "SmolLM2-135M", "0", "0"),
]
WORKSPACES = ["/home/dev/api", "/home/dev/web", "/home/dev/infra", "/home/dev/ml"]
ACTIONS: tuple[Action, ...] = ("explain", "explain", "explain", "document", "refactor", "hover")
OUTCOMES: tuple[Outcome, ...] = ("ok", "error", "cancelled", "budget_refused")
OUTCOME_WEIGHTS = (93, 4, 1.5, 1.5)
ERRORS = ("RateLimited", "Timeout", "ServerError", "BadRequest")
SPAN_DAYS = 60
#: the seed's file name follows the ledger schema: the read-only dashboard reads no older file,
#: and a cached seed of an older schema is upgraded (a copy) rather than seeded again
SEED_VERSION = SCHEMA_VERSION
SEED_MAX_AGE = 6 * 3600  # the seed ends at the time it was made; older ones miss recent hours


def _entries(
    first: int, count: int, rows: int, now: float, rng: random.Random
) -> list[LedgerEntry]:
    """Requests ``first`` .. ``first + count`` of ``rows``, evenly spread in time, oldest first."""
    start = now - SPAN_DAYS * 86400
    step = (now - 60 - start) / rows
    out = []
    for i in range(first, first + count):
        provider, model, price_in, price_out = MODELS[rng.randrange(len(MODELS))]
        outcome: Outcome = rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0]
        cached = outcome == "ok" and rng.random() < 0.15
        tokens_in, tokens_out = rng.randint(200, 6000), rng.randint(20, 900)
        cost = Decimal(price_in) * tokens_in + Decimal(price_out) * tokens_out
        fallback = outcome == "ok" and not cached and rng.random() < 0.03
        paid: Decimal | None = cost if outcome == "ok" and not cached else Decimal(0)
        if outcome == "budget_refused":
            paid = None  # never sent, never priced
        out.append(
            LedgerEntry(
                action=rng.choice(ACTIONS),
                provider=provider,
                model=model,
                outcome=outcome,
                workspace=rng.choice(WORKSPACES),
                source_path=f"src/module_{rng.randrange(400)}.py",
                input_tokens=0 if cached or outcome == "budget_refused" else tokens_in,
                output_tokens=0 if cached or outcome != "ok" else tokens_out,
                cost_usd=paid,
                saved_usd=cost if cached else None,
                latency_ms=2.0 if cached else math.exp(rng.gauss(6.3, 0.6)),
                cached=cached,
                fallback_chain=["anthropic/claude-3-5-haiku-latest"] if fallback else (),
                error_type=rng.choice(ERRORS) if outcome == "error" else None,
                ts=start + i * step,
            )
        )
    return out


def _recent(path: Path) -> bool:
    return path.exists() and time.time() - path.stat().st_mtime < SEED_MAX_AGE


def seeded_ledger(rows: int, fresh: bool) -> tuple[Path, str]:
    """A ledger with ``rows`` requests (reused when recent) and how it was made."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "magray-bench"
    path = cache / f"dashboard-v{SEED_VERSION}-{rows}.sqlite3"
    if _recent(path) and not fresh:
        return path, "reused from the cache"
    for version in range(SEED_VERSION - 1, 0, -1) if not fresh else ():
        old = cache / f"dashboard-v{version}-{rows}.sqlite3"
        if _recent(old):
            return path, _upgraded(old, path)
    cache.mkdir(parents=True, exist_ok=True)
    for side in ("", "-wal", "-shm"):
        Path(str(path) + side).unlink(missing_ok=True)
    building = path.with_suffix(".building")
    for side in ("", "-wal", "-shm"):
        Path(str(building) + side).unlink(missing_ok=True)
    rng = random.Random(20260315)
    now = time.time()
    started = time.perf_counter()
    batch = 50_000
    with Ledger(building) as ledger:
        for first in range(0, rows, batch):
            entries = _entries(first, min(batch, rows - first), rows, now, rng)
            with ledger.transaction() as tx:  # one transaction per batch: no fsync per row
                for e in entries:
                    tx.record(e)
            print(f"  seeded {first + len(entries):,} / {rows:,}", file=sys.stderr, flush=True)
        ledger.read("PRAGMA wal_checkpoint(TRUNCATE)")
    os.replace(building, path)
    return path, f"seeded in {time.perf_counter() - started:.0f} s"


def _upgraded(old: Path, path: Path) -> str:
    """``path``: a copy of the older seed ``old``, upgraded to the current ledger schema."""
    building = path.with_suffix(".building")
    for side in ("", "-wal", "-shm"):
        Path(str(building) + side).unlink(missing_ok=True)
    shutil.copyfile(old, building)
    shutil.copystat(old, building)  # keeps the seed's age
    started, cpu = time.perf_counter(), time.process_time()
    with Ledger(building, busy_timeout=600) as ledger:
        version = ledger.read("PRAGMA user_version")[0][0]
        took, took_cpu = time.perf_counter() - started, time.process_time() - cpu
        ledger.read("PRAGMA wal_checkpoint(TRUNCATE)")
    os.utime(building, (old.stat().st_atime, old.stat().st_mtime))
    os.replace(building, path)
    return (
        f"a cached seed of an older schema, upgraded to schema {version} by opening it: "
        f"{took:.1f} s, {took_cpu:.1f} s CPU"
    )


async def _time(client: httpx.AsyncClient, url: str, repeat: int) -> list[float]:
    got = await client.get(url)  # warm-up (and a check)
    if got.status_code != 200:
        raise RuntimeError(f"{url}: HTTP {got.status_code}: {got.text[:300]}")
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        got = await client.get(url)
        got.raise_for_status()
        samples.append(time.perf_counter() - t0)
    return samples


PAGE_ASSETS = (
    "",
    "static/app.css",
    "static/vendor/uPlot.min.css",
    "static/vendor/uPlot.iife.min.js",
    "static/app.js",
)
API_CASES = [
    ("month (default)", "api/dashboard"),
    ("last 24 hours", "api/dashboard?range=24h"),
    ("last 7 days", "api/dashboard?range=7d"),
    ("last 30 days", "api/dashboard?range=30d"),
    ("all time", "api/dashboard?range=all"),
    ("30 days, provider=anthropic", "api/dashboard?range=30d&provider=anthropic"),
    ("30 days, one workspace", "api/dashboard?range=30d&workspace=/home/dev/web"),
    # read from the rollups keyed by action (ledger schema 4)
    ("24 hours, action=refactor", "api/dashboard?range=24h&action=refactor"),
    ("30 days, action=refactor", "api/dashboard?range=30d&action=refactor"),
    ("/metrics (all time)", "metrics"),
]


async def measure(path: Path, repeat: int) -> dict[str, list[float]]:
    dash = await start_dashboard(path, lambda: BudgetConfig(monthly_usd=Decimal(500)))
    results: dict[str, list[float]] = {}
    try:
        async with httpx.AsyncClient(timeout=120, trust_env=False) as client:
            for label, suffix in API_CASES:
                results[label] = await _time(client, dash.url + suffix, repeat)
            page = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                for asset in (*PAGE_ASSETS, "api/dashboard"):
                    (await client.get(dash.url + asset)).raise_for_status()
                page.append(time.perf_counter() - t0)
            results["page load: HTML + CSS + JS + API"] = page
    finally:
        await dash.aclose()
    return results


def cpu_times(path: Path, repeat: int) -> dict[str, list[float]]:
    """CPU seconds of the same work called in-process (no HTTP): what the requests would take on
    an idle core, whatever else the machine is doing."""
    out: dict[str, list[float]] = {}
    for label, suffix in API_CASES:
        query = dict(httpx.URL("http://x/" + suffix).params)
        samples = []
        for _ in range(repeat):
            now = time.time()
            t0 = time.process_time()
            reader = LedgerReader(path)
            try:
                if suffix.startswith("metrics"):
                    metrics_text.exposition(reader, BudgetConfig(), now=now)
                else:
                    queries.dashboard(reader, parse_filters(query, now), BudgetConfig(), now=now)
            finally:
                reader.close()
            samples.append(time.process_time() - t0)
        out[label] = samples
    return out


def browser_load(path: Path, repeat: int) -> list[float]:
    """Wall time of headless Chromium rendering the page (start-up included)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        return []

    async def run() -> list[float]:
        dash = await start_dashboard(path, lambda: BudgetConfig())
        samples = []
        try:
            for _ in range(repeat):
                with tempfile.TemporaryDirectory() as profile:
                    t0 = time.perf_counter()
                    proc = await asyncio.create_subprocess_exec(
                        chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--no-first-run", "--disable-background-networking",
                        f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                        "--dump-dom", dash.url,
                        stdout=asyncio.subprocess.PIPE, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                    out, _ = await proc.communicate()
                    samples.append(time.perf_counter() - t0)
                    if b'data-state="ready"' not in out:
                        raise RuntimeError("the page did not render its data")
        finally:
            await dash.aclose()
        return samples

    return run_on_loop(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="re-seed the ledger")
    parser.add_argument("--browser", action="store_true", help="also time headless Chromium")
    parser.add_argument("--quick", action="store_true", help="tiny setting (smoke test)")
    add_loop_option(parser)
    args = parser.parse_args()
    use_loop(args.loop)
    if args.quick or is_quick():
        args.quick, args.rows, args.repeat = True, 5_000, 2
    started = time.perf_counter()
    path, seeded = seeded_ledger(args.rows, args.fresh)
    results = run_on_loop(measure(path, args.repeat))
    cpu = cpu_times(path, args.repeat)
    if args.browser:
        results["headless Chromium: start + render"] = browser_load(path, max(3, args.repeat // 2))

    def row(label: str, samples: list[float]) -> list[str]:
        return [
            label,
            f"{1000 * median(samples):.0f}",
            f"{1000 * percentile(samples, 95):.0f}",
            f"{1000 * max(samples):.0f}" if samples else "n/a",
            f"{1000 * median(cpu[label]):.0f}" if label in cpu else "",
            "**met**" if samples and max(samples) < 1.0 else "**not met**",
        ]

    size = path.stat().st_size / 1e6
    markdown = "\n".join(
        [
            "### Dashboard on a huge ledger (`bench_dashboard.py`)",
            "",
            f"Command: `{command_line()}` (took {time.perf_counter() - started:.0f} s). "
            f"Machine: {machine()}.",
            "",
            f"Ledger: {args.rows:,} requests over {SPAN_DAYS} days, {size:.0f} MB ({seeded}). "
            f"Each line: {args.repeat} requests after a warm-up; goal: every one under 1 s. "
            "CPU ms: median CPU time of the same query called in-process (no HTTP), i.e. the "
            "time on an idle core; wall times include waiting for a core on a busy machine.",
            "",
            table(
                ["request", "median ms", "p95 ms", "max ms", "CPU ms", "< 1 s"],
                [row(label, samples) for label, samples in results.items()],
            ),
        ]
    )
    data = {"args": vars(args), "seconds": results, "cpu_seconds": cpu, "mb": size}
    write_result("dashboard", markdown, data)
    print(markdown)


if __name__ == "__main__":
    main()
