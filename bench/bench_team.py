"""Team budget: the reservation + settlement round trip against a real redis-server on loopback.

What a paid request adds in team mode is two calls of the team's Lua script: ``reserve`` before
the provider call and ``settle`` after the ledger row is committed. Measured in one process,
interleaved request by request with the baselines so drift hits them alike:

- (a) two ``PING`` round trips through a redis-py asyncio client and its connection pool;
- (a0) two ``PING`` round trips on a bare redis-py connection, the way the team's script calls
  go (``team_store``): the floor;
- (b) ``TeamBudget.reserve`` + ``TeamBudget.settle``, as the gateway calls them;
- (c) the local ``BudgetGuard.reserve`` + ``settle`` in SQLite (what ``[budget] monthly_usd``
  already costs each paid request);
- (d) the team's share of the ledger transaction: a row with ``TeamBudget.record_in`` minus a
  row alone (each its own transaction);

then (e) ``concurrency`` requests at once doing (b) in a loop, with the default number of
connections and with one connection per request (rounds interleaved): throughput, per-request
median and the process's CPU time per request (when it equals wall time per request, the
process is CPU-bound and more connections cannot help). The goal (issue 17): (b) median ≤ 1 ms.

    .venv/bin/python bench/bench_team.py [--requests 1000] [--repeat 5] [--concurrency 40] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import (
    add_loop_option,
    command_line,
    is_quick,
    load_average,
    machine,
    median,
    ms,
    percentile,
    run_on_loop,
    setup_path,
    table,
    use_loop,
    verdict,
    write_result,
)

setup_path()

from redis.utils import HIREDIS_AVAILABLE  # noqa: E402
from tests.redis_server import RedisServer, redis_server_binary  # noqa: E402

from magray_lsp.config.models import BudgetConfig, TeamConfig  # noqa: E402
from magray_lsp.cost.budget import BudgetGuard  # noqa: E402
from magray_lsp.cost.ledger import Ledger, LedgerEntry  # noqa: E402
from magray_lsp.cost.team import TeamBudget  # noqa: E402
from magray_lsp.cost.team_store import MAX_CONNECTIONS, TeamRedis  # noqa: E402

GOAL = 0.001  # seconds: reservation + settlement median
ESTIMATE = Decimal("0.0002")
COST = Decimal("0.00015")


def entry() -> LedgerEntry:
    return LedgerEntry(
        action="explain",
        provider="openai",
        model="gpt-4o-mini",
        cost_usd=COST,
        input_tokens=100,
        output_tokens=50,
        latency_ms=400.0,
    )


class Bench:
    def __init__(self, folder: Path, url: str, connections: int = MAX_CONNECTIONS) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger(folder / "ledger.sqlite3")
        cfg = TeamConfig(
            redis_url=url, name="bench", member="dev@example.com", monthly_usd=Decimal(10**9)
        )
        self.team = TeamBudget(cfg, self.ledger)
        self.team.redis = TeamRedis(
            url, cfg.name, timeout=cfg.timeout_seconds, max_connections=connections
        )
        self.guard = BudgetGuard(self.ledger, BudgetConfig(monthly_usd=Decimal(10**9)))
        self.bare: Any = None

    async def ping_twice(self) -> float:
        client = self.team.redis.client()
        t0 = time.perf_counter()
        await client.ping()
        await client.ping()
        return time.perf_counter() - t0

    async def ping_twice_bare(self) -> float:
        if self.bare is None:  # made as team_store makes the script's connections
            pool = self.team.redis.client().connection_pool
            self.bare = pool.connection_class(**{**pool.connection_kwargs, "socket_timeout": None})
        t0 = time.perf_counter()
        for _ in range(2):
            await self.bare.send_command("PING")
            await self.bare.read_response()
        return time.perf_counter() - t0

    async def team_round_trip(self) -> float:
        t0 = time.perf_counter()
        hold = await self.team.reserve(ESTIMATE)
        reserved = time.perf_counter() - t0
        row = entry()
        total = self.ledger.write(
            lambda tx: (tx.record(row), self.team.record_in(tx, row, hold))[1]
        )
        t1 = time.perf_counter()
        await self.team.settle(hold, row, total)
        return reserved + time.perf_counter() - t1

    async def local_round_trip(self) -> float:
        t0 = time.perf_counter()
        reservation = self.guard.reserve(ESTIMATE, request_id="bench")
        self.guard.settle(reservation, entry())
        return time.perf_counter() - t0

    async def row_alone(self) -> float:
        row = entry()
        t0 = time.perf_counter()
        self.ledger.write(lambda tx: tx.record(row))
        return time.perf_counter() - t0

    async def row_with_team(self) -> float:
        row = entry()
        t0 = time.perf_counter()
        self.ledger.write(lambda tx: (tx.record(row), self.team.record_in(tx, row, None)))
        return time.perf_counter() - t0

    async def aclose(self) -> None:
        if self.bare is not None:
            await self.bare.disconnect()
        await self.team.aclose()
        self.ledger.close()


VARIANTS: list[tuple[str, str, Callable[[Bench], Callable[[], Awaitable[float]]]]] = [
    ("a", "two PINGs, redis-py pooled client", lambda b: b.ping_twice),
    ("a0", "two PINGs, bare connection (the floor: two round trips)", lambda b: b.ping_twice_bare),
    ("b", "**team reserve + settle (two script calls)**", lambda b: b.team_round_trip),
    ("c", "local BudgetGuard reserve + settle (SQLite)", lambda b: b.local_round_trip),
    ("d0", "ledger row alone (one transaction)", lambda b: b.row_alone),
    ("d1", "ledger row + the team's record_in", lambda b: b.row_with_team),
]


async def concurrent(bench: Bench, concurrency: int, requests: int) -> dict[str, Any]:
    """``concurrency`` lanes doing (b) (and the ledger write between) until ``requests``."""
    samples: list[float] = []
    per_lane = max(1, requests // concurrency)

    async def lane() -> None:
        for _ in range(per_lane):
            samples.append(await bench.team_round_trip())

    t0, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return {
        "wall": time.perf_counter() - t0,
        "cpu": time.process_time() - cpu0,
        "samples": samples,
    }


async def measure(args: argparse.Namespace, url: str, folder: Path) -> dict[str, Any]:
    bench = Bench(folder / "default", url)
    # (e) with one connection per request in flight, against the default pool
    wide = Bench(folder / "wide", url, connections=args.concurrency)
    try:
        for _ in range(50):  # warm-up: connections, script load, sync, SQLite pages
            for _, _, make in VARIANTS:
                await make(bench)()
        rounds: list[dict[str, list[float]]] = []
        loads: list[float] = []
        for _ in range(args.repeat):
            samples: dict[str, list[float]] = {code: [] for code, _, _ in VARIANTS}
            for _ in range(args.requests):
                for code, _, make in VARIANTS:
                    samples[code].append(await make(bench)())
            rounds.append(samples)
            loads.append(load_average())
        await wide.team_round_trip()  # connected and synced
        together: dict[str, list[dict[str, Any]]] = {"default": [], "wide": []}
        for _ in range(args.repeat):
            for name, which in (("default", bench), ("wide", wide)):
                together[name].append(await concurrent(which, args.concurrency, args.requests))
    finally:
        await bench.aclose()
        await wide.aclose()
    pooled = {code: [x for r in rounds for x in r[code]] for code, _, _ in VARIANTS}
    per_round = {code: [median(r[code]) for r in rounds] for code, _, _ in VARIANTS}
    return {
        "samples": pooled,
        "per_round": per_round,
        "round_loads": loads,
        "concurrent": {name: pooled_runs(runs) for name, runs in together.items()},
    }


def pooled_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The (e) runs of one pool size together: summed wall and CPU time, all samples."""
    return {
        "wall": sum(r["wall"] for r in runs),
        "cpu": sum(r["cpu"] for r in runs),
        "samples": [x for r in runs for x in r["samples"]],
    }


def report(args: argparse.Namespace, data: dict[str, Any], elapsed: float) -> tuple[str, list[Any]]:
    samples: dict[str, list[float]] = data["samples"]
    p50 = {code: median(s) for code, s in samples.items()}
    spread = data["per_round"]
    rows = [
        (f"({code}) {label}", ms(p50[code]), ms(percentile(samples[code], 99)),
         f"{ms(min(spread[code]))} … {ms(max(spread[code]))}", len(samples[code]))
        for code, label, _ in VARIANTS
    ]  # fmt: skip
    team = p50["b"]
    goals = [
        {
            "goal": "team reservation + settlement round trip on loopback, median ≤ 1 ms",
            "measured": f"{team * 1000:.3f} ms (two PINGs: {p50['a0'] * 1000:.3f} ms)",
            "met": team <= GOAL,
        }
    ]
    lines = [
        "### Team budget round trip on Redis (`bench_team.py`)",
        "",
        f"Machine: {machine()}; load average {data['load'][0]:.1f} → {data['load'][1]:.1f}",
        "",
        f"Command: `{command_line()}` (took {elapsed:.0f} s); redis-server {data['redis']} on "
        "loopback, no persistence; redis-py asyncio"
        + (" with hiredis" if data["hiredis"] else " (no hiredis)")
        + ", one process.",
        "",
        f"{args.repeat} rounds × {args.requests} requests per variant, interleaved request by "
        "request (1-minute load average after each round: "
        + ", ".join(f"{x:.1f}" for x in data["round_loads"])
        + "):",
        "",
        table(["variant", "p50 ms", "p99 ms", "p50 per round ms", "n"], rows, "lrrrr"),
        "",
        table(["result", "value", "goal", ""], results(args, p50), "lrll"),
        "",
        f"(e) {args.concurrency} requests at once, each doing (b) and its ledger write in a loop; "
        f"{args.repeat} runs per pool size, interleaved:",
        "",
        table(
            ["connections", "median / p99 ms", "requests/s", "wall / CPU ms per request"],
            concurrency_rows(args, data["concurrent"]),
            "lrrr",
        ),
        "",
        "(b) is what team mode adds to a paid request's latency: `reserve` runs before the "
        "provider call, `settle` after the answer's ledger row committed (the answer waits for "
        "it). In (e) a request's time includes waiting for a connection and for the CPU: when "
        "the process's CPU time per request is about its wall time per request, the process is "
        "CPU-bound, and a request waits for the ones ahead of it whatever the pool size.",
    ]
    return "\n".join(lines), goals


def results(args: argparse.Namespace, p50: dict[str, float]) -> list[tuple[str, str, str, str]]:
    team = p50["b"]
    return [
        ("**(b) team reserve + settle, median**", f"{ms(team)} ms", "≤ 1 ms",
         verdict(team, GOAL + 1e-12)),
        ("(b) − (a0): the script's work over two bare round trips",
         f"{ms(team - p50['a0'])} ms", "", ""),
        ("(a) − (a0): redis-py's client and pool, per two commands",
         f"{ms(p50['a'] - p50['a0'])} ms", "", ""),
        ("(d1) − (d0): the team's share of the ledger transaction",
         f"{ms(p50['d1'] - p50['d0'])} ms", "", ""),
    ]  # fmt: skip


def concurrency_rows(
    args: argparse.Namespace, runs: dict[str, dict[str, Any]]
) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, size in (("default", MAX_CONNECTIONS), ("wide", args.concurrency)):
        run = runs[name]
        n = len(run["samples"])
        rows.append(
            (
                f"{size}" + (" (default)" if name == "default" else " (one per request)"),
                f"{ms(median(run['samples']))} / {ms(percentile(run['samples'], 99))}",
                f"{n / run['wall']:,.0f}",
                f"{ms(run['wall'] / n)} / {ms(run['cpu'] / n)}",
            )
        )
    return rows


def redis_version(binary: str) -> str:
    import subprocess

    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    for part in out.stdout.split():
        if part.startswith("v="):
            return part[2:]
    return "?"


async def main_async(args: argparse.Namespace) -> tuple[str, list[Any], dict[str, Any]]:
    binary = redis_server_binary()
    if binary is None:
        text = (
            "### Team budget round trip on Redis (`bench_team.py`)\n\n"
            "redis-server is **not installed** here (`apt-get install -y redis-server`): "
            "nothing measured."
        )
        return text, [], {}
    started, load = time.perf_counter(), load_average()
    with tempfile.TemporaryDirectory(prefix="magray-bench-team-") as tmp:
        server = RedisServer(Path(tmp) / "redis", binary=binary)
        with server:
            data = await measure(args, server.url, Path(tmp))
    data["load"] = [load, load_average()]
    data["redis"] = redis_version(binary)
    data["hiredis"] = HIREDIS_AVAILABLE
    text, goals = report(args, data, time.perf_counter() - started)
    raw = {
        "p50_ms": {k: median(v) * 1000 for k, v in data["samples"].items()},
        "p99_ms": {k: percentile(v, 99) * 1000 for k, v in data["samples"].items()},
        "p50_per_round_ms": {k: [x * 1000 for x in v] for k, v in data["per_round"].items()},
        "round_loads": data["round_loads"],
        "concurrent": {
            name: {
                "wall_s": run["wall"],
                "cpu_s": run["cpu"],
                "requests": len(run["samples"]),
                "p50_ms": median(run["samples"]) * 1000,
                "p99_ms": percentile(run["samples"], 99) * 1000,
            }
            for name, run in data["concurrent"].items()
        },
        "hiredis": data["hiredis"],
        "load": data["load"],
        "redis": data["redis"],
    }
    return text, goals, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (the load drifts)")
    parser.add_argument("--concurrency", type=int, default=40, help="requests at once in (e)")
    parser.add_argument("--quick", action="store_true", help="a few requests (smoke test)")
    add_loop_option(parser)
    args = parser.parse_args()
    use_loop(args.loop)
    args.quick = args.quick or is_quick()
    if args.quick:
        args.requests, args.repeat = 50, 1
    text, goals, raw = run_on_loop(main_async(args))
    path = write_result("team", text, {"goals": goals, "args": vars(args), **raw})
    print(text)
    print(f"\n(written to {path})")


if __name__ == "__main__":
    main()
