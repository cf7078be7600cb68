"""What the acceptance checks ask of a syntax tree: the code tokens of a span (comments and
docstrings left out), whether an offset is inside a comment or string, and which definition
holds a span and what else it holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magray_lsp.context.document import Document
from magray_lsp.context.languages import DocStyle
from magray_lsp.context.outline import path_of
from magray_lsp.context.units import child_units, node_name, unit_node

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

    from magray_lsp.context.languages import LanguageSpec

_STRING_TYPES = ("string", "template_string", "text_block", "heredoc_body", "raw_string_literal")


def in_comment_or_string(spec: LanguageSpec, tree: Tree, offset: int) -> bool:
    """True inside a comment, or inside a string that began before `offset` (a line that
    opens a string is code: JavaScript reads a fence line as template strings)."""
    node: Node | None = tree.root_node.descendant_for_byte_range(offset, offset + 1)
    while node is not None:
        ntype = node.type
        if ntype in spec.comment_types:
            return True
        if node.start_byte < offset and any(t in ntype for t in _STRING_TYPES):
            return True
        node = node.parent
    return False


def leaf_start(tree: Tree, offset: int) -> int:
    node = tree.root_node.descendant_for_byte_range(offset, offset)
    return node.start_byte if node is not None and node.child_count == 0 else offset


def leaf_end(tree: Tree, offset: int) -> int:
    node = tree.root_node.descendant_for_byte_range(offset, offset)
    return node.end_byte if node is not None and node.child_count == 0 else offset


def code_tokens(
    spec: LanguageSpec, root: Node, data: bytes, lo: int, hi: int
) -> list[tuple[str, bytes]]:
    """(type, text) of the leaves starting in [lo, hi) that are not comments or docstrings."""
    out: list[tuple[str, bytes]] = []
    comments = spec.comment_types
    python = spec.doc_style is DocStyle.PYTHON
    stack = [root]
    while stack:
        node = stack.pop()
        ntype = node.type
        if ntype in comments or (
            python and ntype == "expression_statement" and is_docstring(spec, node)
        ):
            continue
        count = node.child_count
        if count == 0:
            start = node.start_byte
            if lo <= start < hi:
                out.append((ntype, data[start : node.end_byte]))
            continue
        if count <= 32:  # one call for all children beats one per sibling
            kids = [c for c in node.children if c.start_byte < hi and c.end_byte >= lo]
        else:  # a module's thousand statements: only the ones in range
            kids = []
            child = node.first_child_for_byte(lo)
            while child is not None and child.start_byte < hi:
                kids.append(child)
                child = child.next_sibling
        kids.reverse()
        stack.extend(kids)
    return out


def is_docstring(spec: LanguageSpec, node: Node) -> bool:
    """A Python statement that is only a string: a docstring (anywhere else it is a no-op)."""
    return (
        spec.doc_style is DocStyle.PYTHON
        and node.type == "expression_statement"
        and node.named_child_count == 1
        and node.named_children[0].type in ("string", "concatenated_string")
    )


def enclosing_path(doc: Document, start: int, end: int) -> tuple[str, ...]:
    """Path of what encloses the whole of [start, end)."""
    container = container_of(doc, start, end)
    if container is None or container.parent is None:
        return ()
    return (*path_of(doc, container), node_name(doc, container))


def container_of(doc: Document, start: int, end: int) -> Node | None:
    """The innermost unit (or the root) enclosing all of [start, end) and starting before it."""
    tree, data = doc.tree, doc.data
    assert tree is not None
    while end > start and data[end - 1] in b" \t\r\n":  # a block does not own its last EOL
        end -= 1
    node: Node | None = tree.root_node.descendant_for_byte_range(start, end)
    while node is not None and node.parent is not None:
        if node.start_byte < start and node.end_byte >= end and unit_node(doc, node) is not None:
            return unit_node(doc, node)[0]  # type: ignore[index]
        node = node.parent
    return node


def where_in(path: tuple[str, ...]) -> str:
    return f"in {named(path)}" if path else "at the top level"


def where_to(path: tuple[str, ...]) -> str:
    return f"into {named(path)}" if path else "to the top level"


def named(path: tuple[str, ...]) -> str:
    return f"`{'.'.join(path)}`" if path else "the top level"


def sibling_names(doc: Document, start: int, end: int) -> set[str]:
    """Names of the definitions in the same container as [start, end), outside it."""
    container = container_of(doc, start, end)
    if container is None:
        return set()
    names = set()
    for statement, inner, _kind in child_units(doc, container):
        if statement.end_byte <= start or statement.start_byte >= end:
            names.add(node_name(doc, inner))
    return names
