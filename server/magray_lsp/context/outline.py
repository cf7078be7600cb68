"""The definitions of a document (or of part of it) with the names of what encloses them.

Used to find the target's definition in a model's answer and to check that an edit keeps the
definitions around the target where they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .units import child_units, classify, node_name, unit_node

if TYPE_CHECKING:
    from tree_sitter import Node

    from .document import Document


@dataclass(frozen=True, slots=True)
class Definition:
    node: Node  # the defining node (a wrapper's inner unit)
    kind: str  # as `units.classify` says, before method promotion
    name: str
    path: tuple[str, ...]  # names of the enclosing units, outermost first


def same_kind(a: str, b: str) -> bool:
    """Kinds a refactor may legitimately turn into each other: a method returned without its
    class parses as a function."""
    callable_kinds = ("function", "method")
    return a == b or (a in callable_kinds and b in callable_kinds)


def all_definitions(doc: Document) -> list[Definition]:
    """Every definition, nested ones included, in document order."""
    out: list[Definition] = []
    tree = doc.tree
    if tree is not None and doc.language is not None:
        _collect(doc, tree.root_node, (), out)
    return out


def _collect(doc: Document, parent: Node, path: tuple[str, ...], out: list[Definition]) -> None:
    seen: set[int] = set()
    for _statement, node, kind in child_units(doc, parent):
        if node.id in seen:  # a Rust attribute and its item yield the same unit
            continue
        seen.add(node.id)
        name = node_name(doc, node)
        out.append(Definition(node, kind, name, path))
        _collect(doc, node, (*path, name), out)


def definitions_in(doc: Document, lo: int, hi: int) -> list[Definition]:
    """The outermost definitions that lie inside [lo, hi), with their enclosing path.

    Walks only the nodes that overlap the range, so it is cheap in a big file."""
    out: list[Definition] = []
    tree = doc.tree
    if tree is None or doc.language is None:
        return out
    stack: list[tuple[Node, tuple[str, ...]]] = [(tree.root_node, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        child = node.first_named_child_for_byte(lo)
        found: list[tuple[Node, tuple[str, ...]]] = []
        while child is not None and child.start_byte < hi:
            if child.end_byte > lo:
                unit = unit_node(doc, child)
                inside = child.start_byte >= lo and _content_end(doc, child) <= hi
                if unit is not None and inside:
                    inner, kind = unit
                    if inner.id not in seen:  # a Rust attribute and its item: one definition
                        seen.add(inner.id)
                        out.append(Definition(inner, kind, node_name(doc, inner), path))
                elif not inside and unit is not None:  # encloses the range: look inside it
                    found.append((unit[0], (*path, node_name(doc, unit[0]))))
                elif not inside:
                    found.append((child, path))
            child = child.next_named_sibling
        stack.extend(reversed(found))
    out.sort(key=lambda d: d.node.start_byte)
    return out


def _content_end(doc: Document, node: Node) -> int:
    # A Python block or a Rust `///` comment owns its trailing newline: that is not content.
    end, data = node.end_byte, doc.data
    while end > node.start_byte and data[end - 1] in b"\r\n":
        end -= 1
    return end


def path_of(doc: Document, node: Node) -> tuple[str, ...]:
    """Names of the units enclosing `node`, outermost first."""
    names: list[str] = []
    parent = node.parent
    while parent is not None:
        if classify(doc, parent) is not None:
            names.append(node_name(doc, parent))
        parent = parent.parent
    return tuple(reversed(names))
