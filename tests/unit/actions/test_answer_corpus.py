"""The answer corpus (tests/data/answers) through the real answer pipeline, byte for byte.

Each case is an answer shaped the way a real model replies; it must become exactly the expected
document, or be refused by the named check. See tests/answer_corpus.py for the layout and
docs/answers.md for the pass rate per shape."""

from __future__ import annotations

import pytest
from tests.answer_corpus import Case, load_cases, run_case

CASES = load_cases()


def test_the_corpus_is_broad() -> None:
    languages = {c.language for c in CASES}
    shapes = {s for c in CASES for s in c.shapes}
    assert len(CASES) >= 80 and len(languages) >= 6
    required = {
        "compliant",
        "prose-before",
        "prose-after",
        "whole-unit-with-doc",
        "doc-markers",
        "whole-class",
        "whole-file",
        "dedented",
        "several-blocks",
        "other-fence",
        "no-fence",
        "truncated",
        "renamed",
        "crlf",
        "tabs",
        "document-changes-code",
        "placeholder",
    }
    assert required <= shapes, required - shapes
    for case in CASES:
        assert (case.refusal is None) == (case.expected is not None), case.name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_answer(case: Case) -> None:
    verdict = run_case(case)
    if case.refusal is not None:
        assert verdict.refusal is not None, f"accepted; expected the {case.refusal} check to refuse"
        assert verdict.check == case.refusal, verdict.refusal
        assert verdict.refusal.startswith(f"{case.action}: {case.refusal}: ")
    else:
        assert verdict.refusal is None, verdict.refusal
        assert verdict.text == case.expected
