"""Throughput: N requests at concurrency 1, 10, 100 against a fake with a fixed 50 ms latency.

    python bench/bench_throughput.py [--quick] [--requests N] [--requests-c1 N1] [--repeat R]
                                     [--profile N] [--profile-only] [--loop uvloop|asyncio]
                                     [--gc-young N]

For each concurrency: raw aiohttp (the client magray's providers use), raw httpx (on the aiohttp
transport: the providers' wire stack before issue 18, and LiteLLM's), magray's `Gateway.run` and
LiteLLM's Router (`acompletion`, stream=False, in its own venv and process) each send N requests
with that many workers; wall time vs the ideal, latency-bound time ``N / concurrency × latency``,
and the CPU time this process spent per request (LiteLLM's: its worker's), and how much of it
the garbage collector took (its collections timed on the thread that ran them). The in-process
clients run on the loop `magray-lsp` runs on (uvloop where installed; ``--loop`` picks one), and
raw aiohttp and magray run again on the other loop, each right after its first run, so both
loops are measured in the same rotation: raw aiohttp → raw aiohttp (other loop) → raw httpx →
magray → magray (other loop) → LiteLLM, for R repeats; the table shows medians. Concurrency 1
uses N1 requests (default 500: 2,000 would take 100 s per run at 50 ms).
Writes bench/results/throughput.{md,json}.

``--profile N``: afterwards, N more magray requests at the highest concurrency under cProfile
(the event loop's thread; the ledger writer's thread is not profiled), reported as the top
functions by self time per request and the self time per package. cProfile slows Python calls
down, so these are shares, not the CPU ms above. ``--profile-only`` skips the comparison.

``--gc-young N``: the collector's first threshold for the run instead of the one `magray-lsp`
sets (`event_loop.pace_gc`); ``--gc-young 700`` measures at CPython's default pace.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import threading
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

from _common import (
    add_loop_option,
    command_line,
    current_loop,
    is_quick,
    machine,
    median,
    other_loop,
    run_on_loop,
    table,
    use_loop,
    write_result,
)
from _compare import Fakes, LiteLLM, Raw, RawAiohttp, magray_request, make_gateway, temp_dir

from magray_lsp.gateway import Gateway

GOAL = 1.5  # magray at concurrency 100 within 1.5× of ideal (issue 18)


CLIENTS = ("raw aiohttp", "raw httpx", "magray", "LiteLLM Router")
#: the clients measured a second time on the other event loop (uvloop's and asyncio's side by side)
OTHER_LOOP_CLIENTS = ("raw aiohttp", "magray")
#: LiteLLM runs in its own venv and process, on asyncio's loop (uvloop is not installed there)
LITELLM_LOOP = "asyncio"


class GcClock:
    """The CPU time the garbage collector takes (on any thread) while installed: each collection
    timed by `gc.callbacks` with the CPU clock of the thread that runs it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started: dict[int, float] = {}

    def _callback(self, phase: str, _info: dict[str, Any]) -> None:
        thread = threading.get_ident()
        if phase == "start":
            self._started[thread] = time.thread_time()
        elif thread in self._started:
            self.seconds += time.thread_time() - self._started.pop(thread)

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._callback)


async def drive(n: int, concurrency: int, one: Any) -> tuple[float, float, int, float]:
    """(wall seconds, this process's CPU seconds, errors, the garbage collector's share of that
    CPU in seconds) for n requests from that many workers."""
    left, errors = n, 0

    async def worker() -> None:
        nonlocal left, errors
        while left > 0:
            left -= 1
            try:
                await one()
            except Exception:
                errors += 1

    with GcClock() as collector:
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall, cpu, errors, collector.seconds


def key(name: str, loop: str, concurrency: int, main_loop: str) -> str:
    """A cell's key: ``magray | 100`` on the main loop, ``magray on asyncio | 100`` on the other."""
    return f"{name} | {concurrency}" if loop == main_loop else f"{name} on {loop} | {concurrency}"


def cells(main_loop: str, other: str | None) -> list[tuple[str, str]]:
    """(client, loop) in the order each repeat runs them: a client on the other loop right
    after the same client on the main one."""
    out = []
    for name in CLIENTS:
        if name == "LiteLLM Router":
            out.append((name, LITELLM_LOOP))
            continue
        out.append((name, main_loop))
        if other is not None and name in OTHER_LOOP_CLIENTS:
            out.append((name, other))
    return out


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Every cell, repeats interleaved. Each event loop has its own ``asyncio.Runner`` and its own
    clients and gateway; a loop is stopped (its connections kept) while the other one runs."""
    main, other = current_loop(), other_loop()
    loops = {c.name: c for c in (main, other) if c is not None}
    order = cells(main.name, other.name if other else None)
    runs: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    gc_cpu: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    ledger_batches: dict[str, float] = {}
    with Fakes(args.latency, args.chunks) as fakes, LiteLLM() as ll, ExitStack() as stack:
        ll.setup(fakes, cache=False)
        runners = {n: stack.enter_context(asyncio.Runner(loop_factory=c.factory))
                   for n, c in loops.items()}  # fmt: skip
        raws = {n: r.run(open_raw(fakes.urls["primary"])) for n, r in runners.items()}
        for n, (raw, bare) in raws.items():  # closed before their runner (the stack is LIFO)
            stack.callback(runners[n].run, close_raw(raw, bare))
        for concurrency in args.concurrency:
            n = args.requests_c1 if concurrency == 1 else args.requests
            # sized like LiteLLM's pool: every worker gets its own connection
            gateways = {
                name: runner.run(open_gateway(fakes, tmp, max(64, concurrency)))
                for name, runner in runners.items()
            }
            try:
                ours = {}
                for name, loop in order:
                    raw, bare = raws.get(loop, (None, None))
                    if name == "raw aiohttp":
                        ours[name, loop] = partial(bare.request, stream=False)
                    elif name == "raw httpx":
                        ours[name, loop] = partial(raw.request, stream=False)
                    elif name == "magray":
                        ours[name, loop] = partial(magray_request, gateways[loop], stream=False)
                for (_, loop), one in ours.items():  # warm-up: connections, imports, caches
                    runners[loop].run(drive(min(n, 50), concurrency, one))
                ll.ask("throughput", n=min(n, 50), concurrency=concurrency, stream=False)
                writer = gateways[main.name].writer
                writes0, batches0 = writer.writes, writer.batches
                for _ in range(args.repeat):
                    for name, loop in order:
                        cell = key(name, loop, concurrency, main.name)
                        if (name, loop) in ours:
                            seconds, spent, err, collecting = runners[loop].run(
                                drive(n, concurrency, ours[name, loop])
                            )
                            gc_cpu.setdefault(cell, []).append(collecting / n)
                        else:
                            answer = ll.ask(
                                "throughput", n=n, concurrency=concurrency, stream=False
                            )
                            seconds, spent = answer["seconds"], answer.get("cpu", 0.0)
                            err = answer["errors"]
                        runs.setdefault(cell, []).append(seconds)
                        cpu.setdefault(cell, []).append(spent / n)
                        errors[cell] = errors.get(cell, 0) + err
                batches = writer.batches - batches0
                ledger_batches[str(concurrency)] = (
                    (writer.writes - writes0) / batches if batches else 0.0
                )
            finally:
                for name, gateway in gateways.items():
                    runners[name].run(gateway.aclose())
    return {"runs": runs, "cpu": cpu, "gc_cpu": gc_cpu, "errors": errors,
            "rows_per_commit": ledger_batches, "gc_threshold": gc.get_threshold(),
            "litellm": ll.version, "main_loop": main.name, "loop": main.label,
            "other_loop": other and (other.label if other.name == "uvloop" else "asyncio's loop"),
            "cells": order}  # fmt: skip


async def open_raw(url: str) -> tuple[Raw, RawAiohttp]:
    """The two raw clients, made on the loop that will run them."""
    return Raw(url), RawAiohttp(url)


async def close_raw(raw: Raw, bare: RawAiohttp) -> None:
    await raw.aclose()
    await bare.aclose()


async def open_gateway(fakes: Fakes, tmp: Path, concurrency: int) -> Gateway:
    return make_gateway(fakes, tmp, concurrency=concurrency)


#: Where a function's file lives → the layer its self time is counted under.
LAYERS = (
    ("magray_lsp/", "magray_lsp"),
    ("aiohttp/", "aiohttp"),
    ("yarl/", "yarl + multidict"),
    ("multidict/", "yarl + multidict"),
    ("asyncio/", "asyncio"),
    ("json/", "json"),
    ("sqlite3/", "sqlite3"),
)


def layer(filename: str) -> str:
    for part, name in LAYERS:
        if part in filename:
            return name
    return "builtins (C)" if filename == "~" else "other Python"


async def profile_magray(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """cProfile over `args.profile` magray requests at the highest concurrency."""
    set_young(args.gc_young)  # again: `run_on_loop` set magray's pace
    concurrency, n = max(args.concurrency), args.profile
    with Fakes(args.latency, args.chunks) as fakes:
        gateway = make_gateway(fakes, tmp, concurrency=max(64, concurrency))
        one = partial(magray_request, gateway, stream=False)
        try:
            await drive(min(n, 200), concurrency, one)  # warm-up
            profiler = cProfile.Profile()
            profiler.enable()
            _, _, errors, _ = await drive(n, concurrency, one)
            profiler.disable()
        finally:
            await gateway.aclose()
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    functions = []
    layers: dict[str, float] = {}
    for (filename, line, name), (_cc, calls, self_time, _cum, _callers) in raw.items():
        layers[layer(filename)] = layers.get(layer(filename), 0.0) + self_time
        where = filename.split("site-packages/")[-1].split("server/")[-1]
        functions.append((self_time, calls, f"{where}:{line}({name})"))
    functions.sort(reverse=True)
    return {
        "concurrency": concurrency,
        "requests": n,
        "errors": errors,
        "total_ms": total * 1000 / n,
        "functions": [
            {"function": f, "self_ms": t * 1000 / n, "calls": c / n, "share": t / total}
            for t, c, f in functions[: args.profile_top]
        ],
        "layers": {k: v * 1000 / n for k, v in sorted(layers.items(), key=lambda kv: -kv[1])},
    }


def profile_report(prof: dict[str, Any]) -> list[str]:
    total = prof["total_ms"]
    return [
        "",
        f"#### Where magray's CPU goes at concurrency {prof['concurrency']} (cProfile)",
        "",
        f"{prof['requests']} `Gateway.run` requests under cProfile ({prof['errors']} errors), "
        f"event-loop thread only; {total:.3f} ms self time per request under the profiler "
        "(cProfile inflates Python calls: read the shares).",
        "",
        table(
            ["layer", "self ms/request", "share"],
            [(k, f"{v:.3f}", f"{v / total:.0%}") for k, v in prof["layers"].items()],
            "lrr",
        ),
        "",
        table(
            ["function", "self ms/request", "calls/request", "share"],
            [
                (
                    f"`{f['function']}`",
                    f"{f['self_ms']:.4f}",
                    f"{f['calls']:.1f}",
                    f"{f['share']:.1%}",
                )
                for f in prof["functions"]
            ],
            "lrrr",
        ),
    ]


def report(args: argparse.Namespace, data: dict[str, Any], elapsed: float) -> tuple[str, dict]:
    rows, summary = [], {}
    main_loop = data["main_loop"]
    for concurrency in args.concurrency:
        n = args.requests_c1 if concurrency == 1 else args.requests
        ideal = n / concurrency * args.latency
        for name, loop in data["cells"]:
            cell = key(name, loop, concurrency, main_loop)
            values = data["runs"][cell]
            wall = median(values)
            per_request = median(data["cpu"][cell]) * 1000
            collecting = data["gc_cpu"].get(cell)
            gc_ms = median(collecting) * 1000 if collecting else None
            summary[cell] = {"seconds": wall, "ideal": ideal, "ratio": wall / ideal, "runs": values,
                             "cpu_ms": per_request, "gc_ms": gc_ms, "loop": loop}  # fmt: skip
            goal = ""
            if name == "magray" and loop == main_loop and concurrency == 100:
                goal = "**met**" if wall / ideal <= GOAL else "**not met**"
            rows.append(
                (
                    concurrency,
                    n,
                    name,
                    loop if name != "LiteLLM Router" else f"{loop} (own process)",
                    f"{wall:.2f}",
                    f"{min(values):.2f} … {max(values):.2f}",
                    f"{ideal:.2f}",
                    f"{wall / ideal:.2f}×",
                    f"{n / wall:.0f}",
                    f"{per_request:.3f}",
                    "—" if gc_ms is None else f"{gc_ms:.3f}",
                    data["errors"][cell],
                    goal,
                )
            )
    batches = ", ".join(f"c={c}: {v:.1f}" for c, v in data["rows_per_commit"].items() if v)
    rotation = " → ".join(
        name if name == "LiteLLM Router" else f"{name} ({loop})" for name, loop in data["cells"]
    )
    other = (
        f"raw aiohttp and magray also run on {data['other_loop']}, each beside its run on "
        f"{main_loop}, in the same process (one `asyncio.Runner` per loop, each with its own "
        "clients and gateway)"
        if data["other_loop"]
        else f"the other event loop is not available here, so every in-process client is on "
        f"{main_loop}"
    )
    md = [
        "### Throughput: magray vs LiteLLM Router vs the latency-bound ideal",
        "",
        f"Machine: {machine()}. Command: `{command_line()}` (took {elapsed:.0f} s). "
        f"LiteLLM {data['litellm']}.",
        "",
        f"Fake with a fixed {args.latency * 1000:g} ms latency, in its own process; every client "
        "sends `stream=False` (magray: `Gateway.run`). Ideal = requests ÷ concurrency × latency. "
        f"Event loops: the in-process clients run on {data['loop']} (what `magray-lsp` runs on "
        f"here; `--loop` picks another); {other}; LiteLLM runs on asyncio's loop in its own "
        f"process. Median of {args.repeat} runs per cell, rotating {rotation}. "
        "CPU ms/request: the client process's CPU time (all its threads) ÷ requests — "
        "on 2 cores shared with the fake, a client needing c ms of CPU per request cannot "
        "exceed about 1000 ÷ c requests/s. GC ms/request: the part of it the garbage collector "
        f"took, at `{fmt_threshold(data['gc_threshold'])}` (`magray-lsp` sets 10000 for the first "
        "one, `event_loop.pace_gc`; `--gc-young` changes it). magray's provider concurrency "
        "(`max_concurrency`) is "
        "set to max(64, concurrency); each request's ledger row is committed before it returns "
        f"(ledger rows per commit, group commit, on {main_loop}: {batches}).",
        "",
        table(
            [
                "concurrency",
                "requests",
                "client",
                "event loop",
                "wall s",
                "range s",
                "ideal s",
                "× ideal",
                "req/s",
                "CPU ms/request",
                "GC ms/request",
                "errors",
                f"goal ≤ {GOAL:g}×",
            ],
            rows,
            "rrllrrrrrrrrl",
        ),
    ]
    goals = []
    if "magray | 100" in summary:
        ratio = summary["magray | 100"]["ratio"]
        raw = summary["raw httpx | 100"]["ratio"]
        bare = summary["raw aiohttp | 100"]["ratio"]
        also = ""
        if f"magray on {(other_name := other_loop_name(data))} | 100" in summary:
            theirs = summary[f"magray on {other_name} | 100"]["ratio"]
            bare_theirs = summary[f"raw aiohttp on {other_name} | 100"]["ratio"]
            also = f"; on {other_name}: magray {theirs:.2f}×, raw aiohttp {bare_theirs:.2f}×"
        goals.append(
            {"goal": f"throughput at concurrency 100 within {GOAL:g}× of ideal",
             "measured": f"{ratio:.2f}× on {main_loop} (raw httpx {raw:.2f}×, raw aiohttp "
                         f"{bare:.2f}×{also})",
             "met": ratio <= GOAL}
        )  # fmt: skip
    return "\n".join(md), {"goals": goals, "summary": summary, "raw": data, "args": vars(args)}


def set_young(threshold: int | None) -> None:
    """``--gc-young``: the collector's first threshold (None: leave it as it is)."""
    if threshold is not None:
        gc.set_threshold(threshold, *gc.get_threshold()[1:])


def fmt_threshold(threshold: Any) -> str:
    return "gc.set_threshold(" + ", ".join(str(t) for t in threshold) + ")"


def other_loop_name(data: dict[str, Any]) -> str:
    return next((loop for _, loop in data["cells"] if loop != data["main_loop"]), "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--requests-c1", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--chunks", type=int, default=5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="then profile N magray requests at the highest concurrency",
    )
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument(
        "--profile-only",
        action="store_true",
        help="only the profile (printed; no result files written)",
    )
    parser.add_argument(
        "--gc-young",
        type=int,
        metavar="N",
        help="the garbage collector's first threshold (default: magray-lsp's; CPython's is 700)",
    )
    add_loop_option(parser)
    args = parser.parse_args()  # fmt: skip
    use_loop(args.loop)
    set_young(args.gc_young)
    if args.quick or is_quick():
        args.requests, args.requests_c1, args.repeat = 100, 10, 1
    started = time.perf_counter()
    with temp_dir() as tmp:
        if args.profile_only:
            prof = run_on_loop(profile_magray(args, Path(tmp)))
            print("\n".join(profile_report(prof)))
            return
        data = measure(args, Path(tmp))
        prof = run_on_loop(profile_magray(args, Path(tmp))) if args.profile else None
    md, js = report(args, data, time.perf_counter() - started)
    if prof is not None:
        md += "\n" + "\n".join(profile_report(prof))
        js["profile"] = prof
    path = write_result("throughput", md, js)
    print(md)
    print(f"\n(written to {path})")


if __name__ == "__main__":
    main()
