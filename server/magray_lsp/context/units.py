"""Syntax units: the function, method or class a position or a selection belongs to."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .languages import DocStyle, LanguageSpec
from .positions import decode

if TYPE_CHECKING:
    from tree_sitter import Node

    from .document import Document

_MAX_HEAD_LINES = 6
_C_FUNCTION_HOSTS = frozenset({"declaration", "field_declaration"})
_C_TAGGED = frozenset({"struct_specifier", "union_specifier", "enum_specifier"})
# declarator wrappers to look through when finding a C/C++ function's name
_C_DECLARATOR_WRAPPERS = frozenset(
    {"pointer_declarator", "reference_declarator", "attributed_declarator"}
)


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
        kind = _classify(spec, candidate)
        if kind is not None:
            return _build(doc, spec, candidate, kind)
        if candidate.type in spec.wrappers or candidate.type in spec.leading:
            inner = _wrapped_unit(spec, candidate)
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
    kind = _classify(spec, node)
    if kind is not None:
        return _build(doc, spec, node, kind)
    inner = _wrapped_unit(spec, node)
    return _build(doc, spec, inner[0], inner[1]) if inner is not None else None


def child_units(doc: Document, parent: Node) -> Iterator[tuple[Node, Node, str]]:
    """(statement, unit node, kind) for each unit directly inside `parent`'s body, in order.

    Cheap (no Unit built): the context assembler walks thousands of these in big files."""
    spec = doc.language
    if spec is None:
        return
    body = _body_of(spec, parent) if parent.parent is not None else parent
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
        kind = _classify(spec, child)
        if kind is not None:
            yield child, child, kind
            continue
        inner = _wrapped_unit(spec, child)
        if inner is not None:
            yield child, inner[0], inner[1]


def classify(doc: Document, node: Node) -> str | None:
    """The unit kind of `node` if it is a unit itself (cheap: no Unit is built)."""
    return _classify(doc.language, node) if doc.language is not None else None


def unit_node(doc: Document, statement: Node) -> tuple[Node, str] | None:
    """The unit node (and kind) a statement is or wraps, cheaply."""
    spec = doc.language
    if spec is None:
        return None
    kind = _classify(spec, statement)
    if kind is not None:
        return statement, kind
    return _wrapped_unit(spec, statement)


def detached_class_name(doc: Document, node: Node) -> str | None:
    """Class of a method defined outside its class body (Go receiver, `A::f`, `T:m`)."""
    spec = doc.language
    return _detached_class(spec, node, doc.data) if spec is not None else None


def body_of(doc: Document, node: Node) -> Node | None:
    return _body_of(doc.language, node) if doc.language is not None else None


def node_name(doc: Document, node: Node) -> str:
    spec = doc.language
    return _name(spec, node, doc.data) if spec is not None else ""


# --- classification ---------------------------------------------------------------------


def _classify(spec: LanguageSpec, node: Node) -> str | None:
    """The unit kind of `node` (before method promotion), or None if it is not a unit."""
    if not node.is_named:  # the `class` keyword is not a class
        return None
    ntype = node.type
    if ntype in spec.bindings:
        return "function" if _binding_value(spec, node) is not None else None
    kind = spec.units.get(ntype)
    if kind is None:
        return None
    if ntype in _C_TAGGED:
        return kind if node.child_by_field_name("body") is not None else None
    if ntype == "type_definition":
        inner = node.child_by_field_name("type")
        if inner is None or inner.child_by_field_name("body") is None:
            return None
        return spec.units.get(inner.type, "type")
    if ntype in _C_FUNCTION_HOSTS:
        return kind if _c_function_declarator(node) is not None else None
    if ntype == "type_declaration":  # Go
        spec_node = _first_named(node, ("type_spec", "type_alias"))
        inner = spec_node.child_by_field_name("type") if spec_node is not None else None
        if inner is not None and inner.type == "struct_type":
            return "struct"
        if inner is not None and inner.type == "interface_type":
            return "interface"
        return "type"
    return kind


def _binding_value(spec: LanguageSpec, node: Node) -> Node | None:
    """The function a binding assigns (`const f = () => ...`, `local f = function ...`)."""
    if node.type == "assignment_statement":  # Lua: one name, one value
        values = _first_named(node, ("expression_list",))
        names = _first_named(node, ("variable_list",))
        if values is None or names is None or values.named_child_count != 1:
            return None
        if names.named_child_count != 1:
            return None
        value: Node | None = values.named_children[0]
    else:
        value = node.child_by_field_name("value")
    if value is not None and value.type in spec.function_values:
        return value
    return None


def _wrapped_unit(spec: LanguageSpec, node: Node) -> tuple[Node, str] | None:
    """For a wrapper or a binding statement (`export ...`, `@decorator def`, `const f = ...`,
    `#[attr]`), the unit it holds."""
    ntype = node.type
    if ntype in spec.leading:
        sibling = node.next_named_sibling
        while sibling is not None and sibling.type in spec.leading:
            sibling = sibling.next_named_sibling
        if sibling is None:
            return None
        kind = _classify(spec, sibling)
        return (sibling, kind) if kind is not None else None
    if ntype not in spec.wrappers and not _is_binding_statement(spec, node):
        return None
    for child in node.named_children:
        kind = _classify(spec, child)
        if kind is not None:
            return child, kind
        if child.type in spec.wrappers or _is_binding_statement(spec, child):
            nested = _wrapped_unit(spec, child)
            if nested is not None:
                return nested
    return None


def _is_binding_statement(spec: LanguageSpec, node: Node) -> bool:
    # `const f = () => 1;` is a lexical_declaration holding one variable_declarator; Lua's
    # `local f = function() end` is a variable_declaration holding an assignment_statement.
    if not spec.bindings or node.type not in (
        "lexical_declaration",
        "variable_declaration",
    ):
        return False
    kids = [c for c in node.named_children if c.type not in spec.comment_types]
    return len(kids) == 1 and kids[0].type in spec.bindings


def _first_named(node: Node, types: tuple[str, ...]) -> Node | None:
    for child in node.named_children:
        if child.type in types:
            return child
    return None


def _c_function_declarator(node: Node) -> Node | None:
    """The function_declarator of a C/C++ definition or prototype, if it declares a function
    (not a function pointer)."""
    declarator = node.child_by_field_name("declarator")
    while declarator is not None:
        dtype = declarator.type
        if dtype == "function_declarator":
            inner = declarator.child_by_field_name("declarator")
            if inner is not None and inner.type == "parenthesized_declarator":
                return None  # int (*fp)(int): a pointer, not a function
            return declarator
        if dtype not in _C_DECLARATOR_WRAPPERS:
            return None
        declarator = declarator.child_by_field_name("declarator")
    return None


# --- building a Unit ----------------------------------------------------------------------


def _build(doc: Document, spec: LanguageSpec, node: Node, kind: str) -> Unit:
    data = doc.data
    outer = _outer(spec, node)
    first = _leading_node(spec, outer)
    start = first.start_byte
    container = _container(spec, node)
    name = _name(spec, node, data)
    class_name: str | None = None
    if container is not None:
        class_name = _name(spec, container, data) or None
        if container.type == "impl_item":
            class_name = _impl_type(container, data)
        if kind == "function":
            kind = "method"
    else:
        class_name = _detached_class(spec, node, data)
        if class_name and kind == "function" and spec.name != "lua":
            kind = "method"
    if spec.name == "lua" and kind == "function":
        name_node = node.child_by_field_name("name")
        if name_node is not None and name_node.type == "method_index_expression":
            kind = "method"  # function T:m() takes self
    if spec.name == "ruby" and kind == "method" and container is None:
        kind = "function"  # a top-level `def` is a private method of Object: a function to users
    body = _body_of(spec, node)
    doc_text, doc_span = _docstring(doc, spec, body, first)
    end = _trimmed_end(outer, data)
    return Unit(
        kind=kind,
        name=name,
        signature=_signature(spec, data, node, body, start, outer),
        docstring=doc_text,
        doc_span=doc_span,
        byte_span=(start, end),
        line_span=(first.start_point.row, max(_end_row(outer), first.start_point.row)),
        class_name=class_name,
        language=spec.name,
        node=node,
        body=body,
        container=container,
    )


def _end_row(node: Node) -> int:
    # Nodes that own their trailing newline (Rust `///` comments) end at column 0 of the next row.
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def _trimmed_end(node: Node, data: bytes) -> int:
    end = node.end_byte
    while end > node.start_byte and data[end - 1] in b"\r\n":
        end -= 1
    return end


def _outer(spec: LanguageSpec, node: Node) -> Node:
    """The node plus whatever wraps it: binding statement, export, decorators, template."""
    outer = node
    parent = outer.parent
    if node.type in spec.bindings and parent is not None and _is_binding_statement(spec, parent):
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
        if _classify(spec, parent) is not None:
            # A class-like unit hosts methods; a function or namespace in between does not.
            return parent if parent.type in spec.containers else None
        parent = parent.parent
    return None


def _ancestors(node: Node) -> Iterator[Node]:
    current: Node | None = node
    while current is not None:
        yield current
        current = current.parent


def _slice(node: Node, data: bytes, limit: int | None = None) -> bytes:
    end = node.end_byte if limit is None else min(node.end_byte, node.start_byte + limit)
    return data[node.start_byte : end]


def _text(node: Node | None, data: bytes) -> str:
    return decode(_slice(node, data)) if node is not None else ""


def _name(spec: LanguageSpec, node: Node, data: bytes) -> str:
    ntype = node.type
    if ntype in spec.bindings:
        if ntype == "assignment_statement":
            names = _first_named(node, ("variable_list",))
            return _tail_name(_text(names, data))
        target = node.child_by_field_name("name") or node.child_by_field_name("property")
        return _text(target, data)
    if ntype == "impl_item":
        trait = node.child_by_field_name("trait")
        impl_type = _impl_type(node, data)
        return f"{_text(trait, data)} for {impl_type}" if trait is not None else impl_type
    if ntype == "type_declaration":
        spec_node = _first_named(node, ("type_spec", "type_alias"))
        return _text(spec_node.child_by_field_name("name"), data) if spec_node else ""
    if ntype == "type_definition":
        return _text(node.child_by_field_name("declarator"), data)
    if ntype in ("function_definition", *_C_FUNCTION_HOSTS) and spec.name in ("c", "cpp"):
        declarator = _c_function_declarator(node)
        inner = declarator.child_by_field_name("declarator") if declarator else None
        return _tail_name(_text(inner, data))
    name = node.child_by_field_name("name")
    if name is None:
        return ""
    return _tail_name(_text(name, data)) if spec.name == "lua" else _text(name, data)


def _tail_name(qualified: str) -> str:
    """`Stack:push` -> `push`, `geo::Circle::name` -> `name`, `M.encode` -> `encode`."""
    for sep in ("::", ":", "."):
        if sep in qualified:
            qualified = qualified.rsplit(sep, 1)[1]
    return qualified


def _impl_type(node: Node, data: bytes) -> str:
    impl_type = node.child_by_field_name("type")
    if impl_type is not None and impl_type.type == "generic_type":
        impl_type = impl_type.child_by_field_name("type")
    return _text(impl_type, data)


def _detached_class(spec: LanguageSpec, node: Node, data: bytes) -> str | None:
    """Class of a method defined outside its class body: Go receivers, C++ `A::f`, Lua `A:f`."""
    if node.type == "method_declaration" and spec.name == "go":
        receiver = node.child_by_field_name("receiver")
        param = _first_named(receiver, ("parameter_declaration",)) if receiver else None
        rtype = param.child_by_field_name("type") if param else None
        text = _text(rtype, data).lstrip("*")
        return text.split("[", 1)[0] or None
    if spec.name == "cpp" and node.type == "function_definition":
        declarator = _c_function_declarator(node)
        inner = declarator.child_by_field_name("declarator") if declarator else None
        if inner is not None and inner.type == "qualified_identifier":
            scope = inner.child_by_field_name("scope")
            return _text(scope, data).split("<", 1)[0] or None
    if spec.name == "lua" and node.type == "function_declaration":
        name = node.child_by_field_name("name")
        if name is not None and name.type in ("method_index_expression", "dot_index_expression"):
            table = name.child_by_field_name("table")
            return _text(table, data) or None
    return None


def _body_of(spec: LanguageSpec | None, node: Node) -> Node | None:
    if spec is not None and node.type in spec.bindings:
        value = _binding_value(spec, node)
        return value.child_by_field_name("body") if value is not None else None
    body = node.child_by_field_name("body")
    if body is None and node.type == "type_declaration":  # Go: the struct/interface body
        spec_node = _first_named(node, ("type_spec",))
        inner = spec_node.child_by_field_name("type") if spec_node else None
        if inner is not None and inner.type in ("struct_type", "interface_type"):
            body = _first_named(inner, ("field_declaration_list",)) or inner
    if body is None and node.type == "type_definition":  # C: typedef struct { ... } name;
        inner = node.child_by_field_name("type")
        body = inner.child_by_field_name("body") if inner is not None else None
    return body


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
        end = _trimmed_end(outer, data)
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


# --- doc comments -------------------------------------------------------------------------


def _docstring(
    doc: Document, spec: LanguageSpec, body: Node | None, first: Node
) -> tuple[str | None, tuple[int, int] | None]:
    if spec.doc_style is DocStyle.PYTHON:
        return _python_docstring(doc.data, body)
    comments = _doc_comments(doc, spec, first)
    if not comments:
        return None, None
    span = (comments[0].start_byte, _comment_end(comments[-1], doc.data))
    raw = [decode(doc.data[c.start_byte : _comment_end(c, doc.data)]) for c in comments]
    return clean_comment("\n".join(raw), spec.doc_style), span


def _python_docstring(data: bytes, body: Node | None) -> tuple[str | None, tuple[int, int] | None]:
    statement = python_docstring_node(body)
    if statement is None:
        return None, None
    string = statement.named_children[0]
    kids = string.children
    if len(kids) >= 2 and kids[0].type == "string_start" and kids[-1].type == "string_end":
        content = decode(data[kids[0].end_byte : kids[-1].start_byte])
    else:
        content = _text(string, data).strip("\"'")
    return cleandoc(content), (statement.start_byte, statement.end_byte)


def python_docstring_node(body: Node | None) -> Node | None:
    """The docstring statement opening a Python body, if there is one."""
    if body is None:
        return None
    for child in body.named_children:
        if child.type == "comment":
            continue
        if (
            child.type == "expression_statement"
            and child.named_child_count == 1
            and child.named_children[0].type == "string"
        ):
            return child
        return None
    return None


def _comment_end(node: Node, data: bytes) -> int:
    return _trimmed_end(node, data)


def _starts_line(data: bytes, offset: int) -> bool:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return not data[line_start:offset].strip()


def _doc_comments(doc: Document, spec: LanguageSpec, first: Node) -> list[Node]:
    """The comment block documenting the unit whose first node is `first`: adjacent comments
    (no blank line in between), each on its own line, in the language's doc convention."""
    data = doc.data
    block: list[Node] = []
    next_row = first.start_point.row
    # A body that begins at the unit (Ruby `body_statement`) leaves its comments outside it.
    anchor = first
    while (
        anchor.prev_named_sibling is None
        and anchor.parent is not None
        and anchor.parent.start_byte == first.start_byte
        and anchor.parent.parent is not None
    ):
        anchor = anchor.parent
    prev = anchor.prev_named_sibling
    while prev is not None and prev.type in spec.comment_types:
        if _end_row(prev) < next_row - 1 or not _starts_line(data, prev.start_byte):
            break
        block.insert(0, prev)
        next_row = prev.start_point.row
        prev = prev.prev_named_sibling
    return _doc_style_suffix(block, spec.doc_style, data)


def _doc_style_suffix(block: list[Node], style: DocStyle, data: bytes) -> list[Node]:
    """The part of an adjacent comment block (closest to the unit) that is documentation."""

    def text(node: Node) -> bytes:
        return data[node.start_byte : node.end_byte]

    if not block:
        return []
    last = text(block[-1])
    if style is DocStyle.JSDOC:
        return [block[-1]] if _is_doc_block(last) else []
    if last.startswith(b"/*"):
        # A block comment documents alone; C/C++ accept any block, Rust only `/**`.
        ok = style is DocStyle.DOXYGEN or (style is DocStyle.RUST and _is_doc_block(last))
        return [block[-1]] if ok else []
    if style is DocStyle.RUST:
        is_doc = _is_rust_line_doc
    elif style is DocStyle.DOXYGEN or style is DocStyle.GO:
        is_doc = _is_slash_line
    elif style is DocStyle.RUBY:
        is_doc = _is_hash_line
    else:
        is_doc = _is_lua_line
    suffix: list[Node] = []
    for node in reversed(block):
        if not is_doc(text(node)):
            break
        suffix.insert(0, node)
    return suffix


def _is_doc_block(text: bytes) -> bool:
    return text.startswith((b"/**", b"/*!")) and not text.startswith(b"/**/")


def _is_rust_line_doc(text: bytes) -> bool:
    return text.startswith(b"///") and not text.startswith(b"////")


def _is_slash_line(text: bytes) -> bool:
    return text.startswith(b"//")


def _is_hash_line(text: bytes) -> bool:
    return text.startswith(b"#") and not text.startswith(b"#!")


def _is_lua_line(text: bytes) -> bool:
    return text.startswith(b"--") and not text.startswith(b"--[")


def clean_comment(raw: str, style: DocStyle) -> str:
    """The text of a doc comment without its delimiters and per-line markers."""
    raw = raw.strip()
    if raw.startswith("/*"):
        inner = raw[3:] if raw.startswith(("/**", "/*!")) else raw[2:]
        inner = inner[:-2] if inner.endswith("*/") else inner
        lines = []
        for line in inner.split("\n"):
            stripped = line.strip()
            if stripped.startswith("*"):
                stripped = stripped[1:]
                stripped = stripped[1:] if stripped.startswith(" ") else stripped
            lines.append(stripped.rstrip())
        return cleandoc("\n".join(lines))
    markers = {
        DocStyle.RUST: ("//!", "///", "//"),
        DocStyle.RUBY: ("#",),
        DocStyle.LUA: ("---", "--"),
    }.get(style, ("//!", "///", "//"))
    lines = []
    for line in raw.split("\n"):
        stripped = line.strip()
        for marker in markers:
            if stripped.startswith(marker):
                stripped = stripped[len(marker) :]
                break
        lines.append(stripped[1:] if stripped.startswith(" ") else stripped)
    return "\n".join(lines).strip("\n").rstrip()


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


def cleandoc(text: str) -> str:
    """`inspect.cleandoc` without importing inspect (which drags in ast and dis at start-up)."""
    lines = text.expandtabs().split("\n")
    margins = [len(line) - len(line.lstrip()) for line in lines[1:] if line.strip()]
    margin = min(margins) if margins else 0
    cleaned = [lines[0].strip(), *(line[margin:].rstrip() for line in lines[1:])]
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    while cleaned and not cleaned[0]:
        cleaned.pop(0)
    return "\n".join(cleaned)
