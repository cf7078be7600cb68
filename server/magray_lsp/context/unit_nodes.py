"""Which tree-sitter nodes are units, grammar by grammar: their kind, name, body and the
wrappers around them (decorators, `export`, bindings such as `const f = () => ...`).

Cheap functions of one node and its grammar's `LanguageSpec`; `units.py` builds `Unit`s from them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .positions import decode

if TYPE_CHECKING:
    from tree_sitter import Node

    from .languages import LanguageSpec

_C_FUNCTION_HOSTS = frozenset({"declaration", "field_declaration"})
_C_TAGGED = frozenset({"struct_specifier", "union_specifier", "enum_specifier"})
# declarator wrappers to look through when finding a C/C++ function's name
_C_DECLARATOR_WRAPPERS = frozenset(
    {"pointer_declarator", "reference_declarator", "attributed_declarator"}
)


def kind_of(spec: LanguageSpec, node: Node) -> str | None:
    """The unit kind of `node` (before method promotion), or None if it is not a unit."""
    if not node.is_named:  # the `class` keyword is not a class
        return None
    ntype = node.type
    if ntype in spec.bindings:
        return "function" if binding_value(spec, node) is not None else None
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
        return kind if c_function_declarator(node) is not None else None
    if ntype == "type_declaration":  # Go
        spec_node = first_named(node, ("type_spec", "type_alias"))
        inner = spec_node.child_by_field_name("type") if spec_node is not None else None
        if inner is not None and inner.type == "struct_type":
            return "struct"
        if inner is not None and inner.type == "interface_type":
            return "interface"
        return "type"
    return kind


def binding_value(spec: LanguageSpec, node: Node) -> Node | None:
    """The function a binding assigns (`const f = () => ...`, `local f = function ...`)."""
    if node.type == "assignment_statement":  # Lua: one name, one value
        values = first_named(node, ("expression_list",))
        names = first_named(node, ("variable_list",))
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


def wrapped_unit(spec: LanguageSpec, node: Node) -> tuple[Node, str] | None:
    """For a wrapper or a binding statement (`export ...`, `@decorator def`, `const f = ...`,
    `#[attr]`), the unit it holds."""
    ntype = node.type
    if ntype in spec.leading:
        sibling = node.next_named_sibling
        while sibling is not None and sibling.type in spec.leading:
            sibling = sibling.next_named_sibling
        if sibling is None:
            return None
        kind = kind_of(spec, sibling)
        return (sibling, kind) if kind is not None else None
    if ntype not in spec.wrappers and not is_binding_statement(spec, node):
        return None
    for child in node.named_children:
        kind = kind_of(spec, child)
        if kind is not None:
            return child, kind
        if child.type in spec.wrappers or is_binding_statement(spec, child):
            nested = wrapped_unit(spec, child)
            if nested is not None:
                return nested
    return None


def is_binding_statement(spec: LanguageSpec, node: Node) -> bool:
    # `const f = () => 1;` is a lexical_declaration holding one variable_declarator; Lua's
    # `local f = function() end` is a variable_declaration holding an assignment_statement.
    if not spec.bindings or node.type not in (
        "lexical_declaration",
        "variable_declaration",
    ):
        return False
    kids = [c for c in node.named_children if c.type not in spec.comment_types]
    return len(kids) == 1 and kids[0].type in spec.bindings


def first_named(node: Node, types: tuple[str, ...]) -> Node | None:
    for child in node.named_children:
        if child.type in types:
            return child
    return None


def c_function_declarator(node: Node) -> Node | None:
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


def name_of(spec: LanguageSpec, node: Node, data: bytes) -> str:
    ntype = node.type
    if ntype in spec.bindings:
        if ntype == "assignment_statement":
            names = first_named(node, ("variable_list",))
            return tail_name(node_text(names, data))
        target = node.child_by_field_name("name") or node.child_by_field_name("property")
        return node_text(target, data)
    if ntype == "impl_item":
        trait = node.child_by_field_name("trait")
        impl_type = impl_type_name(node, data)
        return f"{node_text(trait, data)} for {impl_type}" if trait is not None else impl_type
    if ntype == "type_declaration":
        spec_node = first_named(node, ("type_spec", "type_alias"))
        return node_text(spec_node.child_by_field_name("name"), data) if spec_node else ""
    if ntype == "type_definition":
        return node_text(node.child_by_field_name("declarator"), data)
    if ntype in ("function_definition", *_C_FUNCTION_HOSTS) and spec.name in ("c", "cpp"):
        declarator = c_function_declarator(node)
        inner = declarator.child_by_field_name("declarator") if declarator else None
        return tail_name(node_text(inner, data))
    name = node.child_by_field_name("name")
    if name is None:
        return ""
    return tail_name(node_text(name, data)) if spec.name == "lua" else node_text(name, data)


def tail_name(qualified: str) -> str:
    """`Stack:push` -> `push`, `geo::Circle::name` -> `name`, `M.encode` -> `encode`."""
    for sep in ("::", ":", "."):
        if sep in qualified:
            qualified = qualified.rsplit(sep, 1)[1]
    return qualified


def impl_type_name(node: Node, data: bytes) -> str:
    impl_type = node.child_by_field_name("type")
    if impl_type is not None and impl_type.type == "generic_type":
        impl_type = impl_type.child_by_field_name("type")
    return node_text(impl_type, data)


def detached_class(spec: LanguageSpec, node: Node, data: bytes) -> str | None:
    """Class of a method defined outside its class body: Go receivers, C++ `A::f`, Lua `A:f`."""
    if node.type == "method_declaration" and spec.name == "go":
        receiver = node.child_by_field_name("receiver")
        param = first_named(receiver, ("parameter_declaration",)) if receiver else None
        rtype = param.child_by_field_name("type") if param else None
        text = node_text(rtype, data).lstrip("*")
        return text.split("[", 1)[0] or None
    if spec.name == "cpp" and node.type == "function_definition":
        declarator = c_function_declarator(node)
        inner = declarator.child_by_field_name("declarator") if declarator else None
        if inner is not None and inner.type == "qualified_identifier":
            scope = inner.child_by_field_name("scope")
            return node_text(scope, data).split("<", 1)[0] or None
    if spec.name == "lua" and node.type == "function_declaration":
        name = node.child_by_field_name("name")
        if name is not None and name.type in ("method_index_expression", "dot_index_expression"):
            table = name.child_by_field_name("table")
            return node_text(table, data) or None
    return None


def body_node(spec: LanguageSpec | None, node: Node) -> Node | None:
    if spec is not None and node.type in spec.bindings:
        value = binding_value(spec, node)
        return value.child_by_field_name("body") if value is not None else None
    body = node.child_by_field_name("body")
    if body is None and node.type == "type_declaration":  # Go: the struct/interface body
        spec_node = first_named(node, ("type_spec",))
        inner = spec_node.child_by_field_name("type") if spec_node else None
        if inner is not None and inner.type in ("struct_type", "interface_type"):
            body = first_named(inner, ("field_declaration_list",)) or inner
    if body is None and node.type == "type_definition":  # C: typedef struct { ... } name;
        inner = node.child_by_field_name("type")
        body = inner.child_by_field_name("body") if inner is not None else None
    return body


def node_bytes(node: Node, data: bytes, limit: int | None = None) -> bytes:
    end = node.end_byte if limit is None else min(node.end_byte, node.start_byte + limit)
    return data[node.start_byte : end]


def node_text(node: Node | None, data: bytes) -> str:
    return decode(node_bytes(node, data)) if node is not None else ""


def end_row(node: Node) -> int:
    # Nodes that own their trailing newline (Rust `///` comments) end at column 0 of the next row.
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def trimmed_end(node: Node, data: bytes) -> int:
    end = node.end_byte
    while end > node.start_byte and data[end - 1] in b"\r\n":
        end -= 1
    return end
