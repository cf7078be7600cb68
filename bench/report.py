"""Stitch the benchmark results into docs/benchmarks.md.

    python bench/report.py [--results DIR] [--out FILE] [--command "make bench"]

Every benchmark writes `<name>.md` (a section starting with its own `### ` title) and
`<name>.json` into the results folder (only such pairs count); the JSON object may carry
`"goals"`: a list of `{"goal": ..., "measured": ..., "met": true|false}` for the summary table.
The generated part (machine, command, goals, sections) replaces what lies between the two
marker comments of the output file; the hand-written text around them is kept. A file without
the markers gets a short header and the generated part.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from _common import ROOT, cpu_model, results_dir, table

BEGIN = "<!-- bench:generated:begin (bench/report.py rewrites everything up to the end marker) -->"
END = "<!-- bench:generated:end -->"
# Sections in this order; any other result follows, sorted by name.
ORDER = (
    "startup",
    "editor",
    "cache_value",
    "prompt_cache",
    "context",
    "answers",
    "local_threads",
    "gateway",
    "adapters",
    "ledger_commit",
    "team",
)
PACKAGES = ("pygls", "lsprotocol", "httpx", "aiohttp", "pydantic", "tree-sitter")
LITELLM_PYTHON = ROOT / "bench" / ".venv-litellm" / "bin" / "python"


def ram_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def versions() -> str:
    out = []
    for name in PACKAGES:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    if LITELLM_PYTHON.exists():
        probe = "import importlib.metadata as m; print(m.version('litellm'))"
        found = subprocess.run(
            [str(LITELLM_PYTHON), "-c", probe], capture_output=True, text=True, check=False
        )
        if found.returncode == 0:
            out.append(f"litellm {found.stdout.strip()} (bench/.venv-litellm)")
    return ", ".join(out)


def git_revision() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def machine_lines(command: str) -> list[str]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"- Command: `{command}`, {now}, revision {git_revision()}",
        f"- CPU: {cpu_model()}, {cores} cores available (`nproc`: {os.cpu_count()})",
        f"- RAM: {ram_gb()}; OS: {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({sys.executable.replace(str(ROOT) + '/', '')}); "
        f"{versions()}",
    ]


def ordered(names: list[str]) -> list[str]:
    known = [n for n in ORDER if n in names]
    return known + sorted(n for n in names if n not in ORDER)


def goals_table(results: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, data in results.items():
        for goal in data.get("goals") or []:
            verdict = "**met**" if goal.get("met") else "**not met**"
            rows.append((goal.get("goal", "?"), goal.get("measured", ""), verdict, f"`{name}`"))
    if not rows:
        return "(no result declared goals)"
    return table(["goal (issue)", "measured", "verdict", "section"], rows, "lrll")


def generated(folder: Path, command: str) -> str:
    # a result is a .md with its .json beside it (a quick run's own report.md has none)
    names = sorted(p.stem for p in folder.glob("*.md") if p.with_suffix(".json").exists())
    if not names:
        raise SystemExit(f"no results in {folder}: run the benchmarks first (make bench)")
    results: dict[str, dict[str, Any]] = {}
    for name in ordered(names):
        path = folder / f"{name}.json"
        loaded = json.loads(path.read_text()) if path.exists() else {}
        results[name] = loaded if isinstance(loaded, dict) else {}
    sections = [(folder / f"{name}.md").read_text().strip() for name in ordered(names)]
    return "\n".join(
        [
            BEGIN,
            "",
            "## Latest run",
            "",
            *machine_lines(command),
            "",
            "### Goals",
            "",
            goals_table(results),
            "",
            "\n\n".join(sections),
            "",
            END,
        ]
    )


HEADER = """# Benchmarks

`make bench` runs every benchmark in `bench/` and rewrites the generated part of this file.
"""


def stitch(existing: str, block: str) -> str:
    if BEGIN in existing and END in existing:
        before = existing.split(BEGIN, 1)[0]
        after = existing.split(END, 1)[1]
        return before + block + after
    return (existing.rstrip() + "\n\n" if existing.strip() else HEADER + "\n") + block + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=None, help="results folder")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--command", default="make bench", help="what produced the results")
    args = parser.parse_args()
    folder = args.results or results_dir()
    existing = args.out.read_text() if args.out.exists() else ""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(stitch(existing, generated(folder, args.command)))
    print(f"wrote {args.out} from {folder}")


if __name__ == "__main__":
    main()
