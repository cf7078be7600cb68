"""Pulling the usable part out of model answers."""

from __future__ import annotations

import pytest

from magray_lsp.actions.answers import code_from_answer, doc_text_from_answer, fenced_block


def test_fenced_block_takes_the_longest_block_and_keeps_inner_backticks() -> None:
    answer = (
        "Here:\n```python\nx = 1\n```\n"
        "and the full version:\n```python\ndef f():\n    return '`'\n```\n"
    )
    assert fenced_block(answer) == "def f():\n    return '`'"
    assert fenced_block("no code here") is None
    assert fenced_block("~~~\ntilde\n~~~") == "tilde"


def test_code_without_a_fence_is_taken_whole() -> None:
    assert code_from_answer("\ndef f():\n    pass\n") == "def f():\n    pass"


@pytest.mark.parametrize(
    "answer",
    [
        "```text\nSplit a header line.\n```",
        '"""Split a header line."""',
        "/**\n * Split a header line.\n */",
        "/// Split a header line.",
        "// Split a header line.",
        "# Split a header line.",
        "--- Split a header line.",
        "Split a header line.",
    ],
)
def test_doc_text_loses_comment_markers(answer: str) -> None:
    assert doc_text_from_answer(answer) == "Split a header line."


def test_doc_text_keeps_structure() -> None:
    answer = "```text\nParse headers.\n\nArgs:\n    block: the raw header block.\n```"
    assert (
        doc_text_from_answer(answer) == "Parse headers.\n\nArgs:\n    block: the raw header block."
    )
