"""The one benchmark test: `make bench` works end to end on its tiny setting.

No benchmark runs in the suite and no timing is asserted here. This runs `make bench-run
BENCH_QUICK=1` (what `make bench` runs once the venvs exist) with the results and the report in
a temporary folder, and checks that every result and the stitched report were written with sane
content.

LiteLLM lives in `bench/.venv-litellm`, which `make bench` installs and `make test` does not
(the suite must not need the network). So this test always runs without it, wherever it runs:
the benchmarks that drive LiteLLM (`BENCH_LITELLM_SCRIPTS`) are left out, and the start-up
benchmark is pointed at a missing interpreter and must say in its section that LiteLLM is not
installed. Nothing depends on the machine, so nothing is skipped, in CI or elsewhere.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.redis_server import redis_server_binary

ROOT = Path(__file__).resolve().parents[1]
MINE = ("startup", "editor", "cache_value", "prompt_cache", "context", "answers", "local_threads")


def load(folder: Path, name: str) -> dict[str, Any]:
    data = json.loads((folder / f"{name}.json").read_text())
    assert isinstance(data, dict)
    return data


def positive(values: list[float]) -> bool:
    return bool(values) and all(math.isfinite(v) and v > 0 for v in values)


def test_make_bench_quick_writes_results_and_report(tmp_path: Path) -> None:
    results = tmp_path / "results"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    env["BENCH_LITELLM_PYTHON"] = str(tmp_path / "no-litellm" / "python")
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "bench-run",
            "BENCH_QUICK=1",
            "BENCH_LITELLM_SCRIPTS=",
            f"BENCH_RESULTS={results}",
            f"VENV={sys.prefix}",  # the interpreter running this test
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # a hang guard: the quick run takes well under a minute
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    for name in MINE:
        markdown = (results / f"{name}.md").read_text()
        assert markdown.startswith("### "), name
        assert "| ---" in markdown, f"{name}: no table"
        assert "Command: `python bench/" in markdown and "--quick" in markdown, name

    start = load(results, "startup")
    for variant in ("pass", "bare", "initialize", "as_is"):
        assert positive(start["start"][variant]), variant
    memory = start["memory"]
    assert memory["idle"]["VmRSS"] > memory["bare_idle"]["VmRSS"] * 0.5 > 1
    assert memory["requests"] >= 30
    assert "LiteLLM is **not installed**" in (results / "startup.md").read_text()
    assert "magray_lsp.gateway" in start["vs_litellm"] and "litellm" not in start["vs_litellm"]

    editor = load(results, "editor")
    assert len(editor["first_token"]["lsp"]) == editor["args"]["tokens"] > 0
    assert positive(editor["first_token"]["raw"])  # the fake stamped before the reader saw it
    assert positive(editor["first_token"]["lsp"])
    for size in editor["args"]["sizes"]:
        listing = editor["listings"][str(size)]
        assert positive(listing["after_edit"]) and positive(listing["still"])
        assert any("`Widget" in title for title in listing["titles"]), listing["titles"]

    value = load(results, "cache_value")["results"]
    actions = load(results, "cache_value")["actions"]
    assert value["none"]["calls"] == actions > 0 and value["none"]["hits"] == 0
    for variant in ("exact", "magray", "comment-blind"):
        assert value[variant]["calls"] + value[variant]["hits"] == actions, variant
    # The product key is a function of the prompt: whatever the exact text hits, it hits too.
    assert value["magray"]["hits"] >= value["exact"]["hits"]
    # ignoring the target's comments can only merge keys: never fewer hits than the product
    assert value["comment-blind"]["hits"] >= value["magray"]["hits"]

    answers = load(results, "answers")
    assert all(value > 0 for _name, value, _note in answers["rows"])
    assert len(answers["goals"]) == 1 and answers["goals"][0]["measured"].endswith(" ms")

    threads = load(results, "local_threads")  # the embedded model, every thread count
    assert threads["default"] >= 1 and threads["samples"]
    assert all(positive(rates) for rates in threads["samples"].values())

    prompt = load(results, "prompt_cache")["results"]
    for provider in ("openai", "anthropic", "google"):
        off, on = prompt[f"{provider}:off"], prompt[f"{provider}:on"]
        assert on["calls"] == off["calls"] > 0 and on["answer_hits"] == off["answer_hits"]
        assert off["read_tokens"] == off["write_tokens"] == 0  # the baseline caches nothing
        assert on["input_tokens"] == off["input_tokens"] > 0  # the same prompts, counted alike
        assert on["ledger_read"] == on["read_tokens"] > 0, provider  # the quick run hits too

    adapters = load(results, "adapters")  # every streaming adapter, both ways
    for kind in ("openai", "anthropic", "google", "ollama"):
        for variant in (kind, f"{kind}_replayed"):
            numbers = adapters["protocols"][variant]
            assert positive([numbers["raw_p50_s"], numbers["adapter_p50_s"]]), variant
        # every text chunk is an event of its own (Gemini's last one also ends the stream)
        assert adapters["protocols"][f"{kind}_replayed"]["events"] >= adapters["args"]["chunks"]
    assert "| openai |" in (results / "adapters.md").read_text()

    team = load(results, "team")  # the team budget round trip on a real redis-server
    if redis_server_binary() is None:
        assert "redis-server is **not installed**" in (results / "team.md").read_text()
    else:
        assert team["goals"] and "median ≤ 1 ms" in team["goals"][0]["goal"]
        assert positive([team["p50_ms"][v] for v in ("a", "b", "c", "d0", "d1")])
        assert "| (b) **team reserve + settle" in (results / "team.md").read_text()

    report = (results / "benchmarks.md").read_text()
    assert "<!-- bench:generated:begin" in report and "<!-- bench:generated:end -->" in report
    assert "Command: `make bench BENCH_QUICK=1`" in report
    for field in ("- CPU: ", "- RAM: ", "Python 3.", "pygls "):
        assert field in report, field
    goals = report.split("### Goals", 1)[1]
    for goal in (
        "start → `initialize`",
        "idle RSS",
        "first-token pass-through",
        "answer parsing + acceptance checks",
    ):
        assert goal in goals.split("\n### ", 1)[0], goal
    for name in MINE:
        assert (results / f"{name}.md").read_text().strip() in report, name
