from __future__ import annotations

import pytest
from tests.unit.context.context_samples import SAMPLES, offset_of, sample_doc

from magray_lsp.context import (
    Document,
    apply_edits,
    docstring_edit,
    error_count,
    find_unit,
)
from magray_lsp.context.units import Unit

DOC = "Summary of what it does.\n\nDetails: handles `x` and \\d+ patterns.\n- a bullet"

# language -> (an undocumented unit, a documented unit, the doc delimiter to look for)
TARGETS = {
    "python": ("def save", "class Inventory", '"""'),
    "javascript": ("async function withRetry", "export class TtlCache", "/**"),
    "typescript": ("scale(factor", "export function distance", "/**"),
    "tsx": ("export function TodoList", "function TodoRow", "/**"),
    "rust": ("pub fn deposit", "pub fn withdraw", "///"),
    "go": ("func (r *Rect) Scale", "func (r Rect) Area", "// "),
    "java": ("public void addBook", "findByTitle(String", "/**"),
    "c": ("int vec_push", "vec_t *vec_new", "/**"),
    "cpp": ("double total_area", "class Shape {", "/**"),
    "ruby": ("def to_s", "def total", "# "),
    "lua": ("function Stack:pop", "function Stack:peek", "---"),
}


def refind(doc: Document, unit: Unit) -> Unit:
    """The same unit in an edited document (found by kind, name and class)."""
    needle = unit.signature.split("\n")[-1][:20].encode()
    pos = doc.data.find(needle)
    assert pos != -1
    found = find_unit(doc, pos + 1)
    assert found is not None
    assert (found.kind, found.name, found.class_name) == (unit.kind, unit.name, unit.class_name)
    return found


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_insert_doc_comment(language: str, crlf: bool) -> None:
    doc = sample_doc(language, crlf=crlf)
    unit = find_unit(doc, offset_of(doc, TARGETS[language][0], delta=2))
    assert unit is not None and unit.docstring is None
    edit = docstring_edit(doc, unit, DOC)
    assert edit is not None
    assert not edit.replaced
    assert TARGETS[language][2] in edit.new_text
    new_doc = Document.from_text(edit.document, path=SAMPLES[language])
    assert error_count(language, new_doc.data) == error_count(language, doc.data) == 0
    assert refind(new_doc, unit).docstring == DOC
    if crlf:  # the document's line endings are kept
        assert "\r\n" in edit.new_text and "\n" not in edit.new_text.replace("\r\n", "")
    # The LSP edit does the same thing to the old text.
    assert apply_edits(doc.text, [edit.text_edit(doc)]) == edit.document


def test_replace_doc_comment_does_not_stack(language: str) -> None:
    doc = sample_doc(language)
    unit = find_unit(doc, offset_of(doc, TARGETS[language][1], delta=2))
    assert unit is not None and unit.docstring is not None
    old_doc = unit.docstring
    edit = docstring_edit(doc, unit, "Replaced text.")
    assert edit is not None
    assert edit.replaced
    new_doc = Document.from_text(edit.document, path=SAMPLES[language])
    assert error_count(language, new_doc.data) == 0
    assert refind(new_doc, unit).docstring == "Replaced text."
    assert old_doc.splitlines()[0] not in new_doc.text
    # Documenting twice still leaves exactly one doc comment.
    again = docstring_edit(new_doc, refind(new_doc, unit), DOC)
    assert again is not None and again.replaced
    final = Document.from_text(again.document, path=SAMPLES[language])
    assert "Replaced text." not in final.text
    assert refind(final, unit).docstring == DOC


def test_python_docstring_layout() -> None:
    doc = sample_doc("python")
    unit = find_unit(doc, offset_of(doc, "def remove", delta=2))
    assert unit is not None
    edit = docstring_edit(doc, unit, "Remove an item.\n\nMissing SKUs are ignored.")
    assert edit is not None
    expected = (
        "    def remove(self, sku: str) -> None:\n"
        '        """Remove an item.\n'
        "\n"
        "        Missing SKUs are ignored.\n"
        '        """\n'
        "        # 删除 an item; a missing SKU is not an error\n"
    )
    assert expected in edit.document


def test_python_one_line_body_moves_under_the_docstring() -> None:
    doc = Document.from_text("class A:\n    def f(self): return 1\n", path="a.py")
    unit = find_unit(doc, doc.data.index(b"return"))
    assert unit is not None
    edit = docstring_edit(doc, unit, "One.")
    assert edit is not None
    assert edit.document == 'class A:\n    def f(self):\n        """One."""\n        return 1\n'


def test_python_quotes_and_backslashes_are_escaped() -> None:
    doc = Document.from_text("def f():\n    pass\n", path="a.py")
    unit = find_unit(doc, doc.data.index(b"pass"))
    assert unit is not None
    tricky = 'Says """hi""" and ends with a "quote"'
    edit = docstring_edit(doc, unit, tricky)
    assert edit is not None
    new_doc = Document.from_text(edit.document, path="a.py")
    assert error_count("python", new_doc.data) == 0
    namespace: dict[str, object] = {}
    exec(compile(edit.document, "a.py", "exec"), namespace)  # the real interpreter agrees
    assert namespace["f"].__doc__ == tricky


def test_jsdoc_closing_marker_in_text_is_escaped() -> None:
    doc = Document.from_text("function f() {}\n", path="a.js")
    unit = find_unit(doc, 3)
    assert unit is not None
    edit = docstring_edit(doc, unit, "Matches a/*b*/c.\nSecond line.")
    assert edit is not None
    assert error_count("javascript", edit.document) == 0
    assert edit.document.startswith("/**\n * Matches a/*b*\\/c.\n * Second line.\n */\nfunction f")


def test_llm_added_delimiters_are_stripped() -> None:
    doc = Document.from_text("fn f() {}\n", path="a.rs")
    unit = find_unit(doc, 1)
    assert unit is not None
    edit = docstring_edit(doc, unit, "/// Does f.\n/// Really.")
    assert edit is not None
    assert edit.document == "/// Does f.\n/// Really.\nfn f() {}\n"


def test_nothing_to_do() -> None:
    doc = sample_doc("python")
    unit = find_unit(doc, offset_of(doc, "def save", delta=2))
    assert unit is not None
    assert docstring_edit(doc, unit, "   \n ") is None
    region = find_unit(doc, offset_of(doc, "def load"), offset_of(doc, "def summarize"))
    assert region is not None and region.kind == "region"
    assert docstring_edit(doc, region, "Doc.") is None
