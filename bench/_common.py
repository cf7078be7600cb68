"""Helpers the benchmarks share: paths, percentiles, markdown tables, a machine description,
the event loop a benchmark runs on.

Every benchmark reports medians and tail percentiles of samples taken in the same run as its
baseline, so numbers from a noisy, shared machine can still be compared as ratios/differences.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from magray_lsp.event_loop import LoopChoice

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "server"
T = TypeVar("T")


def setup_path() -> None:
    """Import `magray_lsp` from the tree and `tests.fakes` from the repo root."""
    for path in (str(SERVER), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between closest ranks."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples) if samples else math.nan


def ms(seconds: float) -> str:
    """Seconds → a millisecond string with sensible precision."""
    value = seconds * 1000
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def verdict(value: float, goal: float) -> str:
    return "**met**" if value < goal else "**not met**"


def table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A markdown table; ``align`` holds one of 'l'/'r' per column (default: first l, rest r)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """One line: cores, CPU model, OS, Python, and the event loop once `use_loop` picked one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    loop = f", event loop {_loop.label}" if _loop is not None else ""
    return (
        f"{cores} cores ({cpu_model()}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}{loop}"
    )


# -- the event loop: what magray-lsp runs on here (uvloop where installed), or `--loop` --

_loop: LoopChoice | None = None


def add_loop_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        help="the event loop to measure on (default: the one magray-lsp runs on here: uvloop "
        "where it is installed); magray processes the benchmark starts get it too",
    )


def use_loop(name: str | None) -> LoopChoice:
    """Pick this benchmark's loop: ``name`` (``--loop``), else magray's own choice; a magray
    process the benchmark starts (server, CLI) inherits it through MAGRAY_EVENT_LOOP, and
    `machine()` names it in the result's header line. The garbage collector gets the pace
    `magray-lsp` sets for itself (`event_loop.pace_gc`), so in-process gateways run as in it."""
    global _loop
    setup_path()
    from magray_lsp import event_loop

    env = {**os.environ, event_loop.ENV_VAR: name} if name else None
    _loop = event_loop.choose(env)
    os.environ[event_loop.ENV_VAR] = _loop.name
    event_loop.pace_gc()
    return _loop


def current_loop() -> LoopChoice:
    """The loop `use_loop` picked (magray's own choice if it was not called)."""
    return _loop or use_loop(None)


def other_loop() -> LoopChoice | None:
    """The loop `use_loop` did not pick, when it can be had (asyncio's always can)."""
    from magray_lsp import event_loop
    from magray_lsp.errors import MagrayError

    other = "asyncio" if current_loop().name == "uvloop" else "uvloop"
    try:
        return event_loop.choose({event_loop.ENV_VAR: other})
    except MagrayError:
        return None


def run_on_loop(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the loop `use_loop` picked (magray's choice if not called)."""
    from magray_lsp import event_loop

    return event_loop.run(main, current_loop())


def command_line() -> str:
    """How this benchmark was invoked, for the report."""
    script = Path(sys.argv[0]).resolve()
    try:
        shown = str(script.relative_to(ROOT))
    except ValueError:
        shown = str(script)
    return " ".join(["python", shown, *sys.argv[1:]])


# The loopback OpenAI fake in a child process: prints its base URL, stops when stdin closes.
_FAKE = """
import sys
sys.path[:0] = [{root!r}, {server!r}]
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
fake = FakeOpenAI()
fake.default = Reply(chunks={chunks!r}, input_tokens=120, output_tokens={n})
fake.start()
print(fake.base_url, flush=True)
sys.stdin.read()
fake.stop()
"""


def reply_chunks(n: int) -> list[str]:
    return [f"word{i} " for i in range(n)]


@contextlib.contextmanager
def fake_openai(chunks: int, in_process: bool = False) -> Iterator[str]:
    """`tests.fakes.openai.FakeOpenAI` answering every request with `chunks` SSE text chunks;
    yields its base URL. In a child process by default, so serving requests does not compete
    with the measured client for one GIL."""
    pieces = reply_chunks(chunks)
    if in_process:
        setup_path()
        from tests.fakes.base import Reply
        from tests.fakes.openai import FakeOpenAI

        with FakeOpenAI() as fake:
            fake.default = Reply(chunks=pieces, input_tokens=120, output_tokens=chunks)
            yield fake.base_url
        return
    code = _FAKE.format(root=str(ROOT), server=str(SERVER), chunks=pieces, n=chunks)
    with child_fake(code, "the fake OpenAI server") as url:
        yield url


@contextlib.contextmanager
def child_fake(code: str, what: str) -> Iterator[str]:
    """Run `code` (a fake server script that prints its base URL, then serves until its stdin
    closes) in a child process; yields the URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"{what} did not start")
        yield url
    finally:
        stop_child(proc)


def stop_child(proc: subprocess.Popen[str]) -> None:
    """Close a child's stdin (its signal to stop), then wait for it; kill it if it lingers."""
    if proc.poll() is not None:
        return
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- results: every benchmark writes bench/results/<name>.md (+ .json); report.py stitches them --


def results_dir() -> Path:
    """Where results go: $BENCH_RESULTS (the smoke test points it at a temporary folder)."""
    return Path(os.environ.get("BENCH_RESULTS") or ROOT / "bench" / "results")


def write_result(name: str, markdown: str, data: object) -> Path:
    """Write `<name>.md` (a section of docs/benchmarks.md, starting with its own `### ` title)
    and `<name>.json` (the raw numbers) into `results_dir()`; returns the markdown path."""
    import json

    out = results_dir()
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    path = out / f"{name}.md"
    path.write_text(markdown.rstrip() + "\n")
    return path


def is_quick() -> bool:
    """`--quick` on the command line or BENCH_QUICK=1: a tiny setting for the smoke test."""
    return "--quick" in sys.argv or os.environ.get("BENCH_QUICK", "") not in ("", "0")


def load_average() -> float:
    """1-minute load average (other engineers' work on this shared machine shows up here)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return math.nan
