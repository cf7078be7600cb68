"""Minimal text edits between two versions of a document, with LSP-correct ranges."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

from .positions import DEFAULT_ENCODING, PositionEncoding, TextIndex, split_lines


@dataclass(frozen=True, slots=True)
class TextEditSpec:
    """An LSP TextEdit without the lsprotocol dependency; characters are in the position
    encoding the edits were made for (UTF-16 code units unless negotiated otherwise)."""

    start_line: int
    start_char: int
    end_line: int
    end_char: int
    new_text: str


def diff_edits(
    old: str, new: str, encoding: PositionEncoding = DEFAULT_ENCODING
) -> list[TextEditSpec]:
    """Edits that turn `old` into `new`, in document order and non-overlapping.

    Lines are matched first (difflib), then each changed block is narrowed to the characters
    that differ, so an edit never rewrites an unchanged line or splits a CRLF."""
    if old == new:
        return []
    index = TextIndex(old)
    out: list[TextEditSpec] = []
    for start, end, text in _changed_spans(old, new):
        a = index.position_at(start, encoding)
        b = index.position_at(end, encoding)
        out.append(TextEditSpec(a.line, a.character, b.line, b.character, text))
    return out


def _changed_spans(old: str, new: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, replacement) in `old`'s str offsets."""
    old_lines, new_lines = split_lines(old), split_lines(new)
    old_starts = [0]
    for line in old_lines:
        old_starts.append(old_starts[-1] + len(line))
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            # Line-for-line replacement: one narrow edit per changed line.
            for k in range(i2 - i1):
                yield from _narrow(old, old_starts[i1 + k], old_lines[i1 + k], new_lines[j1 + k])
        else:
            chunk_old = "".join(old_lines[i1:i2])
            chunk_new = "".join(new_lines[j1:j2])
            yield from _narrow(old, old_starts[i1], chunk_old, chunk_new)


def _narrow(document: str, base: int, old: str, new: str) -> Iterator[tuple[int, int, str]]:
    """Trim the common prefix and suffix of a changed chunk, never inside a CRLF."""
    if old == new:
        return
    limit = min(len(old), len(new))
    prefix = 0
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    start, end = base + prefix, base + len(old) - suffix
    # A position between `\r` and `\n` does not exist in LSP: widen over the pair.
    if 0 < start < len(document) and document[start - 1] == "\r" and document[start] == "\n":
        start -= 1
        prefix -= 1
    if 0 < end < len(document) and document[end - 1] == "\r" and document[end] == "\n":
        end += 1
        suffix -= 1
    yield start, end, new[prefix : len(new) - suffix]


def apply_edits(
    text: str, edits: Sequence[TextEditSpec], encoding: PositionEncoding = DEFAULT_ENCODING
) -> str:
    """Apply LSP edits (all relative to `text`) the way a client does. Overlapping edits are
    rejected with ValueError, as the LSP spec forbids them."""
    index = TextIndex(text)
    spans = []
    for order, edit in enumerate(edits):
        start = index.offset_at(edit.start_line, edit.start_char, encoding)
        end = index.offset_at(edit.end_line, edit.end_char, encoding)
        if end < start:
            start, end = end, start
        spans.append((start, end, order, edit.new_text))
    spans.sort()
    for (_s1, e1, _o1, _t1), (s2, _e2, _o2, _t2) in pairwise(spans):
        if s2 < e1:
            raise ValueError("overlapping text edits")
    for start, end, _order, new_text in reversed(spans):
        text = text[:start] + new_text + text[end:]
    return text
