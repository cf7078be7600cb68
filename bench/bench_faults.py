"""Fault recovery: the primary fails every request for 10 s, then recovers.

    python bench/bench_faults.py [--quick] [--outage S] [--after S] [--repeat R]

Back-to-back requests (one at a time) run from 1 s before the outage until ``--after`` seconds
after it ends, through: magray with its circuit breaker (5 consecutive failures open it for 10 s,
then one probe), magray without it, LiteLLM's Router with cooldowns (`allowed_fails=5`,
`cooldown_time=10`) and without (`disable_cooldowns=True`). Both gateways fall back from the
primary to the secondary after 2 retries on the primary, each with its default backoff.

Per scenario: requests during the outage, how many succeeded, the latency of those (time to a
fallback answer: p50/p99; the fake adds a fixed latency to every answer), and recovery time =
from the end of the outage until the first answer from the primary again, and until the primary
answers every request from then on. Writes bench/results/faults.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from _common import (
    add_loop_option,
    command_line,
    is_quick,
    machine,
    median,
    percentile,
    run_on_loop,
    table,
    use_loop,
    write_result,
)
from _compare import (
    PRIMARY_MODEL,
    Fakes,
    LiteLLM,
    magray_request,
    make_gateway,
    temp_dir,
)

Sample = list[Any]  # [monotonic start, latency s, model that answered, error]


async def magray_run(fakes: Fakes, tmp: Path, breaker: bool, until: float) -> list[Sample]:
    gateway = make_gateway(fakes, tmp, breaker=breaker)
    out: list[Sample] = []
    try:
        while time.monotonic() < until:
            t0 = time.monotonic()
            try:
                outcome = await magray_request(gateway, stream=False)
                model, err = outcome.ref.model, ""
            except Exception as exc:
                model, err = "", type(exc).__name__
            out.append([t0, time.monotonic() - t0, model, err])
    finally:
        await gateway.aclose()
    return out


def analyse(samples: list[Sample], start: float, end: float, latency: float) -> dict[str, Any]:
    # every request the outage touched: started in it, or started before and still running
    during = [s for s in samples if s[0] < end and s[0] + s[1] > start]
    ok = [s for s in during if not s[3]]
    lat = [s[1] for s in ok]
    # answered by the primary after the outage ended (by the time its answer arrived)
    primary_after = [s for s in samples if s[0] + s[1] >= end and s[2].startswith(PRIMARY_MODEL)]
    first = min((s[0] + s[1] for s in primary_after), default=None)
    after = [s for s in samples if s[0] >= end]
    steady = None
    for index in range(len(after)):  # from here on, the primary answers every request
        if all(s[2].startswith(PRIMARY_MODEL) and not s[3] for s in after[index:]):
            steady = after[index][0] + after[index][1]
            break
    return {
        "requests_during": len(during),
        "ok_during": len(ok),
        "fallback_p50_ms": median(lat) * 1000 if lat else None,
        "fallback_p99_ms": percentile(lat, 99) * 1000 if lat else None,
        "fallback_max_ms": max(lat) * 1000 if lat else None,
        "recovery_first_s": None if first is None else first - end,
        "recovery_steady_s": None if steady is None else steady - end,
        "requests_after": len(after),
        "fixed_latency_ms": latency * 1000,
        # each request: start (s from the outage's start), latency ms, who answered, error
        "samples": [
            [round(s[0] - start, 4), round(s[1] * 1000, 2), s[2][:12], s[3]] for s in samples
        ],
    }


async def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    results: dict[str, list[dict[str, Any]]] = {}
    with Fakes(args.latency, args.chunks) as fakes, LiteLLM() as ll:
        for _ in range(args.repeat):
            for name in ("magray, breaker", "magray, no breaker", "LiteLLM Router, cooldowns",
                         "LiteLLM Router, no cooldowns"):  # fmt: skip
                total = args.lead + args.outage + args.after
                window: dict[str, float] = {}

                def outage(window: dict[str, float] = window) -> None:
                    window["start"] = time.monotonic()
                    window["end"] = fakes.fail("primary", args.outage)

                loop = asyncio.get_running_loop()
                if name.startswith("LiteLLM"):
                    ll.setup(fakes, cache=False, cooldown=name.endswith(", cooldowns"))
                    ll.ask("run_for", seconds=0.5, stream=False)  # warm-up
                    loop.call_later(args.lead, outage)
                    answer = await asyncio.to_thread(ll.ask, "run_for", seconds=total, stream=False)
                    samples = answer["requests"]
                else:
                    loop.call_later(args.lead, outage)
                    breaker = name == "magray, breaker"
                    samples = await magray_run(fakes, tmp, breaker, time.monotonic() + total)
                result = analyse(samples, window["start"], window["end"], args.latency)
                results.setdefault(name, []).append(result)
                await asyncio.sleep(1.0)  # let the fake's outage be over for the next scenario
    return {"results": results, "litellm": ll.version}


def fmt(value: float | None, unit: str = "") -> str:
    return "never" if value is None else f"{value:.2f}{unit}"


def report(args: argparse.Namespace, data: dict[str, Any], elapsed: float) -> tuple[str, dict]:
    rows = []
    for name, runs in data["results"].items():

        def med(key: str, runs: list[dict[str, Any]] = runs) -> float | None:
            values = [r[key] for r in runs if r[key] is not None]
            return median(values) if len(values) == len(runs) else None

        rows.append(
            (
                name,
                f"{med('ok_during'):.0f} / {med('requests_during'):.0f}",
                fmt(med("fallback_p50_ms")),
                fmt(med("fallback_p99_ms")),
                fmt(med("recovery_first_s"), " s"),
                fmt(med("recovery_steady_s"), " s"),
            )
        )
    md = [
        f"### Fault recovery: the primary fails 100% for {args.outage:g} s, then recovers",
        "",
        f"Machine: {machine()}. Command: `{command_line()}` (took {elapsed:.0f} s). "
        f"LiteLLM {data['litellm']}.",
        "",
        f"One request at a time, back to back, from {args.lead:g} s before the outage until "
        f'{args.after:g} s after it. "In outage": every request the outage touched (started '
        "in it, or before it and still running). The fake answers after a fixed "
        f"{args.latency * 1000:g} ms; "
        "in the outage the primary answers HTTP 500 at once. Both: primary → secondary after 2 "
        "retries on the primary, each with its default backoff (magray: exponential from "
        "0.5 s with jitter; LiteLLM's own). Breaker / cooldown: 5 failures, 10 s. "
        f"Medians of {args.repeat} run(s).",
        "",
        table(
            [
                "scenario",
                "ok / requests in outage",
                "time to answer in outage p50 ms",
                "p99 ms",
                "recovery: first primary answer",
                "recovery: primary answers all",
            ],
            rows,
            "lrrrrr",
        ),
    ]
    return "\n".join(md), {"results": data, "args": vars(args)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--outage", type=float, default=10.0)
    parser.add_argument("--after", type=float, default=25.0, help="seconds observed after it")
    parser.add_argument("--lead", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--chunks", type=int, default=5)
    add_loop_option(parser)
    args = parser.parse_args()
    use_loop(args.loop)
    if args.quick or is_quick():
        args.outage, args.after, args.lead, args.repeat = 1.0, 1.0, 0.3, 1
    started = time.perf_counter()
    with temp_dir() as tmp:
        data = run_on_loop(measure(args, Path(tmp)))
    md, js = report(args, data, time.perf_counter() - started)
    path = write_result("faults", md, js)
    print(md)
    print(f"\n(written to {path})")


if __name__ == "__main__":
    main()
