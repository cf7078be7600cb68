"""Read a model's answer by syntax into a checked edit for `document` or `refactor`.

Every block of the answer (fenced with any tag or none, the unfenced answer, a block cut off by a
truncated answer) is parsed with the target's tree-sitter grammar; nothing is taken on trust
because it is the longest block or the whole answer.

refactor: the definition that corresponds to the target (same name and kind, the closest
enclosing path) is taken from whichever block holds it: alone, inside its class, inside a whole
file. Its decorators and doc comment come with it; the target's own doc comment is kept when the
answer's copy has none. It is re-indented to the target's position (tabs or spaces as the file
has them, CRLF kept). Other blocks (usage, tests) and prose are ignored. A region or a window of
plain text takes the code block most like the original.

document: the unit's own code carrying a docstring or doc comment gives the doc text; otherwise
a block holding only comments, a docstring literal, or plain text. `context/docstrings.py`
then places it in the language's convention: the model's code is never used.

Then `acceptance.accept_edit` runs the named checks. A failure is a `Refusal` naming the check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from magray_lsp.actions.acceptance import (
    Candidate,
    EditAction,
    Edited,
    Refusal,
    Rules,
    Scope,
    accept_edit,
)
from magray_lsp.actions.answers import (
    Block,
    answer_blocks,
    doc_text,
    looks_like_prose,
    whole_answer,
)
from magray_lsp.actions.code_facts import is_docstring
from magray_lsp.actions.indentation import leading, line_start, reindented
from magray_lsp.context.docstrings import docstring_edit
from magray_lsp.context.document import Document
from magray_lsp.context.outline import Definition, all_definitions, path_of, same_kind
from magray_lsp.context.positions import decode
from magray_lsp.context.units import unit_for_node

if TYPE_CHECKING:
    from tree_sitter import Node

    from magray_lsp.actions.target import Target
    from magray_lsp.context.assemble import CodeContext
    from magray_lsp.context.languages import LanguageSpec
    from magray_lsp.context.units import Unit


def edit_scope(
    action: EditAction, target: Target, context: CodeContext, instruction: str | None
) -> Scope:
    """Where `action` may edit: the unit's lines for a refactor (the context's exact target),
    the unit plus the line a doc comment goes on for document."""
    unit = target.unit()
    span = context.byte_span
    if action == "document" and unit is not None:
        span = (line_start(target.doc.data, unit.full_span[0]), unit.byte_span[1])
    return Scope(action, target.doc, unit, span, Rules.from_instruction(instruction))


class EditReader:
    """Turns answers into checked edits for one scope. The last answer's result is kept: the
    gateway's accept and the final read of the chosen answer do the work once."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._last: tuple[str, Edited | Refusal] | None = None

    def read(self, answer: str) -> Edited:
        """The edited document, or a Refusal naming the check that failed."""
        if self._last is None or self._last[0] != answer:
            result: Edited | Refusal
            try:
                result = accept_edit(self.scope, self.candidate(answer))
            except Refusal as refusal:
                result = refusal
            self._last = (answer, result)
        found = self._last[1]
        if isinstance(found, Refusal):
            raise found
        return found

    def candidate(self, answer: str) -> Candidate:
        """The edit the answer asks for, before the checks (readers of other outputs, such
        as inserted code, override this)."""
        return read_candidate(self.scope, answer)

    def refusal(self, answer: str) -> str | None:
        """`gateway.Accept`: None when the answer is usable, else why not."""
        try:
            self.read(answer)
        except Refusal as refusal:
            return str(refusal)
        return None


def read_candidate(scope: Scope, answer: str) -> Candidate:
    """The edit the answer asks for, before the acceptance checks."""
    if scope.action == "document":
        return _read_document(scope, answer)
    return _read_refactor(scope, answer)


# --- snippets: one block parsed in the target's language -----------------------------------

#: class members that do not parse on their own (a JS method is a call followed by a block)
_MEMBER_WRAPPERS = {
    "javascript": ("class __magray__ {\n", "\n}\n"),
    "typescript": ("class __magray__ {\n", "\n}\n"),
    "tsx": ("class __magray__ {\n", "\n}\n"),
    "java": ("class __magray__ {\n", "\n}\n"),
    "cpp": ("struct __magray__ {\n", "\n};\n"),
}
_WRAPPER_NAME = "__magray__"


@dataclass(slots=True)
class _Snippet:
    block: Block
    doc: Document
    _definitions: list[Definition] | None = field(default=None)

    @classmethod
    def parse(cls, block: Block, spec: LanguageSpec, wrapped: bool = False) -> _Snippet:
        text = block.text
        if wrapped:
            head, tail = _MEMBER_WRAPPERS[spec.name]
            text = head + text + tail
        return cls(block, Document.from_text(text, language_id=spec.name))

    @property
    def definitions(self) -> list[Definition]:
        if self._definitions is None:
            self._definitions = all_definitions(self.doc)
        return self._definitions


def _match(scope: Scope, block: Block) -> tuple[_Snippet, Definition | None]:
    """The block parsed, and its definition corresponding to the target (if any)."""
    unit = scope.definition
    spec = scope.doc.language
    assert unit is not None and spec is not None
    snippet = _Snippet.parse(block, spec)
    found = _best(scope, unit, snippet)
    if found is None and unit.container is not None and spec.name in _MEMBER_WRAPPERS:
        wrapped = _Snippet.parse(block, spec, wrapped=True)
        found = _best(scope, unit, wrapped)
        if found is not None:
            return wrapped, found
    return snippet, found


def _best(scope: Scope, unit: Unit, snippet: _Snippet) -> Definition | None:
    same = [d for d in snippet.definitions if d.name == unit.name and same_kind(d.kind, unit.kind)]
    if not unit.name and len(same) != 1:  # anonymous: the single definition of its kind
        kind = [d for d in snippet.definitions if same_kind(d.kind, unit.kind)]
        same = kind if len(kind) == 1 else []
    if not same:
        return None
    path = path_of(scope.doc, unit.node)
    head = _normalized(unit.signature.split("\n", 1)[0])

    def score(d: Definition) -> tuple[int, bool]:
        mine = tuple(p for p in d.path if p != _WRAPPER_NAME)
        suffix = 0
        while suffix < min(len(mine), len(path)) and mine[-1 - suffix] == path[-1 - suffix]:
            suffix += 1
        line = snippet.doc.data[d.node.start_byte :].split(b"\n", 1)[0]
        return suffix, head in _normalized(decode(line))

    return max(same, key=score)


def _normalized(text: str) -> str:
    return " ".join(text.split())


# --- refactor ------------------------------------------------------------------------------


def _read_refactor(scope: Scope, answer: str) -> Candidate:
    blocks = answer_blocks(answer)
    if not blocks or not any(b.text.strip() for b in blocks):
        raise scope.refuse("has-code", "the answer holds no code")
    unit = scope.definition
    spec = scope.doc.language
    if unit is None or spec is None or scope.doc.tree is None:
        return _region_candidate(scope, blocks)
    matches: list[tuple[_Snippet, Definition]] = []
    snippets: list[_Snippet] = []
    for block in blocks:
        snippet, found = _match(scope, block)
        snippets.append(snippet)
        if found is not None:
            matches.append((snippet, found))
    if not matches and blocks[0].fenced:
        snippet, found = _match(scope, whole_answer(answer))
        if found is not None:
            matches.append((snippet, found))
    if not matches and scope.rules.rename:
        matches = _renamed(scope, unit, snippets)
    if not matches:
        raise _why_not_found(scope, unit, snippets)
    original = _normalized(decode(scope.doc.data[unit.byte_span[0] : unit.byte_span[1]]))
    changed = [m for m in matches if _normalized(_definition_text(*m)) != original]
    snippet, found = (changed or matches)[-1]
    tree = snippet.doc.tree
    if not snippet.block.closed and tree is not None and tree.root_node.has_error:
        # cut off at max_tokens: what parsed may be a prefix (a Go func without its body)
        raise scope.refuse("complete", f"the answer breaks off inside `{found.name}`")
    pieces = sorted(
        [found, *_helpers(scope, unit, snippet, found)], key=lambda d: d.node.start_byte
    )
    return _unit_candidate(scope, unit, snippet, found, pieces)


def _definition_text(snippet: _Snippet, found: Definition) -> str:
    piece = unit_for_node(snippet.doc, found.node)
    assert piece is not None
    return decode(snippet.doc.data[piece.byte_span[0] : piece.byte_span[1]])


def _renamed(
    scope: Scope, unit: Unit, snippets: list[_Snippet]
) -> list[tuple[_Snippet, Definition]]:
    """For an instruction that asks for a rename: the answer's one new definition of the
    unit's kind (or the one the instruction names)."""
    options = [
        (s, d)
        for s in snippets
        for d in s.definitions
        if same_kind(d.kind, unit.kind) and not _defined_elsewhere(scope, d.name)
    ]
    named = [(s, d) for s, d in options if d.name in scope.rules.mentioned]
    if named:
        return named[-1:]
    return options[-1:] if len({d.name for _s, d in options}) == 1 else []


def _why_not_found(scope: Scope, unit: Unit, snippets: list[_Snippet]) -> Refusal:
    others = [d for s in snippets for d in s.definitions]
    if unit.name and any(d.name == unit.name for d in others):
        kind = next(d.kind for d in others if d.name == unit.name)
        return scope.refuse(
            "keeps-kind", f"the answer turns {unit.kind} {scope.label} into a {kind}"
        )
    same_kinds = [d.name for d in others if same_kind(d.kind, unit.kind)]
    if same_kinds:
        return scope.refuse(
            "keeps-name", f"the answer defines `{same_kinds[0]}` instead of {scope.label}"
        )
    if any(not s.block.closed for s in snippets):
        return scope.refuse("complete", f"the answer breaks off before {scope.label} is complete")
    return scope.refuse("has-code", f"the answer holds no definition of {scope.label}")


def _helpers(scope: Scope, unit: Unit, snippet: _Snippet, found: Definition) -> list[Definition]:
    """New definitions next to the target in the answer (same container, a name the document
    does not have): taken along when the instruction asks for extraction; refused when the
    unit needs one the instruction did not ask for; ignored otherwise (usage, tests)."""
    new = [
        d
        for d in snippet.definitions
        if d.path == found.path
        and d.node.id != found.node.id
        and d.name
        and d.name != unit.name
        and not _defined_elsewhere(scope, d.name)
    ]
    if scope.rules.helpers:
        return new
    body = _definition_text(snippet, found)
    needed = [d.name for d in new if re.search(rf"\b{re.escape(d.name)}\b", body)]
    if needed:
        raise scope.refuse(
            "keeps-neighbours",
            f"{scope.label} needs {', '.join(f'`{n}`' for n in needed)}, which the answer adds; "
            "only an instruction to extract or split adds definitions",
        )
    return []


def _defined_elsewhere(scope: Scope, name: str) -> bool:
    """`name` occurs in the document outside the target (cheap: a word search, no parse)."""
    data = scope.doc.data
    lo, hi = scope.span
    word = re.compile(rb"\b" + re.escape(name.encode()) + rb"\b")
    return word.search(data, 0, lo) is not None or word.search(data, hi) is not None


def _unit_candidate(
    scope: Scope, unit: Unit, snippet: _Snippet, target: Definition, pieces: list[Definition]
) -> Candidate:
    """The pieces' text (each with its decorators and doc comment) re-indented for the span.
    Pieces that follow each other in the answer keep the text between them; pieces with other
    definitions between them are joined by a blank line. When the answer's copy of the target
    has no doc comment above it, the file's own goes there."""
    data = snippet.doc.data
    taken = {p.node.id for p in pieces}
    parts: list[str] = []
    verbatim: set[int] = set()
    row = 0
    previous_end: int | None = None
    for piece in pieces:
        found = unit_for_node(snippet.doc, piece.node)
        assert found is not None
        start, end = found.full_span[0], found.byte_span[1]
        head = line_start(data, start)
        if data[head:start].strip():
            head = start
        if previous_end is not None:
            skipped = any(
                previous_end <= d.node.start_byte < head and d.node.id not in taken
                for d in snippet.definitions
            )
            parts.append("\n\n" if skipped else decode(data[previous_end:head]))
        if piece.node.id == target.node.id and found.full_span == found.byte_span:
            parts.append(_files_doc_comment(scope, unit, decode(data[head:start])))
        row = sum(part.count("\n") for part in parts)
        verbatim.update(r + row for r in _verbatim_rows(snippet, head, end))
        parts.append(decode(data[head:end]))
        previous_end = end
    lo, hi = scope.span
    return Candidate(lo, hi, reindented(scope, "".join(parts), verbatim, from_first=True))


def _files_doc_comment(scope: Scope, unit: Unit, indent: str) -> str:
    """The doc comment above the unit in the file ("" if none), at the answer's `indent`."""
    if unit.full_span[0] >= unit.byte_span[0]:
        return ""
    data = scope.doc.data
    start = line_start(data, unit.full_span[0])
    lines = decode(data[start : line_start(data, unit.byte_span[0])]).splitlines(keepends=True)
    margin = leading(lines[0]) if lines else ""
    return "".join(indent + line.removeprefix(margin) for line in lines).replace("\r\n", "\n")


def _region_candidate(scope: Scope, blocks: list[Block]) -> Candidate:
    """A region or plain-text window: the code block sharing the most identifiers with it."""
    lo, hi = scope.span
    original = set(_IDENTIFIER.findall(decode(scope.doc.data[lo:hi])))
    code = [b for b in blocks if not b.is_text and b.text.strip()] or blocks

    def likeness(block: Block) -> float:
        words = set(_IDENTIFIER.findall(block.text))
        return len(words & original) / max(1, len(words | original))

    block = max(code, key=likeness)
    if not block.closed:
        raise scope.refuse("complete", "the answer breaks off inside its code block")
    return Candidate(lo, hi, reindented(scope, block.text))


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING_TYPES = ("string", "template_string", "text_block", "heredoc_body")


def _verbatim_rows(snippet: _Snippet, start: int, end: int) -> set[int]:
    """Rows (relative to the row of `start`) that begin inside a multi-line string literal:
    re-indenting them would change the string. Docstrings are not among them."""
    tree = snippet.doc.tree
    spec = snippet.doc.language
    rows: set[int] = set()
    if tree is None or spec is None:
        return rows
    base = snippet.doc.line_index.point_at(start)[0]
    stack: list[Node] = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.end_byte <= start or node.start_byte >= end:
            continue
        first, last = node.start_point.row, node.end_point.row
        if first == last:
            continue
        if any(t in node.type for t in _STRING_TYPES):
            if not _is_docstring_literal(spec, node):  # a docstring moves with its code
                rows.update(range(first + 1 - base, last + 1 - base))
            continue
        stack.extend(node.children)
    return rows


def _is_docstring_literal(spec: LanguageSpec, node: Node) -> bool:
    parent = node.parent
    return parent is not None and is_docstring(spec, parent)


# --- document ------------------------------------------------------------------------------


def _read_document(scope: Scope, answer: str) -> Candidate:
    unit = scope.definition
    spec = scope.doc.language
    if unit is None or spec is None:
        raise scope.refuse("has-doc", "there is no function, method or class to document")
    from_code: list[str] = []
    bare: list[Block] = []
    wrong: list[str] = []
    undocumented: Block | None = None
    for block in answer_blocks(answer):
        snippet, found = _match(scope, block)
        if found is not None:
            piece = unit_for_node(snippet.doc, found.node)
            if piece is not None and piece.docstring:
                from_code.append(piece.docstring)
            else:
                undocumented = block
        elif snippet.definitions:
            wrong += [d.name for d in snippet.definitions if same_kind(d.kind, unit.kind)]
        elif _is_doc_only(spec, block, snippet):
            bare.append(block)
    if from_code:
        text = from_code[-1]
    elif bare:
        block = bare[0]
        if not block.closed:
            raise scope.refuse("complete", "the answer breaks off inside its documentation")
        text = doc_text(block.text)
    elif undocumented is not None and not undocumented.closed:
        raise scope.refuse("complete", f"the answer breaks off inside {scope.label}")
    elif undocumented is not None:
        raise scope.refuse("has-doc", f"the answer's {scope.label} carries no documentation")
    elif wrong:
        raise scope.refuse("keeps-name", f"the answer documents `{wrong[0]}`, not {scope.label}")
    else:
        raise scope.refuse("has-doc", f"the answer holds no documentation for {scope.label}")
    edit = docstring_edit(scope.doc, unit, text)
    if edit is None:
        raise scope.refuse("has-doc", "the documentation is empty")
    return Candidate(edit.start_byte, edit.end_byte, edit.new_text)


def _is_doc_only(spec: LanguageSpec, block: Block, snippet: _Snippet) -> bool:
    """A block holding documentation and no code: plain text, comments only, a docstring."""
    if not block.text.strip():
        return False
    tree = snippet.doc.tree
    root = tree.root_node if tree is not None else None
    if root is not None and not root.has_error:
        kids = root.named_children
        if all(k.type in spec.comment_types or is_docstring(spec, k) for k in kids):
            return True
    if block.is_text:
        return True
    code_tag = block.fenced and block.tag != ""
    if code_tag:
        return False  # a block tagged with a language is code: usage, tests
    first = block.text.strip().split("\n", 1)[0]
    return (root is not None and root.has_error) or looks_like_prose(first)
