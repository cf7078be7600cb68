"""Benchmark the context package on a generated Python file.

    python bench/bench_context.py [--lines N] [--repeat R]

Measures medians of: a full parse, an incremental re-parse after a one-line edit (through
ParseCache, as the server does it), unit lookup, context assembly, and the cache keys of the
assembled target and context (as `actions/tasks.py` computes them); prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from magray_lsp.context import (
    Document,
    ParseCache,
    Position,
    Range,
    build_context,
    find_unit,
    get_spec,
    normalized_code_key,
)
from magray_lsp.context.parse_cache import INLINE_PARSE_MAX_BYTES
from magray_lsp.context.parsing import parse
from magray_lsp.context.rebase import ByteEdit, rebase


def generate(lines: int) -> str:
    """Classes with methods and helper functions, like a large real module."""
    out = ["import os", "import sys", "from typing import Any", "", "LIMIT = 10", ""]
    i = 0
    while len(out) < lines:
        out += [
            f"class Widget{i}:",
            f'    """Widget number {i}."""',
            "",
            "    def __init__(self, size: int) -> None:",
            "        self.size = size",
            "        self.items: list[int] = []",
            "",
        ]
        for m in range(4):
            out += [
                f"    def method_{m}(self, x: int) -> int:",
                f"        y = helper_{i}(x) + self.size * {m} + LIMIT",
                "        for k in range(y):",
                "            self.items.append(k)",
                "        return y",
                "",
            ]
        out += ["", f"def helper_{i}(value: int) -> int:", f"    return value * {i}", "", ""]
        i += 1
    return "\n".join(out[:lines]) + "\n"


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


async def run(lines: int, repeat: int) -> list[tuple[str, float, str]]:
    text = generate(lines)
    spec = get_spec("python")
    assert spec is not None
    data = text.encode()
    rows: list[tuple[str, float, str]] = []

    full = timed(lambda: parse(spec, data), max(3, repeat // 10))
    rows.append(("full parse", median_ms(full), f"{len(data) / 1e6:.2f} MB, {lines} lines"))

    cache = ParseCache()
    uri = "file:///bench.py"
    cache.open(uri, text, language_id="python", version=0)
    doc = await cache.get_document(uri)
    assert doc is not None and doc.tree is not None
    line = lines // 2
    while not doc.text.split("\n")[line].startswith("        return y"):
        line += 1
    edit_times: list[float] = []
    lookup_times: list[float] = []
    assemble_times: list[float] = []
    total_times: list[float] = []
    unit = None
    for version in range(1, repeat + 1):
        # Type one character, then delete it: every iteration is a real one-line edit.
        if version % 2:
            rng, new = Range(Position(line, 8), Position(line, 8)), "x"
        else:
            rng, new = Range(Position(line, 8), Position(line, 9)), ""
        start = time.perf_counter()
        cache.apply_change(uri, rng, new, version)
        doc = await cache.get_document(uri)
        parsed = time.perf_counter()
        assert doc is not None and doc.tree is not None
        at = doc.line_index.offset_at(line, 10)
        unit = find_unit(doc, at)
        found = time.perf_counter()
        assert unit is not None
        context = build_context(doc, unit, 2000)
        done = time.perf_counter()
        edit_times.append(parsed - start)
        lookup_times.append(found - parsed)
        assemble_times.append(done - found)
        total_times.append(done - start)
    assert unit is not None
    rows.append(
        ("incremental re-parse (1-line edit)", median_ms(edit_times), "apply_change + get_document")
    )
    rows.append(("unit lookup", median_ms(lookup_times), f"{unit.kind} {unit.qualified_name}"))
    rows.append(
        (
            "context assembly (2000-token budget)",
            median_ms(assemble_times),
            f"{context.context_tokens} tokens, sections: {', '.join(context.sections[1:])}",
        )
    )
    rows.append(("re-parse + lookup + assembly", median_ms(total_times), "goal: < 5 ms"))
    # the two keys alternate, so that load from other work on the machine hits both alike
    keys: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeat):
        for comments in keys:
            start = time.perf_counter()
            normalized_code_key(spec, context.target, comments=comments)
            normalized_code_key(spec, context.text)
            keys[comments].append(time.perf_counter() - start)
    sizes = f"{len(context.target)} + {len(context.text)} chars"
    rows.append(
        (
            "cache keys, explain/hover (target + context)",
            median_ms(keys[False]),
            f"target comment-blind; {sizes}",
        )
    )
    rows.append(
        (
            "cache keys, edit actions (target + context)",
            median_ms(keys[True]),
            f"target comments kept; {sizes}",
        )
    )
    rows += change_log_rows(text, line, repeat)
    standalone = Document.from_text(text, path="bench.py")
    listing = timed(lambda: Document(uri, 0, spec, standalone.data).file_tokens, repeat)
    rows.append(
        ("file size estimate (listing)", median_ms(listing), f"{standalone.file_tokens} tokens")
    )
    return rows


def change_log_rows(text: str, line: int, repeat: int) -> list[tuple[str, float, str]]:
    """A keystroke (`apply_change` alone: what didChange costs before any parse) with and
    without a held snapshot, alternated so machine load hits both alike; then rebasing a
    docstring edit over 100 logged keystrokes above the unit."""
    cache = ParseCache()
    uri = "file:///bench-log.py"
    cache.open(uri, text, language_id="python", version=0)
    # Per-burst means: single keystrokes are bimodal (a delete re-lexes less than an insert),
    # and a median that sits between the two modes flips from run to run.
    times: dict[bool, list[float]] = {False: [], True: []}
    version = 0
    for round_ in range(max(repeat, 2)):
        # bursts of keystrokes (an answer is awaited for seconds), in alternating order so that
        # machine load hits both variants alike
        for held in (False, True) if round_ % 2 else (True, False):
            mark = cache.hold(uri) if held else None
            start = time.perf_counter()
            for i in range(32):  # one cycle of the line index (flattened every 32 edits)
                version += 1
                new, end = ("x", 8) if i % 2 == 0 else ("", 9)  # type a character, delete it
                cache.apply_change(uri, Range(Position(line, 8), Position(line, end)), new, version)
            times[held].append((time.perf_counter() - start) / 32)
            if mark is not None:
                cache.release(uri, mark)
    free, held = median_ms(times[False]), median_ms(times[True])
    inline = "yes" if len(text.encode()) <= INLINE_PARSE_MAX_BYTES else "no (large file)"
    rows = [
        ("keystroke (apply_change), nothing held", free, f"mean of 32; inline parse: {inline}"),
        (
            "keystroke while an answer is awaited",
            held,
            f"change log kept; {held / free:.2f}× the above",
        ),
    ]
    snapshot = cache.peek(uri)
    assert snapshot is not None
    mark = cache.hold(uri)
    assert mark is not None
    unit_line = snapshot.line_index.line_start(line - 2)
    unit = (unit_line, snapshot.line_index.line_start(line + 1))
    edit = ByteEdit(unit[0] + 4, unit[0] + 4, '    """Doc."""\n')
    for i in range(100):
        version += 1
        cache.apply_change(uri, Range(Position(i, 0), Position(i, 0)), "#", version)
    history = cache.changes_since(uri, mark)
    assert history is not None
    rebases = timed(
        lambda: rebase(snapshot.data, history.current.data, history.changes, unit, [edit]), repeat
    )
    rows.append(
        ("rebase an edit over 100 changes", median_ms(rebases), "map, then verify the unit's bytes")
    )
    cache.release(uri, mark)
    return rows


def main() -> None:
    from _common import (
        add_loop_option,
        command_line,
        is_quick,
        machine,
        run_on_loop,
        table,
        use_loop,
        write_result,
    )

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="tiny setting (smoke test)")
    add_loop_option(parser)
    args = parser.parse_args()
    use_loop(args.loop)
    if args.quick or is_quick():
        args.quick, args.lines, args.repeat = True, 1000, 10
    started = time.perf_counter()
    rows = run_on_loop(run(args.lines, args.repeat))
    lines = [
        "### Context package in-process (`bench_context.py`)",
        "",
        f"Command: `{command_line()}` (took {time.perf_counter() - started:.0f} s). "
        f"Machine: {machine()}.",
        "",
        table(
            [f"operation ({args.lines} lines, median of {args.repeat})", "ms", "notes"],
            [(name, f"{value:.2f}", note) for name, value, note in rows],
            "lrl",
        ),
    ]
    markdown = "\n".join(lines)
    write_result("context", markdown, {"rows": rows, "args": vars(args)})
    print(markdown)


if __name__ == "__main__":
    main()
