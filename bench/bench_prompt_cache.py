"""What providers' prompt caches save on top of the answer cache, on a replayed editing session.

    python bench/bench_prompt_cache.py [--steps N] [--seed S] [--quick]

A seeded session over a few real files (two from the running Python's standard library, two
from this repository as they are in the working tree): edits (typing a statement, deleting it
again, renaming a local, reformatting, adding a comment, moving a function; the generator of
`bench_cache_value.py`) interleaved with explain, document and refactor actions on the units
being worked on, the user moving between files now and then. Time is simulated: every step
takes the user a while (seeded), with an occasional longer break, so entries of the providers'
five-minute caches expire as they would.

The same script is replayed through the real path (`actions.tasks.prepare` on the edited text,
then `Gateway.run` with the answer cache on) against the loopback fakes of OpenAI, Anthropic
and Gemini, twice each in the same run: with the fake's prompt cache emulated as the provider
documents it (`tests/fakes/prompt_cache.py`), and with it off (the baseline). Usage comes from
the fakes (tokens counted on the real prompt with tiktoken's cl100k), money from the ledger
(genai-prices, offline); answers have fixed lengths (explain 350, document 150 output tokens,
refactor as long as the target).
"""

from __future__ import annotations

import argparse
import importlib
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import (
    ROOT,
    command_line,
    load_average,
    machine,
    setup_path,
    table,
)
from bench_cache_value import EDITS, Session, functions, session_main, target_for, usd

setup_path()

from tests.fakes.anthropic import FakeAnthropic  # noqa: E402
from tests.fakes.base import FakeServer, Reply  # noqa: E402
from tests.fakes.gemini import FakeGemini  # noqa: E402
from tests.fakes.openai import FakeOpenAI  # noqa: E402
from tests.fakes.prompt_cache import ManualClock, PromptCache, tokens  # noqa: E402

from magray_lsp.actions.tasks import prepare  # noqa: E402
from magray_lsp.cache import ResponseCache  # noqa: E402
from magray_lsp.catalog import Catalog  # noqa: E402
from magray_lsp.config.loader import load_config  # noqa: E402
from magray_lsp.config.models import CacheConfig  # noqa: E402
from magray_lsp.cost.ledger import Ledger  # noqa: E402
from magray_lsp.gateway import Gateway  # noqa: E402
from magray_lsp.task import Action  # noqa: E402

FILES = (
    # one big class (BaseEventLoop): its methods' contexts pass the providers' 1,024-token
    # minimum prefix (magray's own gateway.py did, before it was split into gateway/)
    ("asyncio.base_events", None),
    ("textwrap", None),
    ("ledger/store.py", ROOT / "server" / "magray_lsp" / "cost" / "ledger" / "store.py"),
    ("configparser", None),
)


@dataclass(frozen=True)
class Contender:
    """One provider section: its fake, how the section reaches it, the model asked."""

    name: str
    fake: type[FakeServer]
    url: str  # the fake's attribute holding the base URL
    model: str
    how: str  # how that provider caches, for the report


CONTENDERS = (
    Contender("openai", FakeOpenAI, "base_url", "gpt-4o-mini", "automatic, `prompt_cache_key`"),
    Contender("anthropic", FakeAnthropic, "url", "claude-sonnet-4-5", "`cache_control` marker"),
    Contender("google", FakeGemini, "url", "gemini-2.5-flash", "implicit"),
)
ACTIONS: tuple[tuple[Action, float], ...] = (
    ("explain", 0.45),
    ("document", 0.30),
    ("refactor", 0.25),
)
OUTPUT = {"explain": 350, "document": 150}
ACTION_SHARE = 0.55  # of the steps; the rest are edits
SWITCH_FILE = 0.06  # a step moves to another file
BREAK = 0.03  # a step is followed by a 10-25 minute break


def source_of(name: str, path: Path | None) -> tuple[str, str]:
    """(file name, text) of a standard-library module or a file of this repository."""
    if path is None:
        module = importlib.import_module(name)
        path = Path(str(module.__file__))
    return path.name, path.read_text()


@dataclass
class Step:
    file: int
    kind: str  # "edit" or an action
    what: str  # the edit's description or the unit's name
    text: str  # the file's text after this step
    seconds: float  # the user's time before the next step


def script(steps: int, seed: int, sources: list[tuple[str, str]]) -> list[Step]:
    """The session: one edit generator per file, a seeded choice of what happens next."""
    rng = random.Random(seed)
    sessions = [Session(text, seed * 100 + i) for i, (_, text) in enumerate(sources)]
    current = 0
    out: list[Step] = []
    for _ in range(steps):
        if rng.random() < SWITCH_FILE:
            current = rng.choice([i for i in range(len(sessions)) if i != current])
        session = sessions[current]
        if rng.random() < ACTION_SHARE:
            func = session.pick(functions(session.text))
            roll, action = rng.random(), ACTIONS[-1][0]
            for name, share in ACTIONS:
                if roll < share:
                    action = name
                    break
                roll -= share
            step = Step(current, action, func.name, session.text, rng.uniform(15, 75))
        else:
            kind = rng.choices(list(EDITS), weights=list(EDITS.values()))[0]
            if kind == "move" and not any(f.top_level for f in functions(session.text).values()):
                kind = "comment"  # a file of classes only has no top-level function to move
            what = session.edit(kind)
            step = Step(current, "edit", what, session.text, rng.uniform(5, 40))
        if rng.random() < BREAK:
            step.seconds += rng.uniform(600, 1500)
        out.append(step)
    return out


def hit_reason(before: tuple[str, str] | None, now: tuple[str, str]) -> str:
    """Why a call read the prompt cache, from what its stable prefix was last sent with."""
    if before is None:
        return "the start of a context sent before (changed further on)"
    if before == now:
        return "another action on the same code"
    if before[0] == now[0]:
        return "the same unit, its target edited since"
    return "another unit with the same context"


def settings(c: Contender, url: str) -> dict[str, Any]:
    return {
        "llm": {
            c.name: {
                "api_key": "sk-bench",
                "base_url": url,
                "timeout_seconds": 30,
                "models": {"default": c.model},
            },
            "local": {"enabled": False},
        },
        "routing": {"default": f"{c.name}.default"},
        "retry": {"max_attempts": 1},
    }


async def replay(
    c: Contender,
    steps: list[Step],
    sources: list[tuple[str, str]],
    caching: bool,
    tmp: Path,
) -> dict[str, Any]:
    run = tmp / f"{c.name}-{'on' if caching else 'off'}"
    paths = [run / name for name, _ in sources]
    clock = ManualClock()  # the session's simulated time
    fake: Any = c.fake()
    with fake:
        fake.prompt_cache = PromptCache(clock=clock, enabled=caching)
        loaded = load_config(settings=settings(c, getattr(fake, c.url)), env={}, include_user=False)
        gateway = Gateway(
            Catalog(loaded),
            ledger=Ledger(run / "ledger.sqlite3"),
            cache=ResponseCache(CacheConfig(dir=str(run / "cache"))),
            workspace=str(run),
        )
        money = Decimal(0)
        calls = hits = prompt_hits = 0
        prefixes: list[tuple[int, int]] = []  # (file, stable prefix tokens) of each call
        # the unit and target text each stable prefix was last sent with, to say why a call hit
        sent: dict[str, tuple[str, str]] = {}
        why: dict[str, int] = {}
        try:
            for step in steps:
                if step.kind != "edit":
                    target = target_for(step.text, step.what, paths[step.file])
                    budget = gateway.context_budget(False, 700)
                    prepared = prepare(step.kind, target, context_budget=budget)  # type: ignore[arg-type]
                    task = prepared.task
                    output = OUTPUT.get(step.kind) or max(64, prepared.context.target_tokens)
                    fake.default = Reply(text="(answer)", output_tokens=output)
                    outcome = await gateway.run(task)
                    if outcome.cached:
                        hits += 1
                    else:
                        calls += 1
                        money += outcome.cost_usd or Decimal(0)
                        stable = task.system + task.prompt[: task.prompt_prefix]
                        prefixes.append((step.file, len(tokens(stable))))
                        seen = (step.what, prepared.context.target)
                        if outcome.usage and outcome.usage.cached_input_tokens:
                            prompt_hits += 1
                            reason = hit_reason(sent.get(stable), seen)
                            why[reason] = why.get(reason, 0) + 1
                        sent[stable] = seen
                clock.now += step.seconds
            await gateway.flush()
            rows = [r for r in gateway.ledger.recent(limit=10**6) if not r.cached]
        finally:
            await gateway.aclose()
        tally = fake.prompt_cache.tally
    return {
        "calls": calls,
        "answer_hits": hits,
        "prompt_hits": prompt_hits,
        "money": money,
        "ledger_money": sum((r.cost_usd or Decimal(0) for r in rows), Decimal(0)),
        "ledger_read": sum(r.cached_input_tokens for r in rows),
        "ledger_written": sum(r.cache_write_tokens for r in rows),
        "uncached_money": sum(
            (r.uncached_usd if r.uncached_usd is not None else r.cost_usd or Decimal(0))
            for r in rows
        ),
        "input_tokens": tally.input_tokens,
        "read_tokens": tally.read_tokens,
        "write_tokens": tally.write_tokens,
        "prefix_tokens": prefixes,
        "hit_reasons": why,
        "hours": clock.now / 3600,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    load_before = load_average()
    sources = [source_of(name, path) for name, path in FILES]
    steps = script(args.steps, args.seed, sources)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="magray-bench-prompt-") as tmpdir:
        for c in CONTENDERS:
            for caching in (False, True):
                key = f"{c.name}:{'on' if caching else 'off'}"
                results[key] = await replay(c, steps, sources, caching, Path(tmpdir))
    per_file: dict[str, dict[str, int]] = {}
    for step in steps:
        name = sources[step.file][0]
        entry = per_file.setdefault(name, {"actions": 0, "edits": 0})
        entry["edits" if step.kind == "edit" else "actions"] += 1
    return {
        "files": [name for name, _ in sources],
        "steps": args.steps,
        "actions": sum(1 for s in steps if s.kind != "edit"),
        "per_file": per_file,
        "results": results,
        "elapsed": time.perf_counter() - started,
        "load": [load_before, load_average()],
        "command": command_line(),
        "machine": machine(),
        "args": vars(args),
    }


def report(data: dict[str, Any]) -> str:
    res = data["results"]
    rows = []
    for c in CONTENDERS:
        off, on = res[f"{c.name}:off"], res[f"{c.name}:on"]
        base, paid = Decimal(off["money"]), Decimal(on["money"])
        saved = base - paid
        share = saved / base if base else Decimal(0)
        rows.append(
            [
                f"{c.name} `{c.model}` ({c.how})",
                f"{on['calls']} ({on['answer_hits']} hits)",
                usd(base),
                usd(paid),
                f"**{usd(saved)} ({share:.1%})**",
                f"{on['prompt_hits']} of {on['calls']}",
                f"{on['read_tokens']:,} / {on['write_tokens']:,} of {on['input_tokens']:,}",
            ]
        )
    header = [
        "provider, model (how it caches)",
        "provider calls (answer-cache hits)",
        "spend, prompt cache off",
        "spend, prompt cache on",
        "saved by the prompt cache",
        "calls reading the cache",
        "input tokens read / written of all (fakes)",
    ]
    first = res[f"{CONTENDERS[0].name}:on"]
    prefix_rows = []
    for index, name in enumerate(data["files"]):
        sizes = [n for f, n in first["prefix_tokens"] if f == index]
        if sizes:
            prefix_rows.append(
                [
                    f"`{name}`",
                    str(len(sizes)),
                    f"{statistics.median(sizes):.0f}",
                    f"{sum(n >= 1024 for n in sizes) / len(sizes):.0%}",
                    f"{sum(n >= 2048 for n in sizes) / len(sizes):.0%}",
                ]
            )
    files = ", ".join(
        f"`{name}` ({v['actions']} actions, {v['edits']} edits)"
        for name, v in data["per_file"].items()
    )
    reasons: dict[str, list[str]] = {}
    for c in CONTENDERS:
        for reason, n in res[f"{c.name}:on"]["hit_reasons"].items():
            reasons.setdefault(reason, []).append(f"{c.name} {n}")
    ledger = []
    for c in CONTENDERS:
        on = res[f"{c.name}:on"]
        saved = Decimal(on["uncached_money"]) - Decimal(on["ledger_money"])
        ledger.append(
            f"{c.name} {on['ledger_read']:,} read / {on['ledger_written']:,} written, "
            f"saved {usd(saved)}"
        )
    out = [
        "### Provider prompt caching on an editing session (`bench_prompt_cache.py`)",
        "",
        f"Command: `{data['command']}` (took {data['elapsed']:.0f} s). Machine: {data['machine']}; "
        f"1-minute load average {data['load'][0]:.1f} at the start, {data['load'][1]:.1f} at the "
        "end.",
        "",
        f"Replay of {data['steps']} seeded steps ({data['actions']} actions: explain 45%, "
        f"document 30%, refactor 25%; the rest edits) over {files}; "
        f"{first['hours']:.1f} simulated hours (15-75 s per action, 5-40 s per edit, a 10-25 "
        "minute break after 3% of the steps). Each provider replays the same script twice in "
        "this run, answer cache on both times: against its fake with the provider's prompt "
        "cache emulated as documented, and with that cache off (the baseline). Spend is what "
        "the ledger recorded: genai-prices for the usage the fakes reported.",
        "",
        table(header, rows, "lrrrrrr"),
        "",
        "The stable prefix (the shared system prompt and the context around the target) of the "
        "provider calls, per file, in cl100k tokens. A prefix under the provider's minimum is "
        "never cached (1,024 tokens for OpenAI, Sonnet 4.5 and Gemini 2.5 Flash; 2,048 for "
        "Haiku 3.5):",
        "",
        table(["file", "calls", "median prefix", "≥ 1,024", "≥ 2,048"], prefix_rows, "lrrrr"),
        "",
        "- Why the calls that read the cache hit (what their prefix was last sent with): "
        + ("; ".join(f"{r}: {', '.join(n)}" for r, n in sorted(reasons.items())) or "none")
        + ". An edit inside the target changes the answer-cache key but not the context, "
        "since the target follows the request instead of opening the context.",
        "- Anthropic bills a cache write at 1.25× input, so a marked prefix that is not read "
        "back within five minutes costs more than sending it plainly; OpenAI and Gemini bill "
        "nothing for writes.",
        "- The ledger of each cached run agrees with its fake ("
        + "; ".join(ledger)
        + " by its uncached prices, cache hits excluded): what `magray-lsp stats` shows.",
    ]
    return "\n".join(out)


def main() -> None:
    session_main("prompt_cache", __doc__.split("\n")[0], 18, main_async, report)


if __name__ == "__main__":
    main()
