"""Put an LLM-written doc text into the code, in the language's convention.

An existing doc comment (or Python docstring) is replaced, never stacked under a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .doc_comments import clean_comment, python_docstring_node
from .edits import TextEditSpec
from .languages import DocStyle
from .positions import DEFAULT_ENCODING, PositionEncoding, decode, encode

if TYPE_CHECKING:
    from .document import Document
    from .units import Unit

_LINE_MARKERS = {
    DocStyle.RUST: "///",
    DocStyle.GO: "//",
    DocStyle.RUBY: "#",
    DocStyle.LUA: "---",
}
_ONE_LINE_MAX = 80


@dataclass(frozen=True, slots=True)
class DocEdit:
    """Replace document bytes [start_byte, end_byte) with `new_text`; `document` is the
    whole resulting text."""

    start_byte: int
    end_byte: int
    new_text: str
    document: str
    replaced: bool

    def text_edit(
        self, doc: Document, encoding: PositionEncoding = DEFAULT_ENCODING
    ) -> TextEditSpec:
        """The same change as an LSP edit against `doc` (the version it was made from)."""
        rng = doc.line_index.offsets_to_range(self.start_byte, self.end_byte, encoding)
        return TextEditSpec(
            rng.start.line, rng.start.character, rng.end.line, rng.end.character, self.new_text
        )


def docstring_edit(doc: Document, unit: Unit, doc_text: str) -> DocEdit | None:
    """Insert or replace `unit`'s documentation with `doc_text` (plain text, no delimiters;
    stray delimiters an LLM added anyway are removed). None when there is nothing to document
    (plain text, a region, an empty text)."""
    spec = doc.language
    if spec is None or unit.kind == "region":
        return None
    text = _clean(doc_text, spec.doc_style)
    if not text:
        return None
    data = doc.data
    eol = _eol(data, unit.byte_span[0])
    if spec.doc_style is DocStyle.PYTHON:
        found = _python_edit(data, unit, text, eol)
    else:
        found = _comment_edit(data, unit, text, spec.doc_style, eol)
    if found is None:
        return None
    start, end, new_text, replaced = found
    document = decode(data[:start] + encode(new_text) + data[end:])
    return DocEdit(start, end, new_text, document, replaced)


def _clean(doc_text: str, style: DocStyle) -> str:
    text = doc_text.strip()
    for fence in ('"""', "'''"):
        if text.startswith(fence) and text.endswith(fence) and len(text) >= 6:
            text = text[3:-3]
    if text.startswith(("/*", "///", "//", "#", "--")):
        text = clean_comment(text, style)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def _eol(data: bytes, offset: int) -> str:
    newline = data.find(b"\n", offset)
    if newline == -1:
        newline = data.find(b"\n")
    return "\r\n" if newline > 0 and data[newline - 1] == 0x0D else "\n"


def _indent_of_line(data: bytes, offset: int) -> str:
    """Whitespace from the start of offset's line up to offset (empty if code precedes it)."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    head = data[line_start:offset]
    return decode(head) if not head.strip() else ""


# --- Python ---------------------------------------------------------------------------------


def _python_edit(data: bytes, unit: Unit, text: str, eol: str) -> tuple[int, int, str, bool] | None:
    body = unit.body
    if body is None:
        return None
    existing = python_docstring_node(body)
    if existing is not None:
        indent = _indent_of_line(data, existing.start_byte) or _body_indent(data, unit)
        literal = _python_literal(text, indent, eol)
        return existing.start_byte, existing.end_byte, literal, True
    indent = _body_indent(data, unit)
    literal = _python_literal(text, indent, eol)
    colon = _colon_end(unit)
    newline = data.find(b"\n", colon, body.start_byte)
    if newline != -1:
        # Body on its own lines: the docstring goes right under the `def`/`class` line, above
        # any leading comment.
        at = newline + 1
        return at, at, f"{indent}{literal}{eol}", False
    # `def f(): return 1`: move the body to its own line under the new docstring.
    return colon, body.start_byte, f"{eol}{indent}{literal}{eol}{indent}", False


def _colon_end(unit: Unit) -> int:
    """End of the `:` that opens a Python body."""
    body = unit.body
    assert body is not None
    end = unit.node.start_byte
    for child in unit.node.children:
        if child.start_byte >= body.start_byte:
            break
        if child.type == ":":
            end = child.end_byte
    return end


def _line_start(data: bytes, offset: int) -> int:
    return data.rfind(b"\n", 0, offset) + 1


def _body_indent(data: bytes, unit: Unit) -> str:
    body = unit.body
    assert body is not None
    own = _indent_of_line(data, body.start_byte)
    if own and _line_start(data, body.start_byte) > _line_start(data, unit.node.start_byte):
        return own
    head = _indent_of_line(data, unit.node.start_byte)
    step = "\t" if head.startswith("\t") else "    "
    return head + step


def _python_literal(text: str, indent: str, eol: str) -> str:
    # Raw keeps backslashes readable; it cannot hold `"""` or end in a quote or backslash.
    raw = "\\" in text and '"""' not in text and not text.endswith(("\\", '"'))
    if not raw:
        text = text.replace("\\", "\\\\")
    text = text.replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text = text[:-1] + '\\"'  # `"""` + a final quote would close early
    prefix = 'r"""' if raw else '"""'
    if "\n" not in text:
        return f'{prefix}{text}"""'
    lines = text.split("\n")
    body = eol.join(indent + line if line else "" for line in lines[1:])
    return f'{prefix}{lines[0]}{eol}{body}{eol}{indent}"""'


# --- comments above the unit --------------------------------------------------------------


def _comment_edit(
    data: bytes, unit: Unit, text: str, style: DocStyle, eol: str
) -> tuple[int, int, str, bool]:
    if unit.doc_span is not None:
        start, end = unit.doc_span
        indent = _indent_of_line(data, start)
        return start, end, _render_comment(text, style, indent, eol), True
    at = unit.byte_span[0]
    indent = _indent_of_line(data, at)
    if indent or _line_start(data, at) == at:
        line_start = _line_start(data, at)
        comment = _render_comment(text, style, indent, eol)
        return line_start, line_start, f"{indent}{comment}{eol}", False
    # Code precedes the unit on its line: break the line before the comment.
    comment = _render_comment(text, style, "", eol)
    return at, at, f"{eol}{comment}{eol}", False


def _render_comment(text: str, style: DocStyle, indent: str, eol: str) -> str:
    """The comment; its first line carries no indentation (the caller places it)."""
    lines = text.split("\n")
    if style in (DocStyle.JSDOC, DocStyle.DOXYGEN):
        lines = [line.replace("*/", "*\\/") for line in lines]
        if len(lines) == 1 and len(lines[0]) <= _ONE_LINE_MAX:
            return f"/** {lines[0]} */"
        inner = [f"{indent} * {line}" if line else f"{indent} *" for line in lines]
        return eol.join(["/**", *inner, f"{indent} */"])
    marker = _LINE_MARKERS[style]
    out = [f"{marker} {line}" if line else marker for line in lines]
    return eol.join([out[0], *(indent + line for line in out[1:])])
