"""The one place that converts between LSP positions, byte offsets and tree-sitter points.

LSP counts a line's characters in UTF-16 code units unless the client negotiated `utf-8` or
`utf-32`; tree-sitter counts UTF-8 bytes. LSP ends a line at `\\n`, `\\r\\n` or a lone `\\r`,
tree-sitter only at `\\n`. Every conversion in the package goes through this module.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from typing import Literal, NamedTuple

PositionEncoding = Literal["utf-8", "utf-16", "utf-32"]
DEFAULT_ENCODING: PositionEncoding = "utf-16"

# `surrogatepass` keeps lone surrogates (legal in JSON strings) round-trippable instead of raising.
_ERRORS = "surrogatepass"
_LSP_EOL = re.compile(rb"\r\n|\r|\n")
_LSP_EOL_STR = re.compile(r"\r\n|\r|\n")


class Position(NamedTuple):
    """A zero-based LSP position; `character` is in the document's position encoding."""

    line: int
    character: int


class Range(NamedTuple):
    start: Position
    end: Position


def encode(text: str) -> bytes:
    """UTF-8 bytes of `text`, never raising (lone surrogates pass through)."""
    return text.encode("utf-8", _ERRORS)


def decode(data: bytes) -> str:
    """Inverse of `encode`; invalid bytes become U+FFFD instead of raising."""
    try:
        return data.decode("utf-8", _ERRORS)
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace")


def code_units(text: str, encoding: PositionEncoding = DEFAULT_ENCODING) -> int:
    """Length of `text` in the units an LSP `character` counts."""
    if encoding == "utf-32" or text.isascii():
        return len(text)
    if encoding == "utf-16":
        return len(text.encode("utf-16-le", _ERRORS)) // 2
    return len(encode(text))


def split_lines(text: str) -> list[str]:
    """Lines with their terminators, split the LSP way (unlike `str.splitlines`, which also
    breaks on form feeds, U+2028 and friends that LSP clients treat as ordinary characters)."""
    if not text:
        return []
    lines: list[str] = []
    pos = 0
    for match in _LSP_EOL_STR.finditer(text):
        lines.append(text[pos : match.end()])
        pos = match.end()
    if pos < len(text):
        lines.append(text[pos:])
    return lines


def _line_starts(data: bytes) -> list[int]:
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return [0, *(m.end() for m in _LSP_EOL.finditer(data))]
    # Fast path: only `\n` ends lines. split+accumulate runs in C (about 1 ms for 20k lines).
    return list(accumulate((len(part) + 1 for part in data.split(b"\n")[:-1]), initial=0))


def _floor_char_boundary(data: bytes, offset: int, floor: int) -> int:
    # Step back over UTF-8 continuation bytes so an offset never splits a character.
    while offset > floor and (data[offset] & 0xC0) == 0x80:
        offset -= 1
    return offset


class LineIndex:
    """Line starts of one immutable document version, for O(log n) position conversion.

    An index made by `edited` does not copy its parent's line starts: it records the edit and
    answers through the parent, so a keystroke in a 20k-line file costs microseconds, not a
    rescan. Chains are flattened every `_MAX_CHAIN` edits, which keeps lookups O(log n)."""

    __slots__ = ("_base", "_data", "_depth", "_edit", "_lone_cr", "_starts", "_ts_starts")

    def __init__(
        self, data: bytes, starts: list[int] | None = None, *, lone_cr: bool | None = None
    ) -> None:
        self._data = data
        self._starts: list[int] | None = starts if starts is not None else _line_starts(data)
        # Tree-sitter rows differ from LSP lines only when a lone `\r` ends a line.
        if lone_cr is None:
            lone_cr = b"\r" in data and data.count(b"\r") != data.count(b"\r\n")
        self._lone_cr = lone_cr
        self._ts_starts: list[int] | None = None
        self._base: LineIndex | None = None
        # (first, middle, last, delta, start, inserted length):
        # starts = base[:first] + middle + [s + delta for s in base[last:]]
        self._edit: tuple[int, list[int], int, int, int, int] = (0, [], 0, 0, 0, 0)
        self._depth = 0

    @property
    def data(self) -> bytes:
        return self._data

    @property
    def line_count(self) -> int:
        if self._starts is not None:
            return len(self._starts)
        assert self._base is not None
        first, middle, last = self._edit[:3]
        return first + len(middle) + self._base.line_count - last

    def line_start(self, line: int) -> int:
        """Byte offset where `line` starts (clamped to the document)."""
        if line < 0:
            return 0
        if line >= self.line_count:
            return len(self._data)
        return self._start(line)

    def _start(self, line: int) -> int:
        if self._starts is not None:
            return self._starts[line]
        assert self._base is not None
        first, middle, last, delta = self._edit[:4]
        if line < first:
            return self._base._start(line)
        if line < first + len(middle):
            return middle[line - first]
        return self._base._start(line - first - len(middle) + last) + delta

    def _count_at_or_before(self, offset: int) -> int:
        """How many line starts are <= offset (bisect_right over the starts)."""
        if self._starts is not None:
            return bisect_right(self._starts, offset)
        assert self._base is not None
        first, middle, last, delta, start, inserted = self._edit
        # One recursion per level (never two), so a lookup costs O(depth + log n).
        if offset < start:
            return self._base._count_at_or_before(offset)
        if offset < start + inserted:
            return first + bisect_right(middle, offset)
        return first + len(middle) + self._base._count_at_or_before(offset - delta) - last

    def line_end(self, line: int, *, with_eol: bool = False) -> int:
        """Byte offset just past the line's content (or past its terminator)."""
        count = self.line_count
        if line < 0:
            return 0
        if line >= count:
            return len(self._data)
        start = self._start(line)
        end = self._start(line + 1) if line + 1 < count else len(self._data)
        if with_eol:
            return end
        if end > start and self._data[end - 1] == 0x0A:
            end -= 1
        if end > start and self._data[end - 1] == 0x0D:
            end -= 1
        return end

    def line_of(self, offset: int) -> int:
        """Line containing byte `offset` (clamped)."""
        offset = min(max(offset, 0), len(self._data))
        return self._count_at_or_before(offset) - 1

    def offset_at(
        self, line: int, character: int, encoding: PositionEncoding = DEFAULT_ENCODING
    ) -> int:
        """Byte offset of an LSP position. Out-of-range values clamp as LSP asks: a line past the
        end means the end of the document, a character past the end means the end of the line."""
        if line < 0:
            return 0
        if line >= self.line_count:
            return len(self._data)
        start = self._start(line)
        end = self.line_end(line)
        if character <= 0:
            return start
        raw = self._data[start:end]
        if raw.isascii():
            return start + min(character, len(raw))
        if encoding == "utf-8":
            col = min(character, len(raw))
            return _floor_char_boundary(self._data, start + col, start)
        text = decode(raw)
        if encoding == "utf-32":
            return start + len(encode(text[:character]))
        units = text.encode("utf-16-le", _ERRORS)
        cut = min(character, len(units) // 2)
        # A position inside a surrogate pair rounds down to the start of the character.
        if cut > 0 and 0xD800 <= int.from_bytes(units[2 * cut - 2 : 2 * cut], "little") <= 0xDBFF:
            cut -= 1
        return start + len(encode(units[: 2 * cut].decode("utf-16-le", _ERRORS)))

    def position_at(self, offset: int, encoding: PositionEncoding = DEFAULT_ENCODING) -> Position:
        """LSP position of byte `offset`; offsets inside a character or a CRLF round down."""
        offset = min(max(offset, 0), len(self._data))
        line = self.line_of(offset)
        start = self._start(line)
        offset = min(offset, self.line_end(line))
        if offset < len(self._data):
            offset = _floor_char_boundary(self._data, offset, start)
        raw = self._data[start:offset]
        if encoding == "utf-8" or raw.isascii():
            return Position(line, len(raw))
        return Position(line, code_units(decode(raw), encoding))

    def offset_of(self, position: Position, encoding: PositionEncoding = DEFAULT_ENCODING) -> int:
        return self.offset_at(position.line, position.character, encoding)

    def range_to_offsets(
        self, rng: Range, encoding: PositionEncoding = DEFAULT_ENCODING
    ) -> tuple[int, int]:
        """Byte span of an LSP range, ordered even if the client sent it reversed."""
        a = self.offset_of(rng.start, encoding)
        b = self.offset_of(rng.end, encoding)
        return (a, b) if a <= b else (b, a)

    def offsets_to_range(
        self, start: int, end: int, encoding: PositionEncoding = DEFAULT_ENCODING
    ) -> Range:
        return Range(self.position_at(start, encoding), self.position_at(end, encoding))

    def point_at(self, offset: int) -> tuple[int, int]:
        """Tree-sitter point (row, byte column) of byte `offset`."""
        offset = min(max(offset, 0), len(self._data))
        if self._lone_cr:
            starts = self._tree_sitter_starts()
            row = bisect_right(starts, offset) - 1
            return (row, offset - starts[row])
        row = self.line_of(offset)
        return (row, offset - self._start(row))

    def _tree_sitter_starts(self) -> list[int]:
        if self._ts_starts is None:
            self._ts_starts = list(
                accumulate((len(p) + 1 for p in self._data.split(b"\n")[:-1]), initial=0)
            )
        return self._ts_starts

    def edited(self, start: int, old_end: int, inserted: bytes, new_data: bytes) -> LineIndex:
        """Index of `new_data` = data[:start] + inserted + data[old_end:]."""
        seam = self._data[max(start - 1, 0) : old_end + 1]
        if self._lone_cr or b"\r" in inserted or b"\r" in seam:
            return LineIndex(new_data)  # CR pairing may change at the seams: rescan
        first = self._count_at_or_before(start)  # starts[:first] are at or before the edit
        last = self._count_at_or_before(old_end)  # starts[last:] come after it
        middle = [start + m.end() for m in re.finditer(b"\n", inserted)]
        index = LineIndex.__new__(LineIndex)
        index._data = new_data
        index._starts = None
        index._lone_cr = False
        index._ts_starts = None
        index._base = self
        delta = len(inserted) - (old_end - start)
        index._edit = (first, middle, last, delta, start, len(inserted))
        index._depth = self._depth + 1
        if index._depth >= _MAX_CHAIN:
            index._flatten()
        return index

    def _flatten(self) -> None:
        # Rescanning the bytes runs in C (~1 ms for 20k lines); resolving every line through
        # the chain of edits was 100× slower and stalled listing once every _MAX_CHAIN edits.
        self._starts = _line_starts(self._data)
        self._base = None
        self._edit = (0, [], 0, 0, 0, 0)
        self._depth = 0


#: Edits an index may sit on before it copies its line starts (amortized O(n / _MAX_CHAIN)).
_MAX_CHAIN = 32


def _units_to_index(line: str, character: int, encoding: PositionEncoding) -> int:
    """Index into `line` (a str, without its terminator) of an LSP character offset."""
    if character <= 0:
        return 0
    if encoding == "utf-32" or line.isascii():
        return min(character, len(line))
    units = 0
    for index, char in enumerate(line):
        width = (2 if ord(char) > 0xFFFF else 1) if encoding == "utf-16" else len(encode(char))
        if units + width > character:
            return index  # inside a character: round down to its start
        units += width
    return len(line)


class TextIndex:
    """LSP position conversion for a `str` (the diff and the edits work on text, not bytes)."""

    __slots__ = ("_lines", "_starts", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines = split_lines(text) or [""]
        if self._lines[-1].endswith(("\n", "\r")):
            self._lines.append("")  # the empty line after a final newline is addressable
        self._starts = list(accumulate((len(line) for line in self._lines[:-1]), initial=0))

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def position_at(self, offset: int, encoding: PositionEncoding = DEFAULT_ENCODING) -> Position:
        offset = min(max(offset, 0), len(self._text))
        line = bisect_right(self._starts, offset) - 1
        content = self._lines[line].rstrip("\r\n")
        column = min(offset - self._starts[line], len(content))
        return Position(line, code_units(content[:column], encoding))

    def offset_at(
        self, line: int, character: int, encoding: PositionEncoding = DEFAULT_ENCODING
    ) -> int:
        if line < 0:
            return 0
        if line >= len(self._lines):
            return len(self._text)
        content = self._lines[line].rstrip("\r\n")
        return self._starts[line] + _units_to_index(content, character, encoding)
