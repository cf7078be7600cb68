"""Syntax units: the function, method or class a position or a selection belongs to."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .doc_comments import unit_doc
from .languages import DocStyle, LanguageSpec
from .positions import decode
from .unit_nodes import (
    body_node,
    detached_class,
    end_row,
    impl_type_name,
    is_binding_statement,
    kind_of,
    name_of,
    trimmed_end,
    wrapped_unit,
)

if TYPE_CHECKING:
    from tree_sitter import Node

    from .document import Document

_MAX_HEAD_LINES = 6


@dataclass(frozen=True, slots=True)
class Unit:
    """A function, method, class (or similar), or a `region` of several top-level statements.

    Spans are byte offsets into the document; `line_span` is 0-based and inclusive. The spans
    cover decorators, `export`, `template<...>` and Rust attributes, but not the doc comment,
    which has its own `doc_span` (for Python, the docstring statement inside the body)."""

    kind: str
    name: str
    signature: str
    docstring: str | None
    doc_span: tuple[int, int] | None
    byte_span: tuple[int, int]
    line_span: tuple[int, int]
    class_name: str | None
    language: str
    #: the defining node (not the wrapper), and its body (None for declarations)
    node: Node = field(compare=False, repr=False)
    body: Node | None = field(compare=False, repr=False)
    #: the class-like unit this one is nested in, if any
    container: Node | None = field(default=None, compare=False, repr=False)

    @property
    def full_span(self) -> tuple[int, int]:
        """The unit together with a doc comment placed above it."""
        if self.doc_span is not None and self.doc_span[0] < self.byte_span[0]:
            return (self.doc_span[0], self.byte_span[1])
        return self.byte_span

    @property
    def qualified_name(self) -> str:
        return f"{self.class_name}.{self.name}" if self.class_name else self.name


def find_unit(doc: Document, start_byte: int, end_byte: int | None = None) -> Unit | None:
    """The smallest function/method/class enclosing a position or range.

    A range that spans several units yields the unit covering all of them (e.g. the class of
    two methods); a range over top-level statements outside any unit yields a `region` unit
    of those whole statements. A bare position outside every unit, plain text, or a document
    without a tree yields None. Offsets are clamped to the document."""
    spec, tree = doc.language, doc.tree
    if spec is None or tree is None:
        return None
    size = len(doc.data)
    start = min(max(start_byte, 0), size)
    end = start if end_byte is None else min(max(end_byte, 0), size)
    if end < start:
        start, end = end, start
    if start == end:
        start = end = _snap_cursor(doc.data, start)
    root = tree.root_node
    node = root.descendant_for_byte_range(start, end)
    if node is None:
        return None
    comment = node if node.type in spec.comment_types else node.parent
    if start == end and comment is not None and comment.type in spec.comment_types:
        owner = _unit_documented_by(doc, spec, comment)
        if owner is not None:
            return owner
    for candidate in _ancestors(node):
        kind = kind_of(spec, candidate)
        if kind is not None:
            return _build(doc, spec, candidate, kind)
        if candidate.type in spec.wrappers or candidate.type in spec.leading:
            inner = wrapped_unit(spec, candidate)
            if inner is not None:
                return _build(doc, spec, inner[0], inner[1])
    if start == end:
        return None
    return _region(doc, root, node, start, end)


def unit_for_node(doc: Document, node: Node) -> Unit | None:
    """The Unit for a node that is itself a unit (or a wrapper of one), else None."""
    spec = doc.language
    if spec is None:
        return None
    kind = kind_of(spec, node)
    if kind is not None:
        return _build(doc, spec, node, kind)
    inner = wrapped_unit(spec, node)
    return _build(doc, spec, inner[0], inner[1]) if inner is not None else None


def child_units(doc: Document, parent: Node) -> Iterator[tuple[Node, Node, str]]:
    """(statement, unit node, kind) for each unit directly inside `parent`'s body, in order.

    Cheap (no Unit built): the context assembler walks thousands of these in big files."""
    spec = doc.language
    if spec is None:
        return
    body = body_node(spec, parent) if parent.parent is not None else parent
    if body is None:
        return
    yield from _units_in(spec, body)


def _units_in(spec: LanguageSpec, body: Node) -> Iterator[tuple[Node, Node, str]]:
    for child in body.named_children:
        ctype = child.type
        if ctype in spec.comment_types:
            continue
        if ctype in spec.transparent:  # extern "C" { ... }, #ifdef ... #endif
            inner_body = child.child_by_field_name("body") or child
            yield from _units_in(spec, inner_body)
            continue
        kind = kind_of(spec, child)
        if kind is not None:
            yield child, child, kind
            continue
        inner = wrapped_unit(spec, child)
        if inner is not None:
            yield child, inner[0], inner[1]


def classify(doc: Document, node: Node) -> str | None:
    """The unit kind of `node` if it is a unit itself (cheap: no Unit is built)."""
    return kind_of(doc.language, node) if doc.language is not None else None


def unit_node(doc: Document, statement: Node) -> tuple[Node, str] | None:
    """The unit node (and kind) a statement is or wraps, cheaply."""
    spec = doc.language
    if spec is None:
        return None
    kind = kind_of(spec, statement)
    if kind is not None:
        return statement, kind
    return wrapped_unit(spec, statement)


def detached_class_name(doc: Document, node: Node) -> str | None:
    """Class of a method defined outside its class body (Go receiver, `A::f`, `T:m`)."""
    spec = doc.language
    return detached_class(spec, node, doc.data) if spec is not None else None


def body_of(doc: Document, node: Node) -> Node | None:
    return body_node(doc.language, node) if doc.language is not None else None


def node_name(doc: Document, node: Node) -> str:
    spec = doc.language
    return name_of(spec, node, doc.data) if spec is not None else ""


# --- building a Unit ----------------------------------------------------------------------


def _build(doc: Document, spec: LanguageSpec, node: Node, kind: str) -> Unit:
    data = doc.data
    outer = _outer(spec, node)
    first = _leading_node(spec, outer)
    start = first.start_byte
    container = _container(spec, node)
    name = name_of(spec, node, data)
    class_name: str | None = None
    if container is not None:
        class_name = name_of(spec, container, data) or None
        if container.type == "impl_item":
            class_name = impl_type_name(container, data)
        if kind == "function":
            kind = "method"
    else:
        class_name = detached_class(spec, node, data)
        if class_name and kind == "function" and spec.name != "lua":
            kind = "method"
    if spec.name == "lua" and kind == "function":
        name_node = node.child_by_field_name("name")
        if name_node is not None and name_node.type == "method_index_expression":
            kind = "method"  # function T:m() takes self
    if spec.name == "ruby" and kind == "method" and container is None:
        kind = "function"  # a top-level `def` is a private method of Object: a function to users
    body = body_node(spec, node)
    doc_text, doc_span = unit_doc(doc, spec, body, first)
    end = trimmed_end(outer, data)
    return Unit(
        kind=kind,
        name=name,
        signature=_signature(spec, data, node, body, start, outer),
        docstring=doc_text,
        doc_span=doc_span,
        byte_span=(start, end),
        line_span=(first.start_point.row, max(end_row(outer), first.start_point.row)),
        class_name=class_name,
        language=spec.name,
        node=node,
        body=body,
        container=container,
    )


def _outer(spec: LanguageSpec, node: Node) -> Node:
    """The node plus whatever wraps it: binding statement, export, decorators, template."""
    outer = node
    parent = outer.parent
    if node.type in spec.bindings and parent is not None and is_binding_statement(spec, parent):
        outer = parent
        parent = outer.parent
    while parent is not None and parent.type in spec.wrappers:
        outer = parent
        parent = outer.parent
    return outer


def _leading_node(spec: LanguageSpec, outer: Node) -> Node:
    """The first node of the unit: a leading attribute, or the outer node itself."""
    first = outer
    prev = outer.prev_named_sibling
    while prev is not None and prev.type in spec.leading:
        first = prev
        prev = prev.prev_named_sibling
    return first


def _container(spec: LanguageSpec, node: Node) -> Node | None:
    """The nearest class-like unit holding `node`; None once a function is in the way."""
    parent = node.parent
    while parent is not None:
        if kind_of(spec, parent) is not None:
            # A class-like unit hosts methods; a function or namespace in between does not.
            return parent if parent.type in spec.containers else None
        parent = parent.parent
    return None


def _ancestors(node: Node) -> Iterator[Node]:
    current: Node | None = node
    while current is not None:
        yield current
        current = current.parent


def _signature(
    spec: LanguageSpec, data: bytes, node: Node, body: Node | None, start: int, outer: Node
) -> str:
    """The unit's head: decorators/attributes and declaration up to (not including) the body."""
    if body is not None and body.start_byte > start:
        # End after the last token before the body: a comment opening the body (Python,
        # Ruby and Lua bodies start at it) is not part of the head.
        end = body.start_byte
        for child in body.parent.children if body.parent is not None else ():
            if child.start_byte >= body.start_byte:
                break
            if child.type not in spec.comment_types and child.end_byte > start:
                end = child.end_byte
        if body.type == "interface_type":  # Go: `type Shape interface {`
            brace = data.find(b"{", body.start_byte, body.end_byte)
            end = brace if brace != -1 else body.end_byte
    else:
        # Declarations without a body (prototypes, signatures, aliases) are their own head,
        # unless they run long (a big type alias): then their first line.
        end = trimmed_end(outer, data)
        if data.count(b"\n", start, end) > _MAX_HEAD_LINES:
            end = data.find(b"\n", node.start_byte, end)
    head = decode(data[start:end]).rstrip()
    if spec.doc_style is not DocStyle.PYTHON:
        head = head.rstrip("{").rstrip()
    return _dedent_continuation(head, _column(data, start))


def _column(data: bytes, offset: int) -> int:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return offset - line_start


def _dedent_continuation(text: str, column: int) -> str:
    """Lines after the first lose the indentation the first line had in the file."""
    if "\n" not in text or column == 0:
        return text
    first, *rest = text.split("\n")
    out = [first]
    for line in rest:
        stripped = line.lstrip(" \t")
        out.append(line[min(column, len(line) - len(stripped)) :])
    return "\n".join(out)


def _snap_cursor(data: bytes, offset: int) -> int:
    """A cursor in leading indentation moves to the code it indents; one at the end of a line
    moves back onto its last character (so `def f():|` still belongs to f)."""
    size = len(data)
    probe = offset
    while probe < size and data[probe] in b" \t":
        probe += 1
    if probe < size and data[probe] not in b"\r\n":
        line_start = data.rfind(b"\n", 0, offset) + 1
        if not data[line_start:offset].strip():
            return probe  # only indentation before the cursor: snap forward
        return offset
    back = offset
    while back > 0 and data[back - 1] in b" \t":
        back -= 1
    if back > 0 and data[back - 1] not in b"\r\n":
        return back - 1
    return offset


# --- a cursor on a doc comment ------------------------------------------------------------


def _unit_documented_by(doc: Document, spec: LanguageSpec, comment: Node) -> Unit | None:
    """A cursor on a doc comment belongs to the unit the comment documents."""
    sibling = comment.next_named_sibling
    while sibling is not None and (
        sibling.type in spec.comment_types or sibling.type in spec.leading
    ):
        sibling = sibling.next_named_sibling
    if sibling is None:
        return None
    unit = unit_for_node(doc, sibling)
    if unit is None or unit.doc_span is None:
        return None
    if unit.doc_span[0] <= comment.start_byte < unit.doc_span[1]:
        return unit
    return None


# --- regions ------------------------------------------------------------------------------


def _region(doc: Document, root: Node, node: Node, start: int, end: int) -> Unit | None:
    """Whole top-level statements covering [start, end) when no unit encloses the range."""
    if node.id == root.id:
        parts = [c for c in root.named_children if c.start_byte < end and c.end_byte > start]
    else:
        top = node
        while top.parent is not None and top.parent.id != root.id:
            top = top.parent
        parts = [top]
    if not parts:
        return None
    first, last = parts[0], parts[-1]
    spec = doc.language
    assert spec is not None
    return Unit(
        kind="region",
        name="",
        signature="",
        docstring=None,
        doc_span=None,
        byte_span=(first.start_byte, last.end_byte),
        line_span=(first.start_point.row, last.end_point.row),
        class_name=None,
        language=spec.name,
        node=first if len(parts) == 1 else root,
        body=None,
    )
