"""Named acceptance checks for an edit built from a model's answer.

Every candidate edit (from a fresh answer or a cached one) goes through all of them, in the order
of `CHECKS`; the first that fails refuses the answer with ``"{action}: {check}: {why}"``. The
gateway records that reason, asks the next model, and puts every reason into the error the user
sees when no model's answer was usable.

| check | what it refuses |
|---|---|
| inside-span | an edit reaching outside the target unit (a doc comment may go right above it) |
| parses | an edit that leaves more syntax errors than the document had |
| no-fence | a Markdown fence line left in the code (not inside a comment or string) |
| no-prose | an English sentence left in the code ("Here is the refactored code:") |
| no-placeholder | a redaction placeholder (`<EMAIL_2>`) that is not in the document already |
| comments-only | (document) any change to a code token: only comments and docstrings may change |
| keeps-name, keeps-kind | (refactor) the target's name or kind changed |
| keeps-neighbours | (refactor) a definition duplicated, lost, or moved out of its container; |
|  | (insert) a new definition with the name of one already next to it |

What an instruction may change (`Rules.from_instruction`): one that asks to *rename* the unit
lets the refactored unit carry another name; one that asks to *extract*, *split* or add a
*helper* lets the edit add definitions next to it. Nothing lets an edit duplicate or lose a
definition, or move one to another container.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from magray_lsp.actions.answers import looks_like_prose
from magray_lsp.actions.code_facts import (
    code_tokens,
    enclosing_path,
    in_comment_or_string,
    leaf_end,
    leaf_start,
    named,
    sibling_names,
    where_in,
    where_to,
)
from magray_lsp.context.document import Document
from magray_lsp.context.outline import (
    Definition,
    all_definitions,
    definitions_in,
    path_of,
    same_kind,
)
from magray_lsp.context.positions import LineIndex, decode, encode
from magray_lsp.context.syntax_check import Reparsed, reparse_edit, tree_error_count, tree_issues
from magray_lsp.context.units import body_of
from magray_lsp.privacy.redact import PLACEHOLDER

if TYPE_CHECKING:
    from magray_lsp.context.units import Unit

#: which checks apply: a document or refactor edit of the unit, or code inserted next to it or
#: into another file (new_file, Write tests), which must not touch what is there
EditAction = Literal["document", "refactor", "insert"]


class Refusal(Exception):
    """An answer that cannot become an edit; `str()` is the reason shown to the user."""

    def __init__(self, action: str, check: str, detail: str) -> None:
        super().__init__(f"{action}: {check}: {detail}")
        self.action, self.check, self.detail = action, check, detail


_RENAME = re.compile(r"\brenam|\b(?:call|name) (?:it|this|the \w+)\b", re.IGNORECASE)
_HELPERS = re.compile(
    r"\b(?:extract|split|helpers?|factor(?:ed)? out|pull(?:ed)? out|decompos|separate"
    r"|break (?:it |this |the \w+ )?(?:up|down|apart|into))",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Rules:
    """What the user's instruction allows a refactor to change besides the unit's body."""

    rename: bool = False  # the unit may get another name
    helpers: bool = False  # new definitions may appear next to the unit
    mentioned: frozenset[str] = frozenset()  # identifiers the instruction names (a new name)

    @classmethod
    def from_instruction(cls, instruction: str | None) -> Rules:
        text = instruction or ""
        return cls(
            rename=bool(_RENAME.search(text)),
            helpers=bool(_HELPERS.search(text)),
            mentioned=frozenset(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)),
        )


@dataclass(frozen=True, slots=True)
class Scope:
    """Where an action's edit may go: a snapshot of the document and the bytes it may replace."""

    action: EditAction
    doc: Document
    unit: Unit | None  # None: a window of plain text or of code outside any unit
    span: tuple[int, int]
    rules: Rules = Rules()
    #: the action's name in messages when it is not `action` ("fix", "tests", "simplify")
    name: str = ""

    @property
    def definition(self) -> Unit | None:
        """The target when it is a definition (named or anonymous), not a region or window."""
        unit = self.unit
        return unit if unit is not None and unit.kind != "region" else None

    @property
    def label(self) -> str:
        """How messages name the target: `parse`, the anonymous class, the target."""
        unit = self.definition
        if unit is None:
            return "the target"
        return f"`{unit.name}`" if unit.name else f"the anonymous {unit.kind}"

    def refuse(self, check: str, detail: str) -> Refusal:
        return Refusal(self.name or self.action, check, detail)


@dataclass(frozen=True, slots=True)
class Candidate:
    """Replace `doc.data[start:end]` with `text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Edited:
    """A candidate that passed every check, and the whole document after it."""

    candidate: Candidate
    data: bytes
    text: str


@dataclass(frozen=True, slots=True)
class _Work:
    """What the checks share: the candidate and, for parsed documents, the new tree."""

    scope: Scope
    candidate: Candidate
    reparsed: Reparsed | None
    new_doc: Document | None

    @property
    def new_end(self) -> int:
        if self.reparsed is not None:
            return self.reparsed.new_end
        return self.candidate.start + len(encode(self.candidate.text))

    @property
    def new_data(self) -> bytes:
        if self.reparsed is not None:
            return self.reparsed.data
        doc, c = self.scope.doc, self.candidate
        return doc.data[: c.start] + encode(c.text) + doc.data[c.end :]


def accept_edit(scope: Scope, candidate: Candidate) -> Edited:
    """Run every check on `candidate`; the edited document, or a Refusal naming the check."""
    doc = scope.doc
    reparsed = new_doc = None
    if doc.language is not None and doc.tree is not None:
        lo, hi = scope.span
        newline = doc.data.find(b"\n", max(hi - 1, lo))
        lines = (doc.data.rfind(b"\n", 0, lo) + 1, len(doc.data) if newline == -1 else newline + 1)
        reparsed = reparse_edit(doc, candidate.start, candidate.end, candidate.text, widen=lines)
        new_doc = Document(doc.uri, doc.version, doc.language, reparsed.data, reparsed.tree)
    work = _Work(scope, candidate, reparsed, new_doc)
    for _name, check, actions in CHECKS:
        if scope.action in actions:
            check(work)
    data = work.new_data
    return Edited(candidate, data, decode(data))


# --- the checks ----------------------------------------------------------------------------


def check_inside_span(work: _Work) -> None:
    lo, hi = work.scope.span
    c = work.candidate
    if c.start < lo or c.end > hi:
        line = work.scope.doc.line_index.point_at(c.start if c.start < lo else c.end)[0] + 1
        where = work.scope.label
        raise work.scope.refuse("inside-span", f"the edit reaches line {line}, outside {where}")


def check_parses(work: _Work) -> None:
    tree = work.scope.doc.tree
    if work.reparsed is None or tree is None:
        return
    if tree_error_count(work.reparsed.tree) <= tree_error_count(tree):
        return
    start, end = work.candidate.start, work.new_end
    issues = tree_issues(work.reparsed.tree, limit=50)
    if not issues:  # pragma: no cover - more errors than before means there is one
        raise work.scope.refuse("parses", "the edited code does not parse")
    index = LineIndex(work.reparsed.data)
    first_row, last_row = index.point_at(start)[0], index.point_at(end)[0]
    inside = [i for i in issues if first_row <= i.line <= last_row] or issues
    issue = inside[0]
    what = (
        f"`{issue.text}` is missing" if issue.kind == "missing" else f"cannot parse `{issue.text}`"
    )
    raise work.scope.refuse("parses", f"line {issue.line + 1}: {what}")


def check_no_fence(work: _Work) -> None:
    for line, row in _new_code_lines(work, _FENCE):
        raise work.scope.refuse(
            "no-fence", f"line {row + 1} is a Markdown fence left in the code: `{line.strip()}`"
        )


def check_no_prose(work: _Work) -> None:
    for line, row in _new_code_lines(work, None):
        if looks_like_prose(line):
            raise work.scope.refuse(
                "no-prose", f"line {row + 1} is prose, not code: `{line.strip()[:60]}`"
            )


def check_no_placeholder(work: _Work) -> None:
    old = work.scope.doc.data
    for match in PLACEHOLDER.finditer(work.candidate.text):
        if encode(match.group(0)) not in old:
            raise work.scope.refuse(
                "no-placeholder",
                f"`{match.group(0)}` is a redaction placeholder, not the value it stood for",
            )


def check_comments_only(work: _Work) -> None:
    """The code tokens (leaves that are neither comments nor docstrings) are unchanged.

    Only the region whose syntax changed is compared: outside it the trees and the text are
    the same, so a 2,000-line file costs what the edited unit costs."""
    reparsed, tree, spec = work.reparsed, work.scope.doc.tree, work.scope.doc.language
    if reparsed is None or tree is None or spec is None:
        return
    start, end, new_end = reparsed.start, reparsed.end, reparsed.new_end
    lo, hi_new = start, new_end
    for changed in reparsed.edited.changed_ranges(reparsed.tree):
        lo, hi_new = min(lo, changed.start_byte), max(hi_new, changed.end_byte)
    lo = min(lo, leaf_start(tree, start), leaf_start(reparsed.tree, start))
    hi_old = max(hi_new - (new_end - end), leaf_end(tree, end))
    hi_new = max(hi_new, leaf_end(reparsed.tree, new_end))
    before = code_tokens(spec, tree.root_node, work.scope.doc.data, lo, hi_old)
    after = code_tokens(spec, reparsed.tree.root_node, reparsed.data, lo, hi_new)
    if before == after:
        return
    at = next(
        (i for i, pair in enumerate(zip(before, after, strict=False)) if pair[0] != pair[1]), None
    )
    if at is None:
        at = min(len(before), len(after))
    old = before[at][1].decode("utf-8", "replace") if at < len(before) else "(nothing)"
    new = after[at][1].decode("utf-8", "replace") if at < len(after) else "(nothing)"
    raise work.scope.refuse(
        "comments-only", f"the edit changes code, not only documentation: `{old}` → `{new}`"
    )


def check_keeps_definitions(work: _Work) -> None:
    """A refactor keeps the unit's name and kind, and the definitions around it: none is
    duplicated, lost, or moved to another container (unless `Rules` allow a rename or new
    helper definitions)."""
    new_doc, scope = work.new_doc, work.scope
    if new_doc is None:
        return
    c = work.candidate
    old_defs = definitions_in(scope.doc, c.start, c.end)
    new_defs = definitions_in(new_doc, c.start, work.new_end)
    target = scope.definition
    if target is not None:
        home = path_of(scope.doc, target.node)
    else:
        home = old_defs[0].path if old_defs else enclosing_path(scope.doc, c.start, c.end)
    for found in new_defs:
        if found.path != home:
            raise scope.refuse(
                "keeps-neighbours",
                f"`{found.name}` would move {where_to(found.path)}, out of {named(home)}",
            )
    left = Counter(d.name for d in new_defs)
    kinds = {d.name: d.kind for d in new_defs}
    bodiless = {d.name for d in new_defs if body_of(new_doc, d.node) is None}
    renamed_from: Definition | None = None
    for old in old_defs:
        if left[old.name] > 0:
            left[old.name] -= 1
            if not same_kind(old.kind, kinds[old.name]):
                raise scope.refuse(
                    "keeps-kind", f"`{old.name}` would become a {kinds[old.name]}, not a {old.kind}"
                )
            if old.name in bodiless and body_of(scope.doc, old.node) is not None:
                raise scope.refuse("keeps-kind", f"`{old.name}` would lose its body")
        elif target is not None and old.node.id == target.node.id:
            renamed_from = old
        else:
            raise scope.refuse("keeps-neighbours", f"the edit loses `{old.name}`")
    extra = list(left.elements())
    if renamed_from is not None:
        _account_for_rename(scope, renamed_from, extra, new_defs)
    if extra:
        _judge_extra(scope, extra, c.start, c.end)


def _account_for_rename(
    scope: Scope, old: Definition, extra: list[str], new_defs: list[Definition]
) -> None:
    same = [d for d in new_defs if d.name in extra and same_kind(d.kind, old.kind)]
    if not scope.rules.rename or not same:
        if same:
            detail = f"the answer defines `{same[0].name}` instead of `{old.name}`"
        elif extra:
            detail = f"the answer turns `{old.name}` into `{extra[0]}`"
        else:
            detail = f"the edit removes `{old.name}`"
        raise scope.refuse("keeps-name", detail)
    extra.remove(same[0].name)


def _judge_extra(scope: Scope, extra: list[str], start: int, end: int) -> None:
    """New definitions next to the target: duplicates are always refused, helpers only when
    the instruction asked for them."""
    around = sibling_names(scope.doc, start, end)
    for name in extra:
        if name in around or extra.count(name) > 1:
            raise scope.refuse("keeps-neighbours", f"the edit duplicates `{name}`")
    if not scope.rules.helpers:
        names = ", ".join(f"`{n}`" for n in extra)
        raise scope.refuse(
            "keeps-neighbours",
            f"the edit adds {names}; only an instruction to extract or split adds definitions",
        )


def check_no_duplicates(work: _Work) -> None:
    """Inserted code defines nothing that its container already has: a second `test_parse`
    in Python silently replaces the first, in Go or Rust it does not compile."""
    new_doc, scope = work.new_doc, work.scope
    if new_doc is None:
        return
    before = Counter((d.path, d.name) for d in all_definitions(scope.doc) if d.name)
    after = Counter((d.path, d.name) for d in all_definitions(new_doc) if d.name)
    for key, count in after.items():
        path, name = key
        if before[key] and count > before[key]:  # (an answer's own overloads are its business)
            raise scope.refuse("keeps-neighbours", f"`{name}` is already defined {where_in(path)}")


ALL_EDITS = frozenset({"document", "refactor", "insert"})
CHECKS: tuple[tuple[str, Callable[[_Work], None], frozenset[str]], ...] = (
    ("inside-span", check_inside_span, ALL_EDITS),
    ("no-placeholder", check_no_placeholder, ALL_EDITS),
    ("no-fence", check_no_fence, ALL_EDITS),
    ("no-prose", check_no_prose, ALL_EDITS),
    ("parses", check_parses, ALL_EDITS),
    ("comments-only", check_comments_only, frozenset({"document"})),
    ("keeps-definitions", check_keeps_definitions, frozenset({"refactor"})),
    ("no-duplicates", check_no_duplicates, frozenset({"insert"})),
)


# --- helpers -------------------------------------------------------------------------------

_FENCE = re.compile(r"[ \t]*(?:```|~~~)")


def _new_code_lines(work: _Work, pattern: re.Pattern[str] | None) -> Iterator[tuple[str, int]]:
    """(line, 0-based row) of the replacement's lines that are code (not inside a comment or
    string in the new tree) and not already in the replaced text; only lines matching
    `pattern` (when given) are looked at closely."""
    c = work.candidate
    old_lines = set(decode(work.scope.doc.data[c.start : c.end]).splitlines())
    tree = work.reparsed.tree if work.reparsed is not None else None
    spec = work.scope.doc.language
    first_row = work.scope.doc.line_index.point_at(c.start)[0]
    offset = c.start
    for row, line in enumerate(c.text.splitlines(keepends=True)):
        at, offset = offset, offset + len(encode(line))
        text = line.rstrip("\r\n")
        if not text.strip() or text in old_lines:
            continue
        if pattern is not None and not pattern.match(text):
            continue
        indent = len(encode(text)) - len(encode(text.lstrip()))
        if tree is not None and spec is not None and in_comment_or_string(spec, tree, at + indent):
            continue
        yield text, first_row + row
