"""Gateway overhead: magray vs LiteLLM's Router vs raw aiohttp (the providers' transport).

    python bench/bench_litellm.py [--quick] [--rounds R] [--block B] [--latency S] [--chunks C]

The fake (`_fake_server.py`, its own process) answers every request after a fixed latency.
Added latency = what the client observed − that fixed latency; overhead = a variant's median −
the raw aiohttp call's median in the same mode. Variants run in blocks of B requests, rotating
raw → magray → LiteLLM → ... for R rounds, so drift on this shared machine hits all alike.
magray runs in this process; LiteLLM in `bench/.venv-litellm` (two worker processes: one with its
in-memory cache on, one off). Writes bench/results/gateway_vs_litellm.{md,json}.
"""

from __future__ import annotations

import argparse
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
    Fakes,
    LiteLLM,
    RawAiohttp,
    magray_request,
    make_gateway,
    temp_dir,
)

GOAL_OVERHEAD = 0.0003  # < 0.3 ms median over raw
GOAL_RATIO = 5.0  # LiteLLM's overhead ≥ 5× magray's
GOAL_CACHE_HIT = 0.0005  # a cache hit ≤ 0.5 ms median (issue 18)

MODES = [("non-streaming", False), ("streaming", True)]


async def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    samples: dict[str, list[float]] = {}
    rounds: dict[str, list[float]] = {}  # per-round medians
    with Fakes(args.latency, args.chunks) as fakes, LiteLLM() as ll, LiteLLM() as ll_cache:
        ll.setup(fakes, cache=False)
        ll_cache.setup(fakes, cache=True)
        raw = RawAiohttp(fakes.urls["primary"])
        plain = make_gateway(fakes, tmp)
        cached = make_gateway(fakes, tmp, cache=True)
        try:

            async def block(name: str, stream: bool, n: int) -> list[float]:
                out = []
                if name == "LiteLLM Router":
                    return list(ll.ask("latency", n=n, stream=stream)["seconds"])
                if name == "LiteLLM Router, cache hit":
                    return list(ll_cache.ask("latency", n=n, stream=stream)["seconds"])
                for _ in range(n):
                    start = time.perf_counter()
                    if name == "raw aiohttp":
                        await raw.request(stream=stream)
                    elif name == "magray":
                        await magray_request(plain, stream=stream)
                    else:  # magray, cache hit
                        outcome = await magray_request(cached, stream=stream, key="same")
                        assert outcome.cached or not out
                    out.append(time.perf_counter() - start)
                return out

            names = ["raw aiohttp", "magray", "LiteLLM Router", "magray, cache hit",
                     "LiteLLM Router, cache hit"]  # fmt: skip
            for _, stream in MODES:  # warm-up: connections, imports, the cached answers
                for name in names:
                    await block(name, stream, args.warmup)
            for _ in range(args.rounds):
                for mode, stream in MODES:
                    for name in names:
                        values = await block(name, stream, args.block)
                        key = f"{name} | {mode}"
                        samples.setdefault(key, []).extend(values)
                        rounds.setdefault(key, []).append(median(values))
        finally:
            await raw.aclose()
            await plain.aclose()
            await cached.aclose()
        return {"samples": samples, "rounds": rounds, "litellm": ll.version}


def report(args: argparse.Namespace, data: dict[str, Any], elapsed: float) -> tuple[str, dict]:
    fixed = args.latency
    samples: dict[str, list[float]] = data["samples"]
    rounds: dict[str, list[float]] = data["rounds"]

    def added(key: str) -> list[float]:
        hit = "cache hit" in key
        return [s - (0 if hit else fixed) for s in samples[key]]

    rows = []
    summary: dict[str, Any] = {}
    for mode, _ in MODES:
        raw_p50 = median(samples[f"raw aiohttp | {mode}"])
        for name in ["raw aiohttp", "magray", "LiteLLM Router", "magray, cache hit",
                     "LiteLLM Router, cache hit"]:  # fmt: skip
            key = f"{name} | {mode}"
            a = added(key)
            over = median(samples[key]) - raw_p50
            spread = [r - median(rounds[f"raw aiohttp | {mode}"]) for r in rounds[key]]
            hit = "cache hit" in name
            summary[key] = {
                "p50_added_ms": median(a) * 1000,
                "p99_added_ms": percentile(a, 99) * 1000,
                "over_raw_ms": None if hit else over * 1000,
                "n": len(a),
            }
            rows.append(
                (
                    f"{name}, {mode}",
                    f"{median(a) * 1000:.3f}",
                    f"{percentile(a, 99) * 1000:.3f}",
                    "—" if hit else f"{over * 1000:.3f}",
                    "—" if hit else f"{min(spread) * 1000:.2f} … {max(spread) * 1000:.2f}",
                )
            )
    verdicts = []
    for mode, _ in MODES:
        m = summary[f"magray | {mode}"]["over_raw_ms"]
        ll = summary[f"LiteLLM Router | {mode}"]["over_raw_ms"]
        ratio = ll / m if m > 0 else float("inf")
        hm = summary[f"magray, cache hit | {mode}"]["p50_added_ms"]
        hl = summary[f"LiteLLM Router, cache hit | {mode}"]["p50_added_ms"]
        verdicts.append(
            (
                mode,
                f"{m:.3f}",
                "**met**" if m < GOAL_OVERHEAD * 1000 else "**not met**",
                f"{ll:.2f}",
                f"{ratio:.1f}×",
                "**met**" if ratio >= GOAL_RATIO else "**not met**",
                f"{hl / hm:.1f}×" if hm > 0 else "n/a",
            )
        )
    md = [
        "### Gateway overhead: magray vs LiteLLM Router vs raw aiohttp",
        "",
        f"Machine: {machine()}. Command: `{command_line()}` (took {elapsed:.0f} s). "
        f"LiteLLM {data['litellm']} (`LITELLM_LOCAL_MODEL_COST_MAP=True`, telemetry off, own venv "
        "and process); magray and raw aiohttp in the orchestrating process.",
        "",
        f"Fake: `tests.fakes.openai.FakeOpenAI` in its own process, fixed latency "
        f"{fixed * 1000:g} ms before the first byte, {args.chunks} SSE chunks + usage when "
        f"streaming. {args.rounds} rounds × {args.block} sequential requests per variant, "
        "variants rotating block by block. Both gateways: primary → fallback secondary, 2 retries "
        "(magray's defaults; LiteLLM `num_retries=2`, `fallbacks`, `timeout=10`). "
        "Non-streaming: magray's `Gateway.run` and LiteLLM's `stream=False` (one JSON answer "
        "from the fake); streaming: magray's `Gateway.stream` (what the language server uses) "
        "and LiteLLM's `stream=True`, every chunk consumed. Without cache, LiteLLM gets a "
        "unique prompt per request; cache hits: "
        'the same request every time (LiteLLM: `litellm.Cache(type="local")`). magray\'s '
        "numbers include committing the request's ledger row before returning.",
        "",
        table(
            ["variant", "p50 added ms", "p99 added ms", "p50 over raw ms", "per-round over raw"],
            rows,
            "lrrrr",
        ),
        "",
        table(
            [
                "mode",
                "magray over raw ms",
                "< 0.3 ms",
                "LiteLLM over raw ms",
                "LiteLLM ÷ magray",
                "≥ 5×",
                "cache hit: LiteLLM ÷ magray",
            ],
            verdicts,
            "lrlrrlr",
        ),
    ]
    hit = summary["magray, cache hit | non-streaming"]["p50_added_ms"]
    goals: list[dict[str, Any]] = [
        {"goal": "cache hit through the gateway (non-streaming), median ≤ 0.5 ms",
         "measured": f"{hit:.3f} ms (LiteLLM Router's: "
                     f"{summary['LiteLLM Router, cache hit | non-streaming']['p50_added_ms']:.3f})",
         "met": hit <= GOAL_CACHE_HIT * 1000},
    ]  # fmt: skip
    for mode, _ in MODES:
        m = summary[f"magray | {mode}"]["over_raw_ms"]
        ll = summary[f"LiteLLM Router | {mode}"]["over_raw_ms"]
        goals += [
            {"goal": f"gateway overhead (over raw aiohttp, {mode}) median < 0.3 ms",
             "measured": f"{m:.3f} ms", "met": m < GOAL_OVERHEAD * 1000},
            {"goal": f"gateway overhead ≥ 5× lower than LiteLLM Router's ({mode})",
             "measured": f"{ll / m:.1f}× ({ll:.2f} vs {m:.3f} ms)" if m > 0 else "n/a",
             "met": m <= 0 or ll / m >= GOAL_RATIO},
        ]  # fmt: skip
    return "\n".join(md), {"goals": goals, "summary": summary, "raw": data, "args": vars(args)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few requests (smoke test)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--block", type=int, default=100, help="requests per variant per round")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.02, help="the fake's fixed latency")
    parser.add_argument("--chunks", type=int, default=20)
    add_loop_option(parser)
    args = parser.parse_args()
    use_loop(args.loop)
    if args.quick or is_quick():
        args.rounds, args.block, args.warmup = 1, 5, 2
    started = time.perf_counter()
    with temp_dir() as tmp:
        data = run_on_loop(measure(args, Path(tmp)))
    md, js = report(args, data, time.perf_counter() - started)
    path = write_result("gateway_vs_litellm", md, js)
    print(md)
    print(f"\n(written to {path})")


if __name__ == "__main__":
    main()
