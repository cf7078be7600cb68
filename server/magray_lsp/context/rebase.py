"""Carry an edit computed on an older snapshot of a document onto the current one.

The user keeps typing while a model answers. An edit is computed against the snapshot the
action started from; `ParseCache` logs the content changes made since (`Change`, in bytes).
`rebase` maps the edit through them: a change before the protected span shifts it, a change
after it leaves it alone, and a change that touches it makes the edit stale. The protected span
(`guard`) is the unit acted on together with every edited range, widened to whole lines, so
typing anywhere on the unit's lines — or gluing text onto its first or last line — refuses the
edit instead of merging it with the user's typing.

Pure functions over bytes: the server converts LSP positions in and out (lsp/server.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_EOL = b"\r\n"


@dataclass(frozen=True, slots=True)
class Change:
    """One content change, in bytes of the text it was applied to: `[start, old_end)` was
    replaced by `new_len` bytes (an insertion has start == old_end)."""

    start: int
    old_end: int
    new_len: int

    @property
    def delta(self) -> int:
        return self.new_len - (self.old_end - self.start)


@dataclass(frozen=True, slots=True)
class ByteEdit:
    """Replace `[start, end)` of a document's bytes by `new_text`."""

    start: int
    end: int
    new_text: str


class StaleEdit(Exception):
    """The code an edit was computed for changed (or can no longer be located)."""


STALE_MESSAGE = "the code changed while the model was answering; nothing was applied"


def rebase(
    snapshot: bytes,
    current: bytes,
    changes: Sequence[Change],
    guard: tuple[int, int],
    edits: Sequence[ByteEdit],
) -> list[ByteEdit]:
    """`edits` (against `snapshot`) moved onto `current` = `snapshot` with `changes` applied in
    order. Raises StaleEdit when a change touched the guarded lines (the unit span `guard`
    plus every edit, as whole lines) or when the result cannot be verified."""
    if not changes:
        return list(edits)
    lo = min([guard[0], *(e.start for e in edits)])
    hi = max([guard[1], *(e.end for e in edits)])
    g0, g1 = line_start(snapshot, lo), line_end(snapshot, hi)
    new_g0, new_g1 = g0, g1
    for change in changes:
        if change.old_end <= new_g0:  # wholly before (an insertion at g0 goes before it too)
            new_g0 += change.delta
            new_g1 += change.delta
        elif change.start >= new_g1:  # wholly after (an insertion at g1 lands on the next line)
            continue
        else:
            raise StaleEdit(STALE_MESSAGE)
    _verify(snapshot, current, (g0, g1), (new_g0, new_g1))
    shift = new_g0 - g0
    return [ByteEdit(e.start + shift, e.end + shift, e.new_text) for e in edits]


def _verify(snapshot: bytes, current: bytes, old: tuple[int, int], new: tuple[int, int]) -> None:
    """The guarded lines are where the mapping says, byte for byte, and still whole lines:
    nothing typed in front of the first or behind the last (which a change ending exactly at
    a boundary could do). Also the safety net should the change log ever be wrong."""
    (g0, g1), (n0, n1) = old, new
    if n0 < 0 or n1 > len(current) or current[n0:n1] != snapshot[g0:g1]:
        raise StaleEdit(STALE_MESSAGE)
    if n0 > 0 and not _starts_line(current, n0):
        raise StaleEdit(STALE_MESSAGE)
    if g1 > g0 and snapshot[g1 - 1] not in _EOL and n1 != len(current):
        raise StaleEdit(STALE_MESSAGE)  # the last line had no line break and got a tail
    if g1 > g0 and snapshot[g1 - 1] == 0x0D and current[n1 : n1 + 1] == b"\n":
        raise StaleEdit(STALE_MESSAGE)  # a lone CR became half of a CRLF


def _starts_line(data: bytes, offset: int) -> bool:
    prev = data[offset - 1]
    if prev == 0x0A:
        return True
    return prev == 0x0D and data[offset : offset + 1] != b"\n"


def line_start(data: bytes, offset: int) -> int:
    """Start of the line holding byte `offset` (LSP lines end at `\\n`, `\\r\\n` or a lone
    `\\r`)."""
    offset = min(max(offset, 0), len(data))
    newline = data.rfind(b"\n", 0, offset)
    cr = data.rfind(b"\r", newline + 1, offset)  # after the last LF, a CR is a lone one...
    if cr != -1 and cr == offset - 1 and data[offset : offset + 1] == b"\n":
        cr = data.rfind(b"\r", newline + 1, cr)  # ...unless it pairs with an LF at `offset`
    return max(newline, cr) + 1


def line_end(data: bytes, offset: int) -> int:
    """Just past the line break that ends the line holding `offset` (the end of the data for a
    last line without one). An offset right after a line break is already a line end."""
    offset = min(max(offset, 0), len(data))
    if offset > 0 and (
        data[offset - 1] == 0x0A
        or (data[offset - 1] == 0x0D and data[offset : offset + 1] != b"\n")
    ):
        return offset
    newline = data.find(b"\n", offset)
    cr = data.find(b"\r", offset, len(data) if newline == -1 else newline)
    if cr != -1:
        return cr + 2 if data[cr + 1 : cr + 2] == b"\n" else cr + 1
    return len(data) if newline == -1 else newline + 1


def map_span(changes: Sequence[Change], span: tuple[int, int]) -> tuple[int, int, bool]:
    """`span` (a cursor when empty) carried through `changes`, and whether a change replaced
    text inside or around it (the span then covers that change's new text). An insertion at
    the span's start goes before it, one at its end after it."""
    start, end = span
    touched = False
    for change in changes:
        if (change.start < end and change.old_end > start) or start < change.start < end:
            touched = True
        new_start = start + change.delta if change.old_end <= start else min(start, change.start)
        if change.old_end <= end and not (change.start == change.old_end == end > start):
            end += change.delta
        elif change.start < end:
            end = change.start + change.new_len
        start, end = new_start, max(new_start, end)
    return start, end, touched


__all__ = [
    "STALE_MESSAGE",
    "ByteEdit",
    "Change",
    "StaleEdit",
    "line_end",
    "line_start",
    "map_span",
    "rebase",
]
