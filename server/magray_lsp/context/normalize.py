"""Cache keys for code that ignore formatting (and, for prose answers, comments).

The key hashes the syntax tree: named-node structure plus every token's type and text.
Whitespace, indentation width and line breaks therefore do not change it; renaming, reordering
or editing any token does. A few things formatters add or drop freely are ignored as well: a
trailing comma before a closing bracket, `;` in languages with optional semicolons, and `'`
versus `"` where both quote the same string.

Comments are skipped by default — an explanation does not change when a comment is added. An
answer that becomes an edit replaces code that holds the comments, so its key keeps them
(``comments=True``), each with its whitespace runs collapsed: re-indenting a block comment is
formatting, a new or changed comment is not.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from .languages import LanguageSpec, get_spec
from .parsing import parse
from .positions import encode

if TYPE_CHECKING:
    from tree_sitter import Node

    from .document import Document
    from .units import Unit

_CLOSERS = frozenset({")", "]", "}"})
# Where a single and a double quote delimit the same kind of string.
_QUOTE_INSENSITIVE = frozenset({"python", "javascript", "typescript", "tsx", "lua"})
_QUOTE_TOKENS = frozenset({"'", '"', "string_start", "string_end"})


def normalized_code_key(
    language: str | LanguageSpec | None, code: str, *, comments: bool = False
) -> str:
    """sha256 over the syntax tokens of `code` (with its comments when ``comments``); plain text
    hashes its whitespace-collapsed form."""
    spec = (
        language if isinstance(language, LanguageSpec) or language is None else get_spec(language)
    )
    if spec is None:
        return _plain_key(code)
    if spec.name == "python":
        code = _dedent(code)  # a method cut out of its class still parses
    data = encode(code)
    digest = hashlib.sha256(spec.name.encode())
    kept: list[bytes] | None = [] if comments else None
    # The top-level statements, not the root: a unit hashes the same inside its file or alone.
    for node in parse(spec, data).root_node.children:
        _feed(digest, spec, data, node, kept)
    if kept:
        _flush_comments(digest, kept)
    return digest.hexdigest()


def normalized_unit_key(doc: Document, unit: Unit) -> str:
    """The same key for a unit of a parsed document, without re-parsing it."""
    spec = doc.language
    if spec is None or doc.tree is None or unit.kind == "region":
        start, end = unit.byte_span
        return normalized_code_key(spec, doc.data[start:end].decode("utf-8", "replace"))
    digest = hashlib.sha256(spec.name.encode())
    # Decorators, `export`, `template<...>` and Rust attributes are part of the unit: feed the
    # outermost wrapper and the attributes before it.
    start, end = unit.byte_span
    node = unit.node
    while (
        node.parent is not None
        and node.parent.parent is not None
        and node.parent.start_byte >= start
        and node.parent.end_byte <= end
    ):
        node = node.parent
    nodes = [node]
    prev = node.prev_sibling
    while prev is not None and prev.start_byte >= start:
        nodes.insert(0, prev)
        prev = prev.prev_sibling
    for part in nodes:
        _feed(digest, spec, doc.data, part)
    return digest.hexdigest()


def _plain_key(code: str) -> str:
    return hashlib.sha256(b"text\x00" + encode(" ".join(code.split()))).hexdigest()


def _dedent(code: str) -> str:
    lines = code.split("\n")
    first = next((line for line in lines if line.strip()), "")
    indent = first[: len(first) - len(first.lstrip())]
    if not indent or not all(line.startswith(indent) or not line.strip() for line in lines):
        return code
    return "\n".join(line[len(indent) :] for line in lines)


def _feed(
    digest: hashlib._Hash,
    spec: LanguageSpec,
    data: bytes,
    root: Node,
    comments: list[bytes] | None = None,
) -> None:
    """Depth-first over `root`: structure markers for named inner nodes, tokens for leaves.

    Comments are skipped, or, when ``comments`` is a list, collected there (whitespace runs
    collapsed) and hashed just before the next token — the caller hashes what is left at the
    end. So a comment counts by its place among the tokens, not by the node a grammar hangs it
    on (dropping an optional `;` moves a trailing comment into the statement)."""
    kinds = spec.comment_types
    if root.type in kinds:
        if comments is not None:
            comments.append(_comment_text(data, root))
        return
    optional = spec.optional_tokens
    quotes = spec.name in _QUOTE_INSENSITIVE
    held_comma = False
    cursor = root.walk()
    while True:
        node = cursor.node
        assert node is not None
        descend = False
        ntype = node.type
        if ntype in kinds:
            # never descend (Rust doc markers are children); a held trailing comma stays held
            if comments is not None:
                comments.append(_comment_text(data, node))
        elif node.child_count == 0:
            text = data[node.start_byte : node.end_byte]
            if ntype in optional:
                pass
            elif ntype == ",":
                if held_comma:
                    digest.update(b"\x02,\x00,")
                held_comma = True
            else:
                if held_comma and ntype not in _CLOSERS:
                    digest.update(b"\x02,\x00,")
                held_comma = False
                if comments:
                    _flush_comments(digest, comments)
                if quotes and ntype in _QUOTE_TOKENS:
                    text = text.replace(b"'", b'"')  # delimiters only, never string content
                    ntype = ntype.replace("'", '"')
                digest.update(b"\x02" + ntype.encode() + b"\x00" + text)
        else:
            if node.is_named:
                digest.update(b"\x01(" + ntype.encode())
            descend = cursor.goto_first_child()
        if descend:
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent() or cursor.node is None or cursor.node.id == root.id:
                if held_comma:
                    digest.update(b"\x02,\x00,")
                if root.is_named and root.child_count:
                    digest.update(b"\x01)")
                return
            if cursor.node.is_named:
                digest.update(b"\x01)")


def _comment_text(data: bytes, node: Node) -> bytes:
    return b" ".join(data[node.start_byte : node.end_byte].split())


def _flush_comments(digest: hashlib._Hash, comments: list[bytes]) -> None:
    """Hash the collected comments (see ``_feed``) and forget them."""
    for text in comments:
        digest.update(b"\x03" + text)
    comments.clear()
