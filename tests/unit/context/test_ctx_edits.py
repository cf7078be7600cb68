from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from magray_lsp.context import TextEditSpec, apply_edits, diff_edits


def test_crlf_emoji_and_cjk_ranges_are_utf16() -> None:
    old = "first 😀 line\r\n中文 value = 1\r\nlast\r\n"
    new = "first 😀 LINE\r\n中文 value = 2\r\nlast\r\n"
    edits = diff_edits(old, new)
    assert edits == [
        # "first " is 6 units, 😀 is 2 UTF-16 units, " " 1: "line" starts at 9
        TextEditSpec(0, 9, 0, 13, "LINE"),
        # 中, 文 are one unit each: "1" is at character 11
        TextEditSpec(1, 11, 1, 12, "2"),
    ]
    assert apply_edits(old, edits) == new


def test_other_position_encodings() -> None:
    old = "😀x\n"
    new = "😀y\n"
    assert diff_edits(old, new, "utf-8") == [TextEditSpec(0, 4, 0, 5, "y")]
    assert diff_edits(old, new, "utf-32") == [TextEditSpec(0, 1, 0, 2, "y")]
    assert diff_edits(old, new, "utf-16") == [TextEditSpec(0, 2, 0, 3, "y")]


def test_inserted_and_deleted_lines_leave_the_rest_alone() -> None:
    old = "a\r\nb\r\nc\r\n"
    new = "a\r\nnew\r\nb\r\nc\r\n"
    assert diff_edits(old, new) == [TextEditSpec(1, 0, 1, 0, "new\r\n")]
    assert diff_edits(new, old) == [TextEditSpec(1, 0, 2, 0, "")]


def test_never_splits_a_crlf() -> None:
    old = "a\r\nb"
    new = "a\nb"
    edits = diff_edits(old, new)
    assert edits == [TextEditSpec(0, 1, 1, 0, "\n")]
    assert apply_edits(old, edits) == new


def test_identical_texts_need_no_edit() -> None:
    assert diff_edits("same 😀\n", "same 😀\n") == []


def test_overlapping_edits_are_rejected() -> None:
    edits = [TextEditSpec(0, 0, 0, 3, "x"), TextEditSpec(0, 2, 0, 4, "y")]
    with pytest.raises(ValueError, match="overlapping"):
        apply_edits("abcdef", edits)


def test_apply_edits_clamps_like_a_client() -> None:
    assert apply_edits("ab\n", [TextEditSpec(0, 99, 5, 0, "!")]) == "ab!"


_PIECES = st.sampled_from(["a", "b", " ", "\n", "\r\n", "\r", "😀", "中", "é", "\t"])


@settings(max_examples=300, deadline=None)
@given(
    old=st.lists(_PIECES, max_size=40),
    new=st.lists(_PIECES, max_size=40),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-32"]),
)
def test_diff_then_apply_round_trips(old: list[str], new: list[str], encoding: str) -> None:
    a, b = "".join(old), "".join(new)
    edits = diff_edits(a, b, encoding)  # type: ignore[arg-type]
    assert apply_edits(a, edits, encoding) == b  # type: ignore[arg-type]
    # Document order, no overlap: each edit starts at or after the previous one's end.
    ends = [(e.end_line, e.end_char) for e in edits]
    starts = [(e.start_line, e.start_char) for e in edits]
    assert all(s >= e for s, e in zip(starts[1:], ends, strict=False))
