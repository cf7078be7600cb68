"""Benchmark reading a model's answer into a checked edit, for a unit in a big file (issue 13).

    python bench/bench_answers.py [--lines N] [--repeat R]

For a method in the middle of a generated N-line Python file and a method in an N-line
TypeScript file: every block of the answer parsed with tree-sitter, the target's definition found
and re-indented (or the doc taken), then every acceptance check, which re-parses the edited
document incrementally and compares tokens and definitions around the unit. That is what the
gateway's `accept` runs for each answer. Each sample uses a fresh `EditReader` (no memo). The
incremental re-parse alone is the floor: the same edit applied to the document's tree.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from bench_context import generate as generate_python
from bench_context import median_ms

from magray_lsp.actions.reading import EditReader, edit_scope
from magray_lsp.actions.target import Target
from magray_lsp.context.assemble import build_context
from magray_lsp.context.document import Document
from magray_lsp.context.syntax_check import reparse_edit

GOAL_MS = 2.0


def generate_typescript(lines: int) -> str:
    out = ['import { readFile } from "node:fs/promises";', ""]
    i = 0
    while len(out) < lines:
        out += [f"export class Store{i} {{", "  private items: number[] = [];", ""]
        for m in range(4):
            out += [
                f"  method{m}(x: number): number {{",
                f"    const y = x * {m} + this.items.length;",
                "    for (let k = 0; k < y; k++) {",
                "      this.items.push(k);",
                "    }",
                "    return y;",
                "  }",
                "",
            ]
        out += ["}", ""]
        i += 1
    return "\n".join(out[:lines]) + "\n"


PY_REFACTOR = """Here's the refactored `method_2` method:

```python
    def method_2(self, x: int) -> int:
        y = helper_{i}(x) + self.size * 2 + LIMIT
        self.items.extend(range(y))
        return y
```

Key changes:
- Replaced the append loop with `list.extend` over a `range`
- Behaviour is unchanged
"""

PY_WHOLE_CLASS = """```python
class Widget{i}:
    \"\"\"Widget number {i}.\"\"\"

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: list[int] = []

    def method_2(self, x: int) -> int:
        y = helper_{i}(x) + self.size * 2 + LIMIT
        self.items.extend(range(y))
        return y
```"""

PY_USAGE = """## Refactored Code

```python
def method_2(self, x: int) -> int:
    y = helper_{i}(x) + self.size * 2 + LIMIT
    self.items.extend(range(y))
    return y
```

## Example Usage

```python
w = Widget{i}(3)
print(w.method_2(1))
```
"""

PY_DOCUMENT = """Here's the method with a docstring:

```python
    def method_2(self, x: int) -> int:
        \"\"\"Append `y` counters to the items and return `y`.

        Args:
            x: The input value.

        Returns:
            The number of items appended.
        \"\"\"
        y = helper_{i}(x) + self.size * 2 + LIMIT
        for k in range(y):
            self.items.append(k)
        return y
```"""

PY_DOC_TEXT = """```text
Append `y` counters to the items and return `y`.

Args:
    x: The input value.
```"""

TS_REFACTOR = """```typescript
  method2(x: number): number {
    const y = x * 2 + this.items.length;
    this.items.push(...Array.from({ length: y }, (_, k) => k));
    return y;
  }
```

This replaces the loop with a single `push` of a generated array."""

TS_DOCUMENT = """```typescript
  /**
   * Appends `y` counters to the items.
   * @param x - The input value.
   * @returns The number of items appended.
   */
  method2(x: number): number {
    const y = x * 2 + this.items.length;
    for (let k = 0; k < y; k++) {
      this.items.push(k);
    }
    return y;
  }
```"""


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm: grammars loaded, parsers built
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def measure(
    doc: Document, at: int, action: str, answer: str, repeat: int
) -> tuple[float, float | None]:
    """Median ms of reading `answer` for the unit at `at`; for a refactor also the median of
    the incremental re-parse of the resulting edit alone (the floor)."""
    context = build_context(doc, (at, at), 4000)
    scope = edit_scope(action, Target(doc, at, at), context, None)  # type: ignore[arg-type]
    edited = EditReader(scope).read(answer)  # raises if refused: the bench would be wrong
    value = median_ms(timed(lambda: EditReader(scope).read(answer), repeat))
    if action != "refactor":
        return value, None
    c = edited.candidate
    floor = timed(lambda: reparse_edit(doc, c.start, c.end, c.text), repeat)
    return value, median_ms(floor)


def run(lines: int, repeat: int) -> tuple[list[tuple[str, float, str]], float]:
    rows: list[tuple[str, float, str]] = []
    cases = [
        ("python", generate_python(lines), "def method_2", "Widget", "py"),
        ("typescript", generate_typescript(lines), "method2(x", "Store", "ts"),
    ]
    worst = 0.0
    for language, text, marker, container, ext in cases:
        doc = Document.from_text(text, path=f"bench.{ext}")
        middle = doc.data.index(marker.encode(), len(doc.data) // 2)
        index = doc.data.rfind(container.encode(), 0, middle)
        number = doc.data[index + len(container) :].split(b":", 1)[0].split(b" ", 1)[0]
        i = number.decode().rstrip("{").strip()
        answers = (
            [
                ("refactor", "method only, prose around (Claude)", PY_REFACTOR),
                ("refactor", "whole class echoed (small model)", PY_WHOLE_CLASS),
                ("refactor", "dedented, headings + usage block (Gemini)", PY_USAGE),
                ("document", "whole method with its docstring", PY_DOCUMENT),
                ("document", "doc text block (compliant)", PY_DOC_TEXT),
            ]
            if language == "python"
            else [
                ("refactor", "method only (parsed in a synthetic class)", TS_REFACTOR),
                ("document", "method with its TSDoc", TS_DOCUMENT),
            ]
        )
        for action, shape, template in answers:
            answer = template.replace("{i}", i)
            measured = measure(doc, middle, action, answer, repeat)
            worst = max(worst, measured[0])
            rows.append((f"{language} {action}: {shape}", measured[0], f"{len(answer)} chars"))
            if measured[1] is not None:
                floor = f"{language}: incremental re-parse of that edit alone"
                rows.append((floor, measured[1], "the floor"))
    return rows, worst


def main() -> None:
    from _common import command_line, is_quick, load_average, machine, table, write_result

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="tiny setting (smoke test)")
    args = parser.parse_args()
    if args.quick or is_quick():
        args.quick, args.repeat = True, 10
    started = time.perf_counter()
    load_before = load_average()
    rows, worst = run(args.lines, args.repeat)
    load_after = load_average()
    goal = f"answer parsing + acceptance checks, unit in a {args.lines}-line file ≤ {GOAL_MS:g} ms"
    lines = [
        "### Reading answers into checked edits (`bench_answers.py`)",
        "",
        f"Command: `{command_line()}` (took {time.perf_counter() - started:.0f} s). "
        f"Machine: {machine()}. Load average {load_before:.1f} → {load_after:.1f}.",
        "",
        table(
            [f"answer ({args.lines}-line file, median of {args.repeat})", "ms", "notes"],
            [(name, f"{value:.2f}", note) for name, value, note in rows],
            "lrl",
        ),
        "",
        f"Slowest median: {worst:.2f} ms (goal ≤ {GOAL_MS:g} ms).",
    ]
    markdown = "\n".join(lines)
    data = {
        "rows": rows,
        "args": vars(args),
        "goals": [{"goal": goal, "measured": f"{worst:.2f} ms", "met": worst <= GOAL_MS}],
    }
    write_result("answers", markdown, data)
    print(markdown)


if __name__ == "__main__":
    main()
