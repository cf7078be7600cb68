"""Read an answer's code for outputs that add code instead of replacing the unit: inserted
above or below it (`insert_above`, `insert_below`), or written to another file (`new_file`,
Write tests), appended when that file exists.

The code is taken by syntax, like every other answer: each block is parsed with the target's
grammar and the one in the right language that parses, defining the most, wins — never "the
longest block". The candidate edit only inserts; the `insert` acceptance checks (parses,
no fence, no prose, no placeholder, no duplicated definition) then run on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from magray_lsp.actions.acceptance import Candidate, Scope
from magray_lsp.actions.answers import Block, answer_blocks
from magray_lsp.actions.indentation import reindented
from magray_lsp.actions.reading import EditReader
from magray_lsp.context.document import Document
from magray_lsp.context.outline import all_definitions
from magray_lsp.context.positions import decode
from magray_lsp.context.rebase import line_end, line_start

if TYPE_CHECKING:
    from tree_sitter import Node

    from magray_lsp.context.languages import LanguageSpec
    from magray_lsp.context.units import Unit

#: how the code of an answer becomes a candidate edit of `scope.doc`
Place = Callable[[Scope, str], Candidate]

_TAG_ALIASES = {
    "python": ("py", "python3", "py3"),
    "javascript": ("js", "jsx", "node", "mjs"),
    "typescript": ("ts",),
    "tsx": ("typescript", "ts"),
    "go": ("golang",),
    "rust": ("rs",),
    "cpp": ("c++", "cc", "cxx", "hpp"),
    "ruby": ("rb",),
}


class PlacedReader(EditReader):
    """An EditReader for added code: `place` turns the answer's code into the edit."""

    def __init__(self, scope: Scope, place: Place) -> None:
        super().__init__(scope)
        self._place = place

    def candidate(self, answer: str) -> Candidate:
        return self._place(self.scope, answer_code(self.scope, answer))


def answer_code(scope: Scope, answer: str) -> str:
    """The code of `answer` in `scope.doc`'s language: of its code blocks (or the unfenced
    answer), the one tagged with the language (or untagged) that parses and defines the most."""
    blocks = [b for b in answer_blocks(answer) if b.text.strip() and not b.is_text]
    if not blocks:
        raise scope.refuse("has-code", "the answer holds no code")
    spec = scope.doc.language
    best = max(blocks, key=lambda b: _fitness(spec, b))
    if not best.closed:
        raise scope.refuse("complete", "the answer breaks off inside its code block")
    return best.text


def _fitness(spec: LanguageSpec | None, block: Block) -> tuple[bool, bool, int, int]:
    if spec is None:
        return (True, True, 0, len(block.text))
    tagged = block.tag in ("", spec.name, *_TAG_ALIASES.get(spec.name, ()))
    snippet = Document.from_text(block.text, language_id=spec.name)
    tree = snippet.tree
    parses = tree is not None and not tree.root_node.has_error
    return (tagged, parses, len(all_definitions(snippet)), len(block.text))


def eol_of(data: bytes) -> str:
    return "\r\n" if b"\r\n" in data else "\n"


def _defines(spec: LanguageSpec | None, code: str) -> bool:
    if spec is None:
        return False
    return bool(all_definitions(Document.from_text(code, language_id=spec.name)))


# --- next to the unit ----------------------------------------------------------------------


def insert_scope(scope_of: Scope, unit: Unit, where: Literal["above", "below"]) -> Scope:
    """Where code inserted above or below `unit` goes: an empty span at a line boundary."""
    data = scope_of.doc.data
    at = (
        line_start(data, unit.full_span[0])
        if where == "above"
        else line_end(data, unit.byte_span[1])
    )
    return replace(scope_of, action="insert", unit=unit, span=(at, at))


def next_to_unit(where: Literal["above", "below"]) -> Place:
    """Code inserted on its own lines above or below the unit, at the unit's indentation,
    with a blank line between when it defines something (a comment goes right above)."""

    def place(scope: Scope, code: str) -> Candidate:
        unit = scope.unit
        assert unit is not None
        data, spec = scope.doc.data, scope.doc.language
        eol = eol_of(data)
        lines = (line_start(data, unit.byte_span[0]), line_end(data, unit.byte_span[0]))
        body = reindented(replace(scope, span=lines), code).rstrip("\r\n")
        at = scope.span[0]
        top_level = not data[lines[0] : lines[1]][:1].isspace()
        blank = 2 if spec is not None and spec.name == "python" and top_level else 1  # PEP 8
        gap = eol * blank if _defines(spec, code) else ""
        if where == "above":
            return Candidate(at, at, body + eol + gap)
        broken = at > 0 and data[at - 1 : at] in (b"\n", b"\r")  # a last line may have no EOL
        before = ("" if broken else eol) + gap
        after = gap if at < len(data) and data[at : line_end(data, at)].strip() else ""
        return Candidate(at, at, before + body + eol + after)

    return place


# --- another file ----------------------------------------------------------------------------


def file_scope(doc: Document, name: str) -> Scope:
    """Code written into `doc` (the destination file's current text, empty when it does not
    exist yet): anywhere in it, but only by insertion (the places below never replace)."""
    return Scope("insert", doc, None, (0, len(doc.data)), name=name)


def append(scope: Scope, code: str) -> Candidate:
    """`code` at the end of the file after a blank line (the whole file when it is empty),
    without the imports the file already has."""
    doc = scope.doc
    data, eol = doc.data, eol_of(doc.data)
    code = without_known_imports(doc, code).strip("\r\n")
    code = code.replace("\r\n", "\n").replace("\n", eol)
    if not data.strip():
        return Candidate(0, len(data), code + eol)
    ending = decode(data[len(data.rstrip(b"\r\n")) :])
    blank = 2 if doc.language_name == "python" else 1  # PEP 8: two blank lines between defs
    gap = eol * max(0, blank + 1 - ending.count("\n"))
    return Candidate(len(data), len(data), gap + code + eol)


def top_level_imports(doc: Document) -> list[Node]:
    spec, tree = doc.language, doc.tree
    if spec is None or tree is None:
        return []
    return [c for c in tree.root_node.named_children if c.type in spec.import_types]


def without_known_imports(doc: Document, code: str) -> str:
    """`code` without its top-level import statements that `doc` already has (the same
    statement, whitespace aside): appending tests must not import twice."""
    spec = doc.language
    if spec is None:
        return code
    known = {_squeezed(doc.data[n.start_byte : n.end_byte]) for n in top_level_imports(doc)}
    snippet = Document.from_text(code, language_id=spec.name)
    data = snippet.data
    drop = [
        (line_start(data, n.start_byte), line_end(data, n.end_byte))
        for n in top_level_imports(snippet)
        if _squeezed(data[n.start_byte : n.end_byte]) in known
    ]
    for start, end in reversed(drop):
        data = data[:start] + data[end:]
    return decode(data).strip("\r\n")


def _squeezed(text: bytes) -> bytes:
    return b" ".join(text.split()).rstrip(b";")
