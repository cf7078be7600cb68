"""A unit's documentation as written: a Python docstring or the doc comment above the unit
(in the language's convention: JSDoc, Doxygen, `///`, Go's `//`, Ruby's `#`, Lua's `---`), and
its text without delimiters and markers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .languages import DocStyle
from .positions import decode
from .unit_nodes import end_row, node_text, trimmed_end

if TYPE_CHECKING:
    from tree_sitter import Node

    from .document import Document
    from .languages import LanguageSpec


def unit_doc(
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
        content = node_text(string, data).strip("\"'")
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
    return trimmed_end(node, data)


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
        if end_row(prev) < next_row - 1 or not _starts_line(data, prev.start_byte):
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
