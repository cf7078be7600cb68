"""Loopback OpenAI-compatible fakes for the comparison benchmarks, in a process of their own.

    python bench/_fake_server.py --latency 0.05 --chunks 5 [--names primary,secondary]

Prints one JSON line ``{"primary": base_url, ...}``, then obeys commands on stdin, one per line,
answering each with one JSON line:

    fail NAME SECONDS    NAME answers HTTP 500 to everything for SECONDS from now, then recovers
    count                requests served so far, per fake
    quit                 (or end of input) stop

Every fake answers after a fixed ``--latency`` (before the first byte), streamed or not, so a
client's added latency is its observed latency minus that. Each reports a different model
(``gpt-4o-mini`` for the first name, ``gpt-4o`` for the second) so clients can tell who answered.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server")]

from tests.fakes.base import Reply, Status, Until  # noqa: E402
from tests.fakes.openai import FakeOpenAI  # noqa: E402

MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4-turbo")


def reply(latency: float, chunks: int, model: str) -> Reply:
    from tests.fakes.openai import OpenAIReply

    return OpenAIReply(
        chunks=[f"word{i} " for i in range(chunks)],
        text=" ".join(f"word{i}" for i in range(chunks)),
        input_tokens=120,
        output_tokens=chunks,
        delay=latency,
        model=model,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.01)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--names", default="primary,secondary")
    args = parser.parse_args()
    fakes: dict[str, FakeOpenAI] = {}
    answers: dict[str, Reply] = {}
    for index, name in enumerate(args.names.split(",")):
        fake = FakeOpenAI()
        answers[name] = reply(args.latency, args.chunks, MODELS[index])
        fake.default = answers[name]
        fakes[name] = fake.start()
    print(json.dumps({name: fake.base_url for name, fake in fakes.items()}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        if words[0] == "fail":
            name, seconds = words[1], float(words[2])
            outage = Status(500, "The server had an error while processing your request.")
            fakes[name].default = Until(time.monotonic() + seconds, outage, answers[name])
            print(json.dumps({"ok": True}), flush=True)
        elif words[0] == "count":
            print(json.dumps({n: len(f.requests) for n, f in fakes.items()}), flush=True)
        else:
            print(json.dumps({"error": f"unknown command {words[0]!r}"}), flush=True)
    for fake in fakes.values():
        fake.stop()


if __name__ == "__main__":
    main()
