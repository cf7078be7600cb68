"""How fast the embedded model decodes by thread count, on a quiet machine and a busy one.

    python bench/bench_local_threads.py [--tokens N] [--repeat R] [--quick]

The in-process GGUF model (llama.cpp through llama-cpp-python) runs its threads in lock step:
each waits for the others at every step, spinning. When another process takes a core, one of
them is descheduled and the rest spin until it comes back, so a thread per core collapses on a
busy machine. This measures, interleaved round by round, the bundled SmolLM2-135M model with 1,
2, ... threads (up to the usable cores, at most 4; the prompt's batch gets as many): reading a
prompt of about 300 tokens (prefill), and greedy decoding of N tokens after a short prompt:
  quiet)  nothing else started by the benchmark
  busy)   one busy-looping process per usable core running alongside (an editor, a build and
          the test suite on a laptop do the same to it)
Tokens per second, medians; the default thread count `LocalProvider` picks
here (`providers/local.py`, `default_threads`) is marked.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from _common import (
    command_line,
    is_quick,
    load_average,
    machine,
    median,
    setup_path,
    table,
    write_result,
)

setup_path()

from magray_lsp.config.models import ProviderConfig  # noqa: E402
from magray_lsp.providers.local import LocalProvider, default_threads  # noqa: E402

PROMPT = "Explain, step by step and in detail, what a parser of HTTP headers has to handle:"
#: 16 of these make about 300 tokens, like an action's prompt around a small function
FUNCTION = "def parse(line):\n    name, _, value = line.partition(':')\n"


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def busy(processes: int) -> Iterator[None]:
    """``processes`` busy-looping children for the duration."""
    children = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)
    ]
    try:
        time.sleep(0.2)  # let them get going
        yield
    finally:
        for child in children:
            child.kill()
            child.wait()


def tokens_per_second(llm: Any, prompt: str, tokens: int) -> tuple[float, int]:
    """Tokens per second for ``prompt`` then up to ``tokens`` new ones, and the prompt's
    length: with ``tokens`` = 1 that is the prefill rate."""
    llm.reset()  # or llama-cpp-python reuses the previous run's prompt
    started = time.perf_counter()
    out = llm.create_completion(prompt, max_tokens=tokens, temperature=0.0)
    elapsed = time.perf_counter() - started
    usage = out["usage"]
    made = usage["prompt_tokens"] if tokens == 1 else usage["completion_tokens"]
    return float(made) / elapsed, int(usage["prompt_tokens"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if is_quick():
        args.tokens, args.repeat, copies = 8, 1, 1
    else:
        copies = 16
    long_prompt = "Here is a function.\n" + FUNCTION * copies
    from llama_cpp import Llama

    path = str(LocalProvider("local", ProviderConfig(kind="local")).model_path())
    cores = usable_cores()
    counts = list(range(1, min(4, cores) + 1))
    models = {
        n: Llama(model_path=path, n_ctx=1024, n_threads=n, n_threads_batch=n, verbose=False)
        for n in counts
    }
    load, started = load_average(), time.perf_counter()
    samples: dict[tuple[str, int], list[float]] = {}
    prompt_tokens = 0
    for round_ in range(args.repeat):
        for condition in ("quiet", "busy") if round_ % 2 == 0 else ("busy", "quiet"):
            with busy(cores if condition == "busy" else 0):
                for n in counts if round_ % 2 == 0 else reversed(counts):
                    rate, _ = tokens_per_second(models[n], PROMPT, args.tokens)
                    samples.setdefault((condition, n), []).append(rate)
                    rate, prompt_tokens = tokens_per_second(models[n], long_prompt, 1)
                    samples.setdefault((f"{condition} prefill", n), []).append(rate)
    chosen = default_threads()
    rows = []
    for n in counts:
        mark = " (default here)" if n == chosen else ""
        row = [f"{n}{mark}"]
        for phase in ("", " prefill"):
            quiet, loaded = median(samples[f"quiet{phase}", n]), median(samples[f"busy{phase}", n])
            row += [f"{quiet:.1f}", f"{loaded:.1f}", f"{loaded / quiet:.2f}"]
        rows.append(row)
    best_quiet = max(median(samples["quiet", n]) for n in counts)
    best_busy = max(median(samples["busy", n]) for n in counts)
    md = "\n".join(
        [
            "### The embedded model's threads, quiet and busy (`bench_local_threads.py`)",
            "",
            f"Command: `{command_line()}` (took {time.perf_counter() - started:.0f} s). Machine: "
            f"{machine()}. Load average {load:.2f} → {load_average():.2f}; "
            f"decoding {args.tokens} tokens greedy, prefill of a {prompt_tokens}-token prompt; "
            f"{args.repeat} interleaved rounds, medians; busy = {cores} busy-looping processes "
            "alongside.",
            "",
            table(
                [
                    "threads",
                    "decode quiet tok/s",
                    "decode busy tok/s",
                    "busy ÷ quiet",
                    "prefill quiet tok/s",
                    "prefill busy tok/s",
                    "busy ÷ quiet",
                ],
                rows,
                "lrrrrrr",
            ),
            "",
            f"The default ({chosen} here) against the best count: quiet "
            f"{median(samples['quiet', chosen]) / best_quiet:.2f}×, busy "
            f"{median(samples['busy', chosen]) / best_busy:.2f}× of the best (decoding).",
        ]
    )
    data = {f"{c}/{n}": v for (c, n), v in samples.items()}
    print(write_result("local_threads", md, {"samples": data, "default": chosen}).read_text())


if __name__ == "__main__":
    main()
