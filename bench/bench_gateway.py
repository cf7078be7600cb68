"""Benchmark what the gateway adds to a provider call, against the loopback OpenAI fake.

    python bench/bench_gateway.py [--requests N] [--repeat R] [--chunks C] [--fake-in-process]
                                  [--month-days D] [--budget USD]

Per request, sequentially, after a warm-up, interleaved request by request (a, a′, b, c, ...)
so that drift on a shared machine hits every variant alike.

Non-streaming (the issue's goal: one JSON answer per request):
  e) raw POST with httpx on the aiohttp transport, the JSON body read fully
  e′) the same POST with aiohttp alone
  f) `OpenAIProvider.generate(stream=False)`
  g) `Gateway.run`, cache disabled
  g₀) the same with the ledger commit stubbed out (not a product path: the answer is then
     acknowledged without its row): (g₀) − (f) is the gateway's own Python on the answer's path
  h) `Gateway.run`, cache hit (same key every time)
Streaming (as the language server asks; for information):
  a) raw httpx (aiohttp transport), SSE read fully; a′) the same with aiohttp alone
  b) `OpenAIProvider.generate`
  c) `Gateway.stream` with no cache (and, for reference, c′) with the cache on and a unique key:
     its answer's disk write, which runs after the answer was returned, is awaited between
     requests, untimed); d) a cache hit through `Gateway.stream` (same key)
The overhead is measured over the raw client with the providers' own transport (`TRANSPORT`).
Then the wall-clock time of each gateway phase during real requests, and a cProfile of (g), (c)
and (h).
Goals (issue 18): gateway overhead ≤ 0.3 ms median over the raw transport (non-streaming),
cache hit ≤ 0.5 ms.

`--month-days D` starts the gateways' ledgers with D days of history (a row per hour, model
and action, ending now), as a ledger some days into a month: what the budget status after each
commit used to re-sum grows with it. `--budget USD` sets a hard monthly budget: each paid
request then reserves first (one more transaction, which checks the month's spend).

The fake runs in a child process by default, so its request handling does not compete with the
client for this process's GIL (`--fake-in-process` runs it in a thread here instead).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import pstats
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import (
    add_loop_option,
    command_line,
    fake_openai,
    is_quick,
    machine,
    median,
    ms,
    percentile,
    run_on_loop,
    setup_path,
    table,
    use_loop,
    write_result,
)

setup_path()

from _compare import Raw, RawAiohttp  # noqa: E402

from magray_lsp.cache import ResponseCache  # noqa: E402
from magray_lsp.catalog import Catalog  # noqa: E402
from magray_lsp.config.loader import load_config  # noqa: E402
from magray_lsp.config.models import CacheConfig  # noqa: E402
from magray_lsp.cost.ledger import Ledger, LedgerEntry, LedgerTx  # noqa: E402
from magray_lsp.cost.writer import LedgerWriter  # noqa: E402
from magray_lsp.gateway import Gateway, Outcome  # noqa: E402
from magray_lsp.gateway.caching import CachedRuns  # noqa: E402
from magray_lsp.gateway.rows import LedgerRows  # noqa: E402
from magray_lsp.gateway.spending import Spending  # noqa: E402
from magray_lsp.gateway.windows import ContextWindows  # noqa: E402
from magray_lsp.providers.base import ChatRequest, Completion  # noqa: E402
from magray_lsp.providers.openai import OpenAIProvider  # noqa: E402
from magray_lsp.routing.router import Router  # noqa: E402
from magray_lsp.task import Task  # noqa: E402

GOAL_OVERHEAD = 0.0003
GOAL_CACHE_HIT = 0.0005
#: The providers' HTTP client, which the overhead goal is measured over: "httpx" (httpx on the
#: aiohttp transport) or "aiohttp" (aiohttp alone). Both raw rows are measured either way.
TRANSPORT = "aiohttp"
MODEL = "gpt-4o-mini"
API_KEY = "sk-bench"


def settings(base_url: str, budget: str | None = None) -> dict[str, Any]:
    """As tests/unit/gateway/conftest.py, with OpenAI only and the local model disabled (and a
    hard monthly ``budget``: each paid request then reserves, in a transaction of its own)."""
    return {
        **({"budget": {"monthly_usd": budget}} if budget else {}),
        "llm": {
            "openai": {
                "api_key": API_KEY,
                "base_url": base_url,
                "timeout_seconds": 10,
                "models": {"default": MODEL},
                "prices": {MODEL: {"input_per_mtok": "1", "output_per_mtok": "2"}},
                "max_concurrency": 64,
            },
            "local": {"enabled": False},
        },
        "routing": {"default": "openai.default"},
        "retry": {"max_attempts": 3, "base_delay_seconds": 0.001, "max_delay_seconds": 0.01},
    }


def make_task(key: str = "") -> Task:
    return Task(
        action="explain",
        system="You explain code.",
        prompt="def add(a, b):\n    return a + b\n",
        language="python",
        unit="add",
        context_tokens=120,
        max_output_tokens=200,
        cache_key=key,
        source_path="bench.py",
    )


def raw_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """What OpenAIProvider sends for `request` (same fields, same order)."""
    body: dict[str, Any] = {
        "max_tokens": request.max_tokens,
        "model": request.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
    }
    if request.prompt_cache_key:
        body["prompt_cache_key"] = request.prompt_cache_key
    body["stream"] = stream
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


Sampler = Callable[[], Awaitable[object]]


async def sample(fn: Sampler, n: int, after: Sampler | None = None) -> list[float]:
    """n timings of ``fn``; ``after`` runs between two calls, untimed."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - start)
        if after is not None:
            await after()
    return out


def ledger_with_history(path: Path, days: int) -> Ledger:
    """A ledger with a row per hour, model and action over the last ``days`` days."""
    ledger = Ledger(path)
    now = time.time()

    def fill(tx: LedgerTx) -> None:
        for hour in range(days * 24):
            for model in ("gpt-4o-mini", "gpt-4o", "o3-mini"):
                for action in ("explain", "fix"):
                    entry = LedgerEntry(
                        ts=now - hour * 3600.0,
                        workspace="b",
                        action=action,
                        provider="openai",
                        model=model,
                        input_tokens=900,
                        output_tokens=120,
                        cost_usd=Decimal("0.0002"),
                        latency_ms=800.0,
                    )
                    tx.record(entry)

    if days:
        ledger.write(fill)
    return ledger


class Bench:
    def __init__(
        self, base_url: str, tmp: Path, month_days: int = 0, budget: str | None = None
    ) -> None:
        loaded = load_config(settings=settings(base_url, budget), env={}, include_user=False)
        self.loaded = loaded
        self.tmp = tmp
        # Each variant gets its own client pool (own keep-alive connection), as in the product.
        self.nocache = Gateway(
            Catalog(loaded),
            ledger=ledger_with_history(tmp / "l1.sqlite3", month_days),
            workspace="b",
        )
        # (g₀): the path of (g) without its ledger transaction, to see what the rest costs
        self.uncommitted = Gateway(
            Catalog(loaded), ledger=Ledger(tmp / "l0.sqlite3"), workspace="b"
        )
        self.uncommitted.rows.commit = _no_commit  # type: ignore[method-assign]
        self.cached = Gateway(
            Catalog(loaded),
            ledger=ledger_with_history(tmp / "l2.sqlite3", month_days),
            cache=ResponseCache(CacheConfig(dir=str(tmp / "cache"))),
            workspace="b",
        )
        self.task = make_task()
        self.ref = self.nocache.plan(self.task).primary.ref
        self.request = self.nocache.request_for(self.task, self.ref)
        self.provider = OpenAIProvider("openai", loaded.config.llm["openai"])
        # the raw clients of the LiteLLM comparison (`_compare.py`), posting the provider's body
        self.httpx = Raw(base_url)
        self.aiohttp = RawAiohttp(base_url)
        self.sse_body = raw_body(self.request, stream=True)
        self.json_body = raw_body(self.request, stream=False)
        self.hit_task = make_task("the-same-key")

    async def raw(self) -> None:
        await self.httpx.post(self.sse_body)

    async def raw_aiohttp(self) -> None:
        await self.aiohttp.post(self.sse_body)

    async def raw_json(self) -> None:
        await self.httpx.post(self.json_body)

    async def raw_json_aiohttp(self) -> None:
        await self.aiohttp.post(self.json_body)

    async def via_provider(self) -> None:
        async for _ in self.provider.generate(self.request, stream=True):
            pass

    async def via_provider_json(self) -> None:
        async for _ in self.provider.generate(self.request, stream=False):
            pass

    # `Gateway.run`: the provider asked for one whole (non-streamed) answer
    async def run(self) -> None:
        outcome = await self.nocache.run(self.task)
        assert not outcome.cached

    async def run_uncommitted(self) -> None:
        outcome = await self.uncommitted.run(self.task)
        assert not outcome.cached

    async def run_hit(self) -> None:
        outcome = await self.cached.run(self.hit_task)
        assert outcome.cached

    # `Gateway.stream`, every event consumed: what the language server does (`run` would ask
    # the provider for one non-streamed answer, not comparable with (a)).
    async def via_gateway(self) -> None:
        await drain(self.nocache, self.task)

    async def via_gateway_miss(self) -> None:
        await drain(self.cached, make_task(uuid.uuid4().hex))

    async def cache_hit(self) -> None:
        outcome = await drain(self.cached, self.hit_task)
        assert outcome.cached

    async def aclose(self) -> None:
        await self.httpx.aclose()
        await self.aiohttp.aclose()
        await self.provider.aclose()
        await self.nocache.aclose()
        await self.uncommitted.aclose()
        await self.cached.aclose()


async def _no_commit(*_: object) -> None:
    """`LedgerRows.commit` for (g₀): the row is built, never written."""


async def drain(gateway: Gateway, task: Task) -> Outcome:
    outcome = None
    async for event in gateway.stream(task):
        outcome = event
    assert isinstance(outcome, Outcome)
    return outcome


VARIANTS = [
    ("e", "raw httpx (aiohttp transport), one JSON answer", "raw_json"),
    ("e′", "raw aiohttp, one JSON answer", "raw_json_aiohttp"),
    ("f", "OpenAIProvider.generate(stream=False)", "via_provider_json"),
    ("g", "Gateway.run, cache disabled", "run"),
    ("g₀", "Gateway.run, cache disabled, ledger commit stubbed out", "run_uncommitted"),
    ("h", "Gateway.run, cache hit", "run_hit"),
    ("a", "raw httpx (aiohttp transport), SSE read fully", "raw"),
    ("a′", "raw aiohttp, SSE read fully", "raw_aiohttp"),
    ("b", "OpenAIProvider.generate (streamed)", "via_provider"),
    ("c", "Gateway.stream, cache disabled", "via_gateway"),
    ("c′", "Gateway.stream, cache on, miss (unique key)", "via_gateway_miss"),
    ("d", "Gateway.stream, cache hit", "cache_hit"),
]
RAW = {"e", "e′", "a", "a′"}
STREAMED = {"a", "a′", "b", "c", "c′", "d"}
#: the raw rows each overhead is taken over: the providers' transport (`TRANSPORT`)
JSON_BASE, SSE_BASE = ("e", "a") if TRANSPORT == "httpx" else ("e′", "a′")


async def measure(bench: Bench, requests: int, repeat: int) -> dict[str, list[list[float]]]:
    rounds: dict[str, list[list[float]]] = {code: [] for code, _, _ in VARIANTS}
    await drain(bench.cached, bench.hit_task)  # the answer every (d) request then hits
    for _, _, name in VARIANTS:  # warm-up: connections, thread-local SQLite connections, caches
        await sample(getattr(bench, name), 30)
    clock = time.perf_counter
    calls = [(code, getattr(bench, name)) for code, _, name in VARIANTS]
    for _ in range(repeat):
        samples: dict[str, list[float]] = {code: [] for code, _ in calls}
        for _ in range(requests):  # a, b, c, c′, d, a, b, ...: drift hits every variant alike
            for code, fn in calls:
                start = clock()
                await fn()
                samples[code].append(clock() - start)
                if code == "c′":  # its answer's disk write, done after it returned: not in (d)
                    await bench.cached.flush()
        for code, values in samples.items():
            rounds[code].append(values)
    return rounds


Phases = dict[str, list[float]]

# (owner, attribute, label, how): what `instrument` times while a real request runs.
# "sync"/"async": a method; "stream": an async generator timed from its start to its Completion.
PHASES: list[tuple[type, str, str, str]] = [
    (CachedRuns, "key_for", "`CachedRuns.key_for` (cache key)", "sync"),
    (ResponseCache, "get", "`ResponseCache.get`", "async"),
    (ContextWindows, "learn", "`ContextWindows.learn`", "async"),
    (Router, "plan", "`Router.plan`", "sync"),
    (Spending, "reserve", "`Spending.reserve` (only with a hard budget)", "async"),
    (OpenAIProvider, "_generate", "`OpenAIProvider._generate` until its Completion", "stream"),
    (LedgerRows, "record", "`LedgerRows.record` (ledger row, committed before returning)", "async"),
    (LedgerWriter, "_commit", "↳ `LedgerWriter._commit` (the transaction)", "sync"),
    (Spending, "status", "`Spending.status` (budget)", "sync"),
    (
        ResponseCache,
        "put_memory",
        "`ResponseCache.put_memory` (disk and Redis: background)",
        "sync",
    ),
    (CachedRuns, "_cached_outcome", "`CachedRuns._cached_outcome` (its row committed)", "async"),
]


@contextlib.contextmanager
def instrument() -> Iterator[Phases]:
    """Wrap the PHASES methods (class attributes, restored afterwards) with wall-clock timers.
    A method the gateway no longer has is skipped (its row stays empty)."""
    times: Phases = {label: [] for _, _, label, _ in PHASES}
    saved = []
    for owner, attr, label, how in PHASES:
        orig = owner.__dict__.get(attr)
        if orig is None:
            continue
        saved.append((owner, attr, orig))
        setattr(owner, attr, _timed(orig, times[label], how))
    try:
        yield times
    finally:
        for owner, attr, orig in saved:
            setattr(owner, attr, orig)


def _timed(orig: Any, out: list[float], how: str) -> Any:
    clock = time.perf_counter
    if how == "sync":

        def sync(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return orig(*args, **kwargs)
            finally:
                out.append(clock() - start)  # list.append is atomic: worker threads too

        return sync
    if how == "async":

        async def coro(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return await orig(*args, **kwargs)
            finally:
                out.append(clock() - start)

        return coro

    async def stream(*args: Any, **kwargs: Any) -> Any:
        start = clock()
        async for event in orig(*args, **kwargs):
            if isinstance(event, Completion):
                out.append(clock() - start)
            yield event

    return stream


async def phases(bench: Bench, n: int) -> list[tuple[str, list[float], Phases]]:
    """Each gateway variant run n times with its phases timed (after the main measurement, so
    the timers do not touch the headline numbers)."""
    out = []
    for code, _, name in VARIANTS:
        if code in RAW:
            continue
        fn = getattr(bench, name)
        after = bench.cached.flush if code == "c′" else None
        await sample(fn, 20, after)
        with instrument() as times:
            total = await sample(fn, n, after)
        out.append((code, total, times))
    return out


async def thread_hop(n: int) -> float:
    async def hop() -> None:
        await asyncio.to_thread(int)

    await sample(hop, 20)
    return median(await sample(hop, n))


@contextlib.contextmanager
def inline_threads() -> Iterator[None]:
    """Run `asyncio.to_thread` calls inline so cProfile (which sees one thread) sees them."""

    async def inline(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    original = asyncio.to_thread
    asyncio.to_thread = inline  # type: ignore[assignment]
    try:
        yield
    finally:
        asyncio.to_thread = original


async def profile(bench: Bench, n: int, name: str) -> tuple[str, str]:
    fn = getattr(bench, name)
    await sample(fn, 20)
    prof = cProfile.Profile()
    with inline_threads():
        prof.enable()
        await sample(fn, n)
        prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = max((v[3] for v in raw.values()), default=0.0)
    rows = []
    ours = [(k, v) for k, v in raw.items() if "/magray_lsp/" in k[0]]
    ours.sort(key=lambda kv: kv[1][3], reverse=True)
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in ours[:10]:
        where = filename.split("/magray_lsp/", 1)[1]
        rows.append((f"`{where}:{line}({func})`", f"{nc / n:.3g}", ms(tt / n), ms(ct / n)))
    header = ["function (magray_lsp)", "calls/request", "self ms/request", "cum ms/request"]
    top_self = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:6]
    self_rows = [
        (f"`{Path(k[0]).name}:{k[1]}({k[2]})`", f"{v[1] / n:.3g}", ms(v[2] / n))
        for k, v in top_self
    ]
    return (
        table(header, rows, "lrrr"),
        f"(largest cumulative: {ms(total / n)} ms/request)\n\nTop self time, any module:\n\n"
        + table(["function", "calls/request", "self ms/request"], self_rows, "lrr"),
    )


async def main_async(args: argparse.Namespace) -> tuple[str, list[dict[str, object]]]:
    with (
        tempfile.TemporaryDirectory(prefix="magray-bench-") as tmpdir,
        fake_openai(args.chunks, args.fake_in_process) as url,
    ):
        bench = Bench(url, Path(tmpdir), args.month_days, args.budget)
        try:
            started = time.perf_counter()
            rounds = await measure(bench, args.requests, args.repeat)
            extra = args.requests if args.quick else max(100, args.requests)
            steps = await phases(bench, extra)
            hop = await thread_hop(extra)
            profiles = [await profile(bench, extra, name) for _, name in PROFILED]
            elapsed = time.perf_counter() - started
        finally:
            await bench.aclose()
    return report(args, rounds, steps, hop, profiles, elapsed)


#: what `profile` runs, with the heading of its tables
PROFILED = [
    ("(g) `Gateway.run`, cache disabled (non-streaming)", "run"),
    ("(g₀) `Gateway.run`, cache disabled, ledger commit stubbed out", "run_uncommitted"),
    ("(c) `Gateway.stream`, cache disabled", "via_gateway"),
    ("(h) `Gateway.run`, cache hit", "run_hit"),
]


def report(
    args: argparse.Namespace,
    rounds: dict[str, list[list[float]]],
    steps: list[tuple[str, list[float], Phases]],
    hop: float,
    profiles: list[tuple[str, str]],
    elapsed: float,
) -> tuple[str, list[dict[str, object]]]:
    pooled = {code: [s for r in rs for s in r] for code, rs in rounds.items()}
    p50 = {code: median(s) for code, s in pooled.items()}
    rows = []
    for code, label, _ in VARIANTS:
        base = SSE_BASE if code in STREAMED else JSON_BASE
        s = pooled[code]
        rows.append(
            (f"({code}) {label}", ms(p50[code]), ms(percentile(s, 99)),
             f"{p50[code] / p50[base]:.2f}×", ms(p50[code] - p50[base]))
        )  # fmt: skip

    def per_round(x: str, y: str) -> str:
        diffs = [median(rx) - median(ry) for rx, ry in zip(rounds[x], rounds[y], strict=True)]
        return f"{ms(min(diffs))} … {ms(max(diffs))}"

    def diff(x: str, y: str, goal: float | None) -> tuple[str, str, str, str]:
        value = p50[x] - p50[y]
        if goal is None:
            return ms(value), per_round(x, y), "", ""
        return ms(value), per_round(x, y), f"≤ {goal * 1000:g} ms", verdict(value, goal)

    hit = p50["h"]
    overhead = p50["g"] - p50[JSON_BASE]
    transport = "httpx on aiohttp" if TRANSPORT == "httpx" else "aiohttp"
    goals: list[dict[str, object]] = [
        {"goal": f"gateway over the raw transport ({transport}), non-streaming, median ≤ 0.3 ms "
                 "(bench_gateway)",
         "measured": f"{overhead * 1000:.3f} ms", "met": overhead <= GOAL_OVERHEAD},
        {"goal": "cache hit through the gateway (`Gateway.run`), median ≤ 0.5 ms",
         "measured": f"{hit * 1000:.3f} ms", "met": hit <= GOAL_CACHE_HIT},
    ]  # fmt: skip
    j, e = JSON_BASE, SSE_BASE
    added = [
        ("aiohttp alone over httpx on aiohttp, non-streaming: (e′) − (e)", *diff("e′", "e", None)),
        (f"provider over raw HTTP, non-streaming: (f) − ({j})", *diff("f", j, None)),
        (f"**gateway over raw HTTP, non-streaming: (g) − ({j})**", *diff("g", j, GOAL_OVERHEAD)),
        ("gateway over provider, non-streaming: (g) − (f)", *diff("g", "f", None)),
        (
            "↳ without the ledger commit (the gateway's own Python): (g₀) − (f)",
            *diff("g₀", "f", None),
        ),
        ("**cache hit (h)**, absolute", ms(hit), "", "≤ 0.5 ms", verdict(hit, GOAL_CACHE_HIT)),
        ("aiohttp alone over httpx on aiohttp, streaming: (a′) − (a)", *diff("a′", "a", None)),
        (f"provider over raw HTTP, streaming: (b) − ({e})", *diff("b", e, None)),
        (f"gateway over raw HTTP, streaming: (c) − ({e})", *diff("c", e, None)),
        ("gateway over provider, streaming: (c) − (b)", *diff("c", "b", None)),
        (f"gateway with cache on, miss, streaming: (c′) − ({e})", *diff("c′", e, None)),
        ("cache hit, streaming (d), absolute", ms(p50["d"]), "", "", ""),
    ]
    out = [
        f"Machine: {machine()}",
        "",
        f"Command: `{command_line()}` (took {elapsed:.0f} s)",
        "",
        f"{args.requests} sequential requests × {args.repeat} rounds per variant, interleaved "
        "request by request, "
        f"reply of {args.chunks} SSE chunks + usage chunk (streamed) or one JSON answer with the "
        "same text, fake "
        f"{'in a thread of this process' if args.fake_in_process else 'in a child process'}. "
        f"Overheads are taken over the raw client on the providers' transport ({transport}: "
        f"({j}) and ({e})). "
        "(c′) writes its answer to the disk cache after returning it; that write is awaited "
        "between two requests, outside every variant's time.",
        "",
        table(["variant", "p50 ms", "p99 ms", "× raw", "p50 − raw ms"], rows, "lrrrr"),
        "",
        table(
            ["added latency (difference of medians)", "ms", "per-round range ms", "goal", ""],
            added,
            "lrrrl",
        ),
        "",
        "Where the time goes: wall-clock time of each phase *during* real requests (median per "
        "call, calls per request in brackets; a ↳ row runs inside the row above it). For "
        f"scale: an empty `asyncio.to_thread` round trip costs {ms(hop)} ms here.",
        "",
        phase_table(steps),
    ]
    for (heading, _), (ours, anywhere) in zip(PROFILED, profiles, strict=True):
        out += [
            "",
            f"cProfile of {heading}; `asyncio.to_thread` run inline so the profiler (one thread) "
            "sees the SQLite work; per request:",
            "",
            ours,
            "",
            anywhere,
        ]
    return "\n".join(out), goals


def verdict(value: float, goal: float) -> str:
    return "**met**" if value <= goal else "**not met**"


def phase_table(steps: list[tuple[str, list[float], Phases]]) -> str:
    header = ["phase", *(f"({code})" for code, _, _ in steps)]
    rows: list[list[str]] = []
    for _, _, label, _ in PHASES:
        row = [label]
        for _, total, times in steps:
            calls = len(times[label]) / len(total)
            row.append(f"{ms(median(times[label]))} ({calls:g})" if calls else "")
        if any(row[1:]):
            rows.append(row)
    accounted = ["sum of top-level phases"]
    for _, total, times in steps:
        accounted.append(
            ms(sum(median(v) * len(v) / len(total) for k, v in times.items() if v and "↳" not in k))
        )
    rows.append(accounted)
    rows.append(["whole request (timers on)", *(ms(median(t)) for _, t, _ in steps)])
    return table(header, rows, "l" + "r" * len(steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per round and variant")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--chunks", type=int, default=20, help="SSE text chunks per reply")
    parser.add_argument("--fake-in-process", action="store_true")
    parser.add_argument("--quick", action="store_true", help="a few requests (smoke test)")
    parser.add_argument(
        "--month-days", type=int, default=0, help="days of ledger history before the run"
    )
    parser.add_argument("--budget", help="a hard monthly budget in USD (reservations)")
    add_loop_option(parser)
    args = parser.parse_args()
    use_loop(args.loop)
    args.quick = args.quick or is_quick()
    if args.quick:
        args.requests, args.repeat = 10, 1
    md, goals = run_on_loop(main_async(args))
    body = "### Gateway overhead, phase by phase (bench_gateway.py)\n\n" + md
    path = write_result("gateway", body, {"goals": goals, "args": vars(args)})
    print(body)
    print(f"\n(written to {path})")


if __name__ == "__main__":
    main()
