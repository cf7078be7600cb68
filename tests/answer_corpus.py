"""The answer corpus: realistic model answers run through the real answer pipeline.

Each case is a folder `tests/data/answers/cases/<language>/<name>/` with

- `case.toml`: `source` (a file in `tests/data/answers/sources/`), `at` (text in the source the
  cursor is put on; `select` extends it to a selection), `action` (document | refactor),
  optional `instruction`, `model` (whose reply style the answer imitates), `shapes` (what makes
  the answer hard), optional `refusal` (the check that must refuse it), `note`;
- `answer.md`: the answer, byte for byte as the model sends it;
- `expected.<ext>`: the whole document after the edit (absent when a refusal is expected).

`run_case` goes through the functions the gateway's `accept` uses (`perform.edit_reader`, then
`EditReader.refusal` and `EditReader.read`) and applies the minimal LSP edits `run_action`
returns. `python -m tests.answer_corpus` rewrites the table in docs/answers.md.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from magray_lsp.task import Action

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "answers"
SOURCES = CORPUS / "sources"
CASES = CORPUS / "cases"
DOC = ROOT / "docs" / "answers.md"
BEGIN = "<!-- answers:table:begin (python -m tests.answer_corpus rewrites up to the end marker) -->"
END = "<!-- answers:table:end -->"


@dataclass(frozen=True, slots=True)
class Case:
    name: str  # "<language>/<folder>"
    folder: Path
    source: Path
    at: str
    select: str | None
    action: str
    instruction: str | None
    model: str
    shapes: tuple[str, ...]
    refusal: str | None
    note: str

    @property
    def language(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def answer(self) -> str:
        return (self.folder / "answer.md").read_bytes().decode("utf-8")

    @property
    def expected_path(self) -> Path:
        return self.folder / f"expected{self.source.suffix}"

    @property
    def expected(self) -> str | None:
        path = self.expected_path
        return path.read_bytes().decode("utf-8") if path.exists() else None


def load_cases() -> list[Case]:
    cases = []
    for toml in sorted(CASES.glob("*/*/case.toml")):
        data = tomllib.loads(toml.read_text("utf-8"))
        folder = toml.parent
        cases.append(
            Case(
                name=f"{folder.parent.name}/{folder.name}",
                folder=folder,
                source=SOURCES / data["source"],
                at=data["at"],
                select=data.get("select"),
                action=data["action"],
                instruction=data.get("instruction"),
                model=data["model"],
                shapes=tuple(data["shapes"]),
                refusal=data.get("refusal"),
                note=data.get("note", ""),
            )
        )
    return cases


@dataclass(frozen=True, slots=True)
class Verdict:
    refusal: str | None  # the whole refusal message, when refused
    text: str | None  # the document after the edits, when accepted
    #: what the reader before issue 13 made of the answer (None: refused), for the table
    baseline: str | None = None

    @property
    def check(self) -> str | None:
        """The refusing check's name ("keeps-name"), from `"{action}: {check}: {why}"`."""
        return self.refusal.split(": ", 2)[1] if self.refusal else None


def run_case(case: Case) -> Verdict:
    from magray_lsp.actions.perform import edit_reader
    from magray_lsp.actions.target import Target
    from magray_lsp.actions.tasks import prepare
    from magray_lsp.context.document import Document
    from magray_lsp.context.edits import apply_edits, diff_edits

    text = case.source.read_bytes().decode("utf-8")
    doc = Document.from_text(text, path=str(case.source), uri=case.source.as_uri())
    start, end = _cursor(case, doc.data)
    target = Target(doc, start, end, case.source)
    action: Action = "document" if case.action == "document" else "refactor"
    prepared = prepare(action, target, instruction=case.instruction, context_budget=4000)
    reader = edit_reader(action, target, prepared, case.instruction)
    assert reader is not None
    baseline = _regex_reader(action, target, prepared.context.byte_span, case.answer)
    refusal = reader.refusal(case.answer)
    if refusal is not None:
        return Verdict(refusal, None, baseline)
    new_text = reader.read(case.answer).text
    # what the editor gets: minimal LSP edits against the snapshot, applied the client's way
    applied = apply_edits(text, diff_edits(text, new_text))
    assert applied == new_text
    return Verdict(None, applied, baseline)


def _cursor(case: Case, data: bytes) -> tuple[int, int]:
    start = data.index(case.at.encode())
    end = start
    if case.select is not None:
        end = data.index(case.select.encode(), start) + len(case.select.encode())
    return start, end


def passes(case: Case, verdict: Verdict) -> bool:
    if case.refusal is not None:
        return verdict.check == case.refusal
    return verdict.text is not None and verdict.text == case.expected


def baseline_passes(case: Case, verdict: Verdict) -> bool:
    """The regex reader had no named checks: a refusal of any kind counts as right."""
    if case.refusal is not None:
        return verdict.baseline is None
    return verdict.baseline == case.expected


# --- the reader before issue 13, kept here only as the table's baseline ---------------------

_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n`]*\n(.*?)^\1[ \t]*$", re.DOTALL | re.MULTILINE)
_TRAILING_MARKERS = re.compile(r'\s*(?:"""|\'\'\'|\*/)\s*$')
_DOC_MARKERS = re.compile(r'^\s*(?:"""|\'\'\'|/\*\*|/\*|\*/|\*(?!\*)|///|//!|//|#|---|--)\s?')


def _regex_reader(action: str, target: Any, span: tuple[int, int], answer: str) -> str | None:
    """The longest fenced block (or the whole answer), checked only for "parses no worse"."""
    from magray_lsp.context.docstrings import docstring_edit
    from magray_lsp.context.syntax_check import is_acceptable_edit

    blocks = [m.group(2) for m in _FENCE.finditer(answer)]
    block = max(blocks, key=len).rstrip("\n") if blocks else None
    doc = target.doc
    if action == "document":
        unit = target.unit()
        text = block if block is not None else answer.strip()
        lines = [
            _TRAILING_MARKERS.sub("", _DOC_MARKERS.sub("", line, count=1)).rstrip()
            for line in text.splitlines()
        ]
        lines = [line for line in lines if line not in ('"""', "'''", "*/")]
        text = "\n".join(lines).strip()
        signature = unit.signature.strip().splitlines()[0] if unit.signature.strip() else None
        if signature and signature in text:
            return None
        edit = docstring_edit(doc, unit, text)
        if edit is None or not is_acceptable_edit(
            doc, edit.start_byte, edit.end_byte, edit.new_text
        ):
            return None
        return str(edit.document)
    code = block if block is not None else answer.strip("\n")
    if not code.strip():
        return None
    start, end = span
    old = doc.data[start:end].decode("utf-8", "replace")
    if old.endswith("\n") and not code.endswith("\n"):
        code += "\r\n" if old.endswith("\r\n") else "\n"
    if "\r\n" in old and "\r\n" not in code:
        code = code.replace("\n", "\r\n")
    if not is_acceptable_edit(doc, start, end, code):
        return None
    return str((doc.data[:start] + code.encode() + doc.data[end:]).decode("utf-8", "replace"))


# --- the table in docs/answers.md ------------------------------------------------------------


def table(results: list[tuple[Case, Verdict]]) -> str:
    groups: dict[str, dict[str, list[tuple[bool, bool]]]] = {
        "shape": defaultdict(list),
        "reply style of": defaultdict(list),
        "language": defaultdict(list),
    }
    for case, verdict in results:
        outcome = (passes(case, verdict), baseline_passes(case, verdict))
        for shape in case.shapes:
            groups["shape"][shape].append(outcome)
        groups["reply style of"][case.model].append(outcome)
        groups["language"][case.language].append(outcome)
    now = sum(passes(c, v) for c, v in results)
    before = sum(baseline_passes(c, v) for c, v in results)
    accepted = sum(1 for c, _v in results if c.refusal is None)

    def rate(hits: int, total: int) -> str:
        return f"{100 * hits / max(1, total):.0f}%"

    lines = [
        BEGIN,
        "",
        f"{len(results)} answers in {len(groups['language'])} languages: {accepted} must become "
        f"the expected document byte for byte, {len(results) - accepted} must be refused by the "
        f"named check. As expected: {now} of {len(results)} ({rate(now, len(results))}). "
        f"The reader before issue 13 (the longest fenced block, checked only for syntax; a "
        f"refusal of any kind counted as right) on the same answers: {before} of {len(results)} "
        f"({rate(before, len(results))}).",
        "",
    ]
    for title, group in groups.items():
        lines += [
            f"| {title} | cases | as expected | pass rate | before (regex reader) |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, outcomes in sorted(group.items()):
            ok = sum(o[0] for o in outcomes)
            old = sum(o[1] for o in outcomes)
            total = len(outcomes)
            lines.append(f"| {name} | {total} | {ok} | {rate(ok, total)} | {rate(old, total)} |")
        lines.append("")
    failing = [c.name for c, v in results if not passes(c, v)]
    lines += ["Not as expected: " + (", ".join(f"`{n}`" for n in failing) or "none") + ".", ""]
    return "\n".join([*lines, END])


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the answer corpus; rewrite its table.")
    parser.add_argument("--out", type=Path, default=DOC)
    parser.add_argument("--check", action="store_true", help="only print what is not as expected")
    args = parser.parse_args()
    results = [(case, run_case(case)) for case in load_cases()]
    for case, verdict in results:
        if not passes(case, verdict):
            got = verdict.refusal or "an edit that differs from expected"
            print(f"NOT AS EXPECTED {case.name}: {got}", file=sys.stderr)
    if args.check:
        return
    block = table(results)
    existing = args.out.read_text("utf-8") if args.out.exists() else ""
    if BEGIN in existing and END in existing:
        text = existing.split(BEGIN, 1)[0] + block + existing.split(END, 1)[1]
    else:
        text = existing.rstrip() + "\n\n" + block + "\n"
    args.out.write_text(text, "utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
