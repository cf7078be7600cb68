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
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

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
    start = doc.data.index(case.at.encode())
    end = start
    if case.select is not None:
        end = doc.data.index(case.select.encode(), start) + len(case.select.encode())
    target = Target(doc, start, end, case.source)
    action = "document" if case.action == "document" else "refactor"
    prepared = prepare(action, target, instruction=case.instruction, context_budget=4000)
    reader = edit_reader(action, target, prepared, case.instruction)
    assert reader is not None
    refusal = reader.refusal(case.answer)
    if refusal is not None:
        return Verdict(refusal, None)
    new_text = reader.read(case.answer).text
    # what the editor gets: minimal LSP edits against the snapshot, applied the client's way
    applied = apply_edits(text, diff_edits(text, new_text))
    assert applied == new_text
    return Verdict(None, applied)


def passes(case: Case, verdict: Verdict) -> bool:
    if case.refusal is not None:
        return verdict.check == case.refusal
    return verdict.text is not None and verdict.text == case.expected


# --- the table in docs/answers.md ------------------------------------------------------------


def table(results: list[tuple[Case, Verdict]]) -> str:
    by_shape: dict[str, list[bool]] = defaultdict(list)
    by_model: dict[str, list[bool]] = defaultdict(list)
    by_language: dict[str, list[bool]] = defaultdict(list)
    for case, verdict in results:
        ok = passes(case, verdict)
        for shape in case.shapes:
            by_shape[shape].append(ok)
        by_model[case.model].append(ok)
        by_language[case.language].append(ok)
    total = [passes(c, v) for c, v in results]
    accepted = sum(1 for c, _v in results if c.refusal is None)

    def rows(groups: dict[str, list[bool]]) -> list[str]:
        out = []
        for name, oks in sorted(groups.items()):
            out.append(f"| {name} | {len(oks)} | {sum(oks)} | {100 * sum(oks) / len(oks):.0f}% |")
        return out

    def section(title: str, groups: dict[str, list[bool]]) -> list[str]:
        return [
            f"| {title} | cases | as expected | pass rate |",
            "|---|---:|---:|---:|",
            *rows(groups),
            "",
        ]

    failing = [c.name for c, v in results if not passes(c, v)]
    return "\n".join(
        [
            BEGIN,
            "",
            f"{len(results)} answers in {len(by_language)} languages: {accepted} must become "
            f"the expected document byte for byte, {len(results) - accepted} must be refused by "
            f"the named check. As expected: {sum(total)} of {len(total)}"
            f" ({100 * sum(total) / max(1, len(total)):.0f}%).",
            "",
            *section("shape", by_shape),
            *section("reply style of", by_model),
            *section("language", by_language),
            "Not as expected: " + (", ".join(f"`{n}`" for n in failing) or "none") + ".",
            "",
            END,
        ]
    )


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
