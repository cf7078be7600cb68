"""Definitions with the names of what encloses them, whole document or inside a range."""

from __future__ import annotations

from magray_lsp.context.document import Document
from magray_lsp.context.outline import all_definitions, definitions_in, path_of, same_kind

RUST = """struct Stack {
    items: Vec<i32>,
}

impl Stack {
    #[inline]
    pub fn push(&mut self, v: i32) {
        self.items.push(v);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }
}

fn main() {}
"""


def test_every_definition_with_its_path() -> None:
    doc = Document.from_text(RUST, language_id="rust")
    found = [(d.kind, d.name, d.path) for d in all_definitions(doc)]
    assert found == [
        ("struct", "Stack", ()),
        ("impl", "Stack", ()),
        ("function", "push", ("Stack",)),  # once, though `#[inline]` leads it
        ("function", "len", ("Stack",)),
        ("function", "main", ()),
    ]


def test_the_outermost_definitions_inside_a_range() -> None:
    doc = Document.from_text(RUST, language_id="rust")
    start = doc.data.index(b"    #[inline]")
    end = doc.data.index(b"    pub fn len")
    inside = definitions_in(doc, start, end)
    assert [(d.name, d.path) for d in inside] == [("push", ("Stack",))]
    assert path_of(doc, inside[0].node) == ("Stack",)
    everything = definitions_in(doc, 0, len(doc.data))
    assert [d.name for d in everything] == ["Stack", "Stack", "main"]


def test_a_method_and_a_function_are_the_same_kind_for_a_refactor() -> None:
    assert same_kind("method", "function") and same_kind("class", "class")
    assert not same_kind("function", "class")
