"""What a context shows around its target, each part a list of whole units rendered short:
the file's imports, the enclosing type's outline, the nearest sibling definitions, and the
same-file definitions the target mentions. `assemble.py` fits them to the budget."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .languages import DocStyle, LanguageSpec
from .positions import decode
from .units import (
    Unit,
    body_of,
    child_units,
    classify,
    detached_class_name,
    node_name,
    unit_for_node,
    unit_node,
)

if TYPE_CHECKING:
    from tree_sitter import Node

    from .document import Document

#: Referenced types this short are shown whole (their fields matter), longer ones as a head.
_SHAPE_MAX_LINES = 15
_SHAPE_KINDS = frozenset({"struct", "enum", "union", "interface", "type", "record"})
_TYPE_KINDS = _SHAPE_KINDS | {"class"}
_SCOPE_KINDS = frozenset({"namespace", "module"})
_STATEMENT_MAX_BYTES = 200
_IMPORT_SCAN_DEFINITIONS = 3
_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_REQUIRE = re.compile(rb"\brequire(_relative)?\b|\bload\b")


@dataclass(slots=True)
class Seen:
    """What is already in the context, so no definition is shown twice."""

    names: set[str]
    nodes: set[int]


@dataclass(slots=True)
class Section:
    title: str
    items: Iterable[str]
    #: text that must come with the first item (an outline's class header) and after the last
    head: str = ""
    tail: str = ""


def imports(doc: Document, spec: LanguageSpec, root: Node, seen: Seen) -> Iterator[str]:
    """Top-level imports from the file's head: the scan stops after a few definitions, as
    imports below them are rare and a 2,000-definition module must stay cheap."""
    data = doc.data
    definitions = 0
    for i in range(root.named_child_count):  # by index: stopping early must not build 2,000 nodes
        child = root.named_child(i)
        ctype = child.type
        if ctype not in spec.import_types:
            if ctype in spec.units or ctype in spec.wrappers:
                definitions += 1
                if definitions > _IMPORT_SCAN_DEFINITIONS:
                    return
            continue
        text = data[child.start_byte : child.end_byte]
        if spec.name == "ruby" and not _REQUIRE.match(text):
            continue
        if spec.name == "lua" and b"require" not in text:
            continue
        seen.nodes.add(child.id)
        yield decode(text).rstrip()


def _elided(doc: Document, spec: LanguageSpec, unit: Unit) -> str:
    """A unit as its signature with the body elided in the language's idiom; short data
    shapes (structs, enums, interfaces, type aliases) whole, since their fields matter."""
    sig = unit.signature
    short = unit.line_span[1] - unit.line_span[0] < _SHAPE_MAX_LINES
    if unit.kind in _SHAPE_KINDS and short and unit.node.type not in spec.containers:
        start, end = unit.byte_span
        column = start - (doc.data.rfind(b"\n", 0, start) + 1)
        return _dedent(decode(doc.data[start:end]), column)
    if unit.body is None:
        return sig
    if spec.doc_style is DocStyle.PYTHON:
        return f"{sig} ..."
    if spec.name in ("ruby", "lua"):
        return f"{sig} ... end"
    return f"{sig} {{ ... }}"


def _dedent(text: str, column: int) -> str:
    """Remove the indentation the first line had in the file from the following lines."""
    if column == 0 or "\n" not in text:
        return text
    first, *rest = text.split("\n")
    return "\n".join(
        [first, *(line[min(column, len(line) - len(line.lstrip())) :] for line in rest)]
    )


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.split("\n"))


def outline(doc: Document, spec: LanguageSpec, unit: Unit, seen: Seen) -> list[Section]:
    """The enclosing class: its header, fields and member signatures. For methods defined
    outside their type (Go receivers, Lua `T:m`, C++ `A::f`, Rust `impl`) also the type."""
    sections: list[Section] = []
    owner = unit_for_node(doc, unit.container) if unit.container is not None else None
    if unit.class_name and unit.kind != "region" and (owner is None or owner.kind == "impl"):
        typedef = _type_definition(doc, spec, _scope(doc, spec, unit), unit.class_name, unit)
        if typedef is not None and typedef.id != (owner.node.id if owner else -1):
            found = unit_for_node(doc, typedef)
            if found is not None and found.node.type in spec.containers and owner is None:
                owner = found  # C++ `A::f`: outline the class A itself
            else:
                sections.append(_detached_section(doc, spec, unit, typedef, seen))
    if owner is not None:
        seen.names.add(owner.name)
        seen.nodes.add(owner.node.id)
        head, tail = _frame(spec, owner)
        members = _member_lines(doc, spec, owner, unit, seen)
        sections.append(Section(f"enclosing {owner.kind} {owner.name}", members, head, tail))
    return sections


def _frame(spec: LanguageSpec, owner: Unit) -> tuple[str, str]:
    if spec.doc_style is DocStyle.PYTHON:
        return owner.signature, ""
    if spec.name in ("ruby", "lua"):
        return owner.signature, "end"
    return owner.signature + " {", "}"


def _line_indent(data: bytes, offset: int) -> str:
    line_start = data.rfind(b"\n", 0, offset) + 1
    head = data[line_start:offset]
    return decode(head) if not head.strip() else ""


def _member_lines(
    doc: Document, spec: LanguageSpec, owner: Unit, target: Unit, seen: Seen
) -> Iterator[str]:
    body = owner.body
    if body is None:
        return
    data = doc.data
    base = _line_indent(data, owner.byte_span[0])
    for child in body.named_children:
        if child.type in spec.comment_types:
            continue
        indent = _line_indent(data, child.start_byte)
        indent = indent[len(base) :] if indent.startswith(base) else indent
        found = unit_node(doc, child)
        member = unit_for_node(doc, found[0]) if found is not None else None
        if member is not None:
            seen.nodes.add(member.node.id)
            line = _elided(doc, spec, member)
            if member.node.id == target.node.id:
                line += f"  {spec.line_comment} <- target"
            yield _indent(line, indent)
            continue
        text = data[child.start_byte : child.end_byte].strip()
        if b"\n" in text or len(text) > _STATEMENT_MAX_BYTES:
            continue  # multi-line statements (a docstring, a block) are not outline material
        if child.type == "access_specifier":  # C++ `public:` (the colon is a separate token)
            text += b":"
        if spec.doc_style is DocStyle.PYTHON and child.type == "expression_statement":
            first = child.named_children[0] if child.named_child_count else None
            if first is not None and first.type == "string":
                continue
        yield indent + decode(text)


def _type_definition(
    doc: Document, spec: LanguageSpec, scope: Node, name: str, unit: Unit
) -> Node | None:
    """The declaration of type `name` in `scope`: a struct/class unit, or (Lua) the
    statement creating the table."""
    fallback: Node | None = None
    for statement in _statements(doc, spec, scope):
        hit = unit_node(doc, statement)
        if hit is not None:
            node, kind = hit
            if kind in _TYPE_KINDS and node_name(doc, node) == name and node.id != unit.node.id:
                return node
        elif fallback is None and name in _declared_names(doc.data, statement):
            fallback = statement
    return fallback


def _detached_section(
    doc: Document, spec: LanguageSpec, unit: Unit, typedef: Node, seen: Seen
) -> Section:
    """The type's declaration, then its other methods declared beside it."""
    items = [_render_definition(doc, spec, typedef)]
    seen.nodes.add(typedef.id)
    name = unit.class_name or ""
    seen.names.add(name)
    for _statement, node, _kind in child_units(doc, _scope(doc, spec, unit)):
        if node.id == unit.node.id or node.id == typedef.id:
            continue
        if detached_class_name(doc, node) == name:
            member = unit_for_node(doc, node)
            if member is not None:
                seen.nodes.add(node.id)
                items.append(_elided(doc, spec, member))
    return Section(f"{name} (type and methods)", items)


def _scope(doc: Document, spec: LanguageSpec, unit: Unit) -> Node:
    """Where the target's outermost unit is declared: the nearest enclosing namespace or
    module (a scope, not a unit, for this purpose), else the file."""
    parent = unit.node.parent
    while parent is not None:
        if parent.parent is None:
            return parent
        if classify(doc, parent) in _SCOPE_KINDS:
            return parent
        parent = parent.parent
    return unit.node


def siblings(
    doc: Document, spec: LanguageSpec, unit: Unit, limit: int, seen: Seen
) -> Iterator[str]:
    """Signatures of the definitions next to the target's outermost unit, nearest first."""
    scope = _scope(doc, spec, unit)
    body = scope if scope.parent is None else body_of(doc, scope)
    if body is None:
        return
    here = unit.byte_span[0]
    # Walk outwards from the target's statement: cost follows `limit`, not the file's size.
    anchor = body.first_named_child_for_byte(here)
    before: Node | None
    after: Node | None
    if anchor is None:
        count = body.named_child_count
        before, after = (body.named_child(count - 1) if count else None), None
    elif anchor.start_byte <= here:
        before, after = anchor.prev_named_sibling, anchor.next_named_sibling
    else:
        before, after = anchor.prev_named_sibling, anchor
    shown = 0
    while shown < limit and (before is not None or after is not None):
        statement: Node
        if before is not None and (
            after is None or here - before.end_byte < after.start_byte - here
        ):
            statement, before = before, before.prev_named_sibling
        elif after is not None:
            statement, after = after, after.next_named_sibling
        else:
            break
        found = unit_node(doc, statement)
        if found is None or found[0].id in seen.nodes:
            continue
        sibling = unit_for_node(doc, found[0])
        if sibling is not None:
            shown += 1
            seen.nodes.add(sibling.node.id)
            seen.names.add(sibling.name)
            yield _elided(doc, spec, sibling)


def references(
    doc: Document, spec: LanguageSpec, unit: Unit, root: Node, seen: Seen
) -> Iterator[str]:
    """Same-file top-level definitions the target mentions, in order of first mention."""
    data = doc.data
    start, end = unit.byte_span
    mentioned: dict[bytes, None] = dict.fromkeys(
        m.group() for m in _IDENTIFIER.finditer(data, start, end)
    )
    wanted = set(mentioned) - {name.encode() for name in seen.names}
    if not wanted:
        return
    found: dict[bytes, Node] = {}
    for statement in _statements(doc, spec, root):
        # Fast path first: this loop visits every top-level statement of the file.
        name = statement.child_by_field_name("name")
        if name is not None and name.type in _NAME_LEAVES:
            defined = data[name.start_byte : name.end_byte]
            if defined in wanted and defined not in found:
                found[defined] = statement
            continue
        for defined, definition in _defined_names(doc, spec, statement):
            if defined in wanted and defined not in found:
                found[defined] = definition
    for raw in mentioned:
        target = found.get(raw)
        text = raw.decode()
        if target is None or text in seen.names or target.id in seen.nodes:
            continue
        if target.start_byte <= start < target.end_byte:
            continue  # the statement holding the target
        seen.names.add(text)
        seen.nodes.add(target.id)
        yield _render_definition(doc, spec, target)


def _defined_names(
    doc: Document, spec: LanguageSpec, statement: Node
) -> Iterator[tuple[bytes, Node]]:
    """(name, defining node) for a top-level statement. Runs for every statement of the file,
    so the common case (a unit with a plain `name` field) avoids building anything."""
    data = doc.data
    name = statement.child_by_field_name("name")
    if name is not None and name.type in _NAME_LEAVES:
        yield data[name.start_byte : name.end_byte], statement
        return
    hit = unit_node(doc, statement)
    if hit is not None:
        yield node_name(doc, hit[0]).encode(), hit[0]
        return
    for declared in _declared_names(data, statement):
        yield declared.encode(), statement


def _render_definition(doc: Document, spec: LanguageSpec, node: Node) -> str:
    found = unit_for_node(doc, node)
    if found is not None:
        return _elided(doc, spec, found)
    text = doc.data[node.start_byte : node.end_byte]
    if len(text) > _STATEMENT_MAX_BYTES:
        text = text.split(b"\n", 1)[0]
    return decode(text).rstrip()


def _statements(doc: Document, spec: LanguageSpec, scope: Node) -> list[Node]:
    """Statements of a scope, looking one level into namespaces and `extern "C"` blocks."""
    body = scope if scope.parent is None else (scope.child_by_field_name("body") or scope)
    children = body.named_children
    nested = spec.transparent | _scope_types(spec)
    if not nested or not any(child.type in nested for child in children):
        return children  # the common case: one list, no per-statement work
    out: list[Node] = []
    for child in children:
        if child.type in nested and (
            child.type in spec.transparent or classify(doc, child) in _SCOPE_KINDS
        ):
            inner = child.child_by_field_name("body") or child
            out.extend(inner.named_children)
        out.append(child)
    return out


def _scope_types(spec: LanguageSpec) -> frozenset[str]:
    return frozenset(t for t, kind in spec.units.items() if kind in _SCOPE_KINDS)


_NAME_HOLDERS = frozenset(
    {
        "assignment",
        "variable_declarator",
        "const_spec",
        "var_spec",
        "init_declarator",
        "assignment_statement",
        "variable_list",
        "expression_statement",
    }
)


_NAME_LEAVES = frozenset({"identifier", "constant", "type_identifier", "field_identifier"})


def _declared_names(data: bytes, statement: Node) -> list[str]:
    """Names a constant/variable/typedef/#define statement binds (best effort, first only)."""
    name = (
        statement.child_by_field_name("name")
        or statement.child_by_field_name("declarator")
        or statement.child_by_field_name("left")
    )
    if name is not None and name.type in _NAME_LEAVES:
        return [decode(data[name.start_byte : name.end_byte])]
    node = statement
    for _depth in range(4):  # expression_statement > assignment > left, var_spec > name, ...
        holder = next((c for c in node.named_children if c.type in _NAME_HOLDERS), None)
        if holder is None:
            return []
        left = (
            holder.child_by_field_name("left")
            or holder.child_by_field_name("name")
            or holder.child_by_field_name("declarator")
        )
        if left is not None and left.type in _NAME_LEAVES:
            return [decode(data[left.start_byte : left.end_byte])]
        node = left if left is not None and left.type in _NAME_HOLDERS else holder
    return []
