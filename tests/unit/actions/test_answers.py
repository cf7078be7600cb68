"""An answer as text: its blocks, its prose, and documentation without comment syntax."""

from __future__ import annotations

import pytest

from magray_lsp.actions.answers import (
    answer_blocks,
    doc_text,
    looks_like_prose,
    whole_answer,
)


def test_every_block_is_kept_in_order_with_its_tag() -> None:
    answer = (
        "Here:\n```python\nx = 1\n```\nand the full version:\n"
        "~~~ {.py}\ndef f():\n    return '`'\n~~~\nUsage:\n```\nf()\n```\n"
    )
    blocks = answer_blocks(answer)
    assert [(b.text, b.tag, b.fenced, b.closed) for b in blocks] == [
        ("x = 1", "python", True, True),
        ("def f():\n    return '`'", "py", True, True),
        ("f()", "", True, True),
    ]


def test_a_fence_indented_in_a_list_item_loses_that_indentation() -> None:
    answer = "1. Use sum:\n\n   ```python\n   def f(self):\n       return 1\n   ```\n"
    assert answer_blocks(answer)[0].text == "def f(self):\n    return 1"


def test_an_answer_cut_off_inside_a_block_keeps_it_as_unclosed() -> None:
    blocks = answer_blocks("Sure:\n```go\nfunc F() {\n\treturn\n")
    assert [(b.text, b.closed) for b in blocks] == [("func F() {\n\treturn", False)]


def test_an_unfenced_answer_is_one_block_without_its_lead_in() -> None:
    blocks = answer_blocks("Here is the refactored method:\n\n  def load(path)\n  end\n")
    assert [(b.text, b.fenced) for b in blocks] == [("  def load(path)\n  end", False)]
    assert answer_blocks("```") == []  # a lone fence line: no block, and not code either


def test_crlf_answers_are_read_like_lf_ones() -> None:
    assert answer_blocks("```c\r\nint x;\r\n```\r\n")[0].text == "int x;"


def test_the_whole_answer_fallback_blanks_fence_lines() -> None:
    answer = "  shipping() {\n    return 0;\n  }\n```\nThis uses a ternary."
    assert whole_answer(answer).text == "  shipping() {\n    return 0;\n  }\n\nThis uses a ternary."


@pytest.mark.parametrize(
    "line",
    [
        "Here is the refactored code:",
        "Here's the refactored `area()` function:",
        "This version avoids the extra loop.",
        "Sum the amounts of all entries up to the date",
    ],
)
def test_sentences_are_prose(line: str) -> None:
    assert looks_like_prose(line)


@pytest.mark.parametrize(
    "line",
    ["return a + b", "String s = x;", "Sure!", "x = Foo(bar, baz)", "raise ValueError(msg)"],
)
def test_code_is_not_prose(line: str) -> None:
    assert not looks_like_prose(line)


@pytest.mark.parametrize(
    "text",
    [
        "Split a header line.",
        '"""Split a header line."""',
        'r"""Split a header line."""',
        "/**\n * Split a header line.\n */",
        "/// Split a header line.",
        "// Split a header line.",
        "# Split a header line.",
        "--- Split a header line.",
    ],
)
def test_doc_text_loses_comment_markers(text: str) -> None:
    assert doc_text(text) == "Split a header line."


def test_doc_text_keeps_structure_and_markdown() -> None:
    text = "Parse headers.\n\nArgs:\n    block: the raw header block.\n"
    assert doc_text(text) == "Parse headers.\n\nArgs:\n    block: the raw header block."
    # markers are only stripped when every line has one: a list or a heading survives
    assert doc_text("Parse headers.\n\n* one\n* two") == "Parse headers.\n\n* one\n* two"
    assert doc_text("# Errors\nWhen it fails.") == "# Errors\nWhen it fails."
    assert doc_text("/// Parse.\n///\n/// # Errors") == "Parse.\n\n# Errors"
