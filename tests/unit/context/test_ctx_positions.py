from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from magray_lsp.context.positions import (
    LineIndex,
    Position,
    Range,
    TextIndex,
    code_units,
    encode,
    split_lines,
)

# line 0: "a😀b"  (😀 is 4 UTF-8 bytes, 2 UTF-16 units, 1 code point)
# line 1: "中文x"  (each CJK char 3 bytes, 1 unit)
# line 2: "" then CRLF endings throughout
TEXT = "a😀b\r\n中文x\r\n\r\nend"
DATA = encode(TEXT)


@pytest.mark.parametrize(
    ("encoding", "character", "byte_col"),
    [
        ("utf-16", 0, 0),
        ("utf-16", 1, 1),
        ("utf-16", 3, 5),  # after the emoji
        ("utf-16", 4, 6),  # after "b"
        ("utf-16", 2, 1),  # inside the surrogate pair: rounds down to the emoji's start
        ("utf-8", 5, 5),
        ("utf-8", 3, 1),  # inside the emoji's bytes: rounds down
        ("utf-32", 2, 5),
        ("utf-32", 3, 6),
        ("utf-16", 99, 6),  # past the end of the line: clamps before the CRLF
    ],
)
def test_offset_at_line0(encoding: str, character: int, byte_col: int) -> None:
    index = LineIndex(DATA)
    assert index.offset_at(0, character, encoding) == byte_col  # type: ignore[arg-type]


def test_cjk_line_and_crlf() -> None:
    index = LineIndex(DATA)
    start = DATA.index("中".encode())
    assert index.line_start(1) == start
    assert index.offset_at(1, 2, "utf-16") == start + 6
    assert index.offset_at(1, 2, "utf-8") == start + 0  # mid-character rounds down
    assert index.offset_at(1, 6, "utf-8") == start + 6
    assert index.position_at(start + 7, "utf-16") == Position(1, 3)
    assert index.position_at(start + 7, "utf-8") == Position(1, 7)
    # The empty line between two CRLFs.
    assert index.line_end(2) == index.line_start(2)
    assert index.line_count == 4


def test_position_at_round_trips_every_boundary() -> None:
    index = LineIndex(DATA)
    for encoding in ("utf-8", "utf-16", "utf-32"):
        for line in range(index.line_count):
            text = DATA[index.line_start(line) : index.line_end(line)].decode()
            for k in range(len(text) + 1):
                units = code_units(text[:k], encoding)
                offset = index.offset_at(line, units, encoding)
                assert offset == index.line_start(line) + len(encode(text[:k]))
                assert index.position_at(offset, encoding) == Position(line, units)


def test_offsets_inside_crlf_and_characters_round_down() -> None:
    index = LineIndex(DATA)
    cr = DATA.index(b"\r")
    assert index.position_at(cr + 1) == Position(0, 4)  # between \r and \n: end of line 0
    assert index.position_at(2) == Position(0, 1)  # inside the emoji's bytes


def test_clamping_out_of_range() -> None:
    index = LineIndex(DATA)
    assert index.offset_at(-3, 5) == 0
    assert index.offset_at(100, 0) == len(DATA)
    assert index.offset_at(0, -7) == 0
    assert index.position_at(10_000) == Position(3, 3)
    assert index.position_at(-1) == Position(0, 0)
    assert index.range_to_offsets(Range(Position(1, 0), Position(0, 1))) == (1, index.line_start(1))


def test_lone_cr_is_a_line_break_for_lsp_but_not_for_tree_sitter() -> None:
    data = b"a\rb\nc"
    index = LineIndex(data)
    assert index.line_count == 3
    assert index.position_at(2) == Position(1, 0)
    assert index.point_at(2) == (0, 2)  # tree-sitter only breaks rows at \n
    assert index.point_at(4) == (1, 0)


def test_empty_document() -> None:
    index = LineIndex(b"")
    assert index.line_count == 1
    assert index.offset_at(0, 10) == 0
    assert index.position_at(0) == Position(0, 0)


def test_split_lines_only_breaks_where_lsp_does() -> None:
    text = "a\x0cb\u2028c\r\nd\re\n"
    assert split_lines(text) == ["a\x0cb\u2028c\r\n", "d\r", "e\n"]


def test_text_index_matches_line_index() -> None:
    text_index = TextIndex(TEXT)
    for offset in range(len(TEXT) + 1):
        position = text_index.position_at(offset, "utf-16")
        back = text_index.offset_at(position.line, position.character, "utf-16")
        assert back <= offset
        assert LineIndex(DATA).position_at(len(encode(TEXT[:offset])), "utf-16") == position


_ALPHABET = st.sampled_from(["a", "b", "\n", "\r\n", " ", "😀", "中"])


@settings(max_examples=60, deadline=None)
@given(
    initial=st.lists(_ALPHABET, max_size=30),
    edits=st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 200), st.lists(_ALPHABET, max_size=6)),
        max_size=40,
    ),
)
def test_edited_index_equals_a_fresh_one(
    initial: list[str], edits: list[tuple[int, int, list[str]]]
) -> None:
    data = encode("".join(initial))
    index = LineIndex(data)
    for a, b, inserted in edits:
        start, end = sorted((min(a, len(data)), min(b, len(data))))
        piece = encode("".join(inserted))
        new_data = data[:start] + piece + data[end:]
        index = index.edited(start, end, piece, new_data)
        data = new_data
    fresh = LineIndex(data)
    assert index.line_count == fresh.line_count
    for line in range(fresh.line_count):
        assert index.line_start(line) == fresh.line_start(line)
    for offset in range(len(data) + 1):
        assert index.point_at(offset) == fresh.point_at(offset)
        assert index.position_at(offset) == fresh.position_at(offset)
