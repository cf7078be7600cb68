from __future__ import annotations

import pytest
from tests.unit.context.context_samples import sample_text

from magray_lsp.context import (
    Document,
    error_count,
    find_unit,
    is_acceptable,
    is_acceptable_edit,
    syntax_errors,
)
from magray_lsp.context.syntax_check import reparse_edit

# language -> (a valid refactor of a snippet in the sample, a broken one)
REFACTORS = {
    "python": ("return inventory.total", "return (inventory.total)", "return inventory.total *"),
    "javascript": ("return cache;", "return cache ?? null;", "return cache(;"),
    "typescript": (
        "return distance(this.center, p) <= this.radius;",
        "return distance(p, this.center) <= this.radius;",
        "return distance(this.center, p <= this.radius;",
    ),
    "tsx": ("return todo;", "return { ...todo };", "return { ...todo ;"),
    "rust": (
        "self.balance += amount;",
        "self.balance = self.balance + amount;",
        "self.balance += ;",
    ),
    "go": ("return r.W * r.H", "return r.H * r.W", "return r.W * (r.H"),
    "java": ("books.add(book);", "this.books.add(book);", "books.add(book;"),
    "c": ("v->len = 0;", "v->len = 0u;", "v->len = ;"),
    "cpp": ("++count;", "count += 1;", "count += ;"),
    "ruby": ("total * 0.2", "total * 0.25", "total * (0.2"),
    "lua": ("return depth <= MAX_DEPTH", "return depth < MAX_DEPTH + 1", "return depth <= ("),
}


def test_samples_parse_without_errors(language: str) -> None:
    assert error_count(language, sample_text(language)) == 0


def test_valid_refactor_accepted_broken_rejected(language: str) -> None:
    old = sample_text(language)
    anchor, good, bad = REFACTORS[language]
    assert anchor in old
    good_text = old.replace(anchor, good, 1)
    bad_text = old.replace(anchor, bad, 1)
    assert is_acceptable(language, old, good_text)
    assert not is_acceptable(language, old, bad_text)
    assert error_count(language, bad_text) > 0
    issues = syntax_errors(language, bad_text)
    assert issues
    assert issues[0].line >= 0


def test_an_existing_error_may_stay_but_not_grow() -> None:
    old = "def f(:\n    pass\n"
    assert is_acceptable("python", old, old.replace("pass", "return 1"))
    assert not is_acceptable("python", old, old + "def g(:\n    pass\n")


def test_incremental_check_against_a_document() -> None:
    doc = Document.from_text(sample_text("rust"), path="lib.rs")
    unit = find_unit(doc, doc.data.index(b"self.balance += amount"))
    assert unit is not None
    start, end = unit.byte_span
    original = doc.data[start:end].decode()
    assert is_acceptable_edit(doc, start, end, original.replace("+=", "-="))
    assert not is_acceptable_edit(doc, start, end, original.replace("{", "", 1))


@pytest.mark.parametrize("language", [None, "plaintext", "cobol"])
def test_unknown_languages_cannot_be_judged(language: str | None) -> None:
    assert error_count(language, "this (is [not code") == 0
    assert syntax_errors(language, "((((") == []
    assert is_acceptable(language, "a", "((((")


@pytest.mark.parametrize("widen", [False, True])
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("        return self.items\n", '        """Doc."""\n        return self.items\n'),
        ("return self.items", "return list(self.items)"),
        ("def get(self):", "def get(self) -> list:"),
        ("        return self.items\n", "        pass\n"),
        ("return self.items", "return (self.items"),  # a new error
    ],
)
def test_a_reparse_equals_a_full_parse_however_wide_the_reported_edit(
    old: str, new: str, widen: bool
) -> None:
    text = (
        "class Box:\n"
        "    def __init__(self):\n"
        "        self.items = []\n"
        "\n"
        "    def get(self):\n"
        "        return self.items\n"
        "\n"
        "    def size(self):\n"
        "        return 0\n"
    )
    doc = Document.from_text(text, language_id="python")
    start = doc.data.index(old.encode())
    unit = find_unit(doc, start)
    assert unit is not None
    lines = (doc.data.rfind(b"\n", 0, unit.byte_span[0]) + 1, unit.byte_span[1] + 1)
    reparsed = reparse_edit(
        doc, start, start + len(old.encode()), new, widen=lines if widen else None
    )
    full = Document.from_text(text.replace(old, new, 1), language_id="python")
    assert reparsed.data == full.data
    assert str(reparsed.tree.root_node) == str(full.tree.root_node)  # type: ignore[union-attr]
    assert reparsed.tree.root_node.end_point == full.tree.root_node.end_point  # type: ignore[union-attr]
