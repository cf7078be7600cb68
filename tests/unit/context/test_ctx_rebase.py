"""Rebasing an edit over the user's typing: context/rebase.py on its own and through the
ParseCache change log (the same changes the server sees from didChange)."""

from __future__ import annotations

import pytest

from magray_lsp.context import ParseCache, Position, Range
from magray_lsp.context.parse_cache import MAX_LOGGED_CHANGES
from magray_lsp.context.rebase import (
    ByteEdit,
    Change,
    StaleEdit,
    line_end,
    line_start,
    map_span,
    rebase,
)

URI = "file:///work/sample.py"
SOURCE = "import os\n\ndef f(x):\n    return x\n\ndef g():\n    pass\n"
DOC = '    """Return x."""\n'
DOCUMENTED = SOURCE.replace("def f(x):\n", "def f(x):\n" + DOC)


def span_of(text: str, part: str) -> tuple[int, int]:
    data = text.encode()
    start = data.index(part.encode())
    return start, start + len(part.encode())


def change(text: str, start: int, end: int, new: str) -> tuple[str, Change]:
    """`text` with str range [start, end) replaced, and that change in bytes."""
    b0, b1 = len(text[:start].encode()), len(text[:end].encode())
    return text[:start] + new + text[end:], Change(b0, b1, len(new.encode()))


def apply(text: str, edits: list[ByteEdit]) -> str:
    data = text.encode()
    for e in sorted(edits, key=lambda e: e.start, reverse=True):
        data = data[: e.start] + e.new_text.encode() + data[e.end :]
    return data.decode()


def docstring_edit(text: str = SOURCE) -> tuple[tuple[int, int], ByteEdit]:
    """The unit `f` (whole lines) and the edit that documents it, as the action computes them."""
    guard = span_of(text, "def f(x):\n    return x\n")
    at = guard[0] + len(b"def f(x):\n")
    return guard, ByteEdit(at, at, DOC)


def rebased(edits_to_type: list[tuple[int, int, str]], text: str = SOURCE) -> str:
    """Type `edits_to_type` (str offsets into the text as it is at each step), rebase the
    docstring edit over them and apply it to the typed text."""
    guard, edit = docstring_edit(text)
    current, changes = text, []
    for start, end, new in edits_to_type:
        current, c = change(current, start, end, new)
        changes.append(c)
    moved = rebase(text.encode(), current.encode(), changes, guard, [edit])
    return apply(current, moved)


def test_without_changes_the_edit_is_unchanged() -> None:
    guard, edit = docstring_edit()
    assert rebase(SOURCE.encode(), SOURCE.encode(), [], guard, [edit]) == [edit]


def test_typing_above_shifts_the_edit() -> None:
    assert rebased([(0, 0, "import sys\nimport re\n")]) == ("import sys\nimport re\n" + DOCUMENTED)


def test_typing_below_leaves_the_edit_alone() -> None:
    end = len(SOURCE)
    assert rebased([(end, end, "\ndef h():\n    pass\n")]) == (
        DOCUMENTED + "\ndef h():\n    pass\n"
    )


def test_typing_inside_the_unit_is_stale() -> None:
    inside = SOURCE.index("return x") + len("return x")
    with pytest.raises(StaleEdit, match="changed while the model was answering"):
        rebased([(inside, inside, " + 1")])


@pytest.mark.parametrize(
    "where",
    ["def f", "(x)", "    return", "x\n\ndef g"],
    ids=["before-def-keyword", "in-signature", "body-indentation", "end-of-last-line"],
)
def test_every_position_on_the_units_lines_is_inside(where: str) -> None:
    at = SOURCE.index(where) + (1 if where != "def f" else 0)
    if where == "x\n\ndef g":
        at = SOURCE.index(where) + 1  # right after `return x`, before its line break
    with pytest.raises(StaleEdit):
        rebased([(at, at, "y")])


def test_whole_lines_inserted_at_the_units_first_line_go_above_it() -> None:
    at = SOURCE.index("def f")
    assert rebased([(at, at, "LIMIT = 3\n")]) == DOCUMENTED.replace("def f", "LIMIT = 3\ndef f")


def test_text_glued_onto_the_units_first_line_is_stale() -> None:
    at = SOURCE.index("def f")
    with pytest.raises(StaleEdit):
        rebased([(at, at, "async ")])


def test_lines_inserted_right_after_the_unit_are_outside() -> None:
    at = SOURCE.index("\ndef g")  # the blank line after f: the first byte past its lines
    assert rebased([(at, at, "f.cache = {}\n")]) == DOCUMENTED.replace(
        "    return x\n", "    return x\nf.cache = {}\n"
    )


def test_deleting_the_line_break_before_the_unit_is_stale() -> None:
    text = SOURCE.replace("import os\n\n", "import os\n")
    at = text.index("\ndef f")
    with pytest.raises(StaleEdit):
        rebased([(at, at + 1, "")], text)


def test_deletion_ending_exactly_at_the_unit_is_outside() -> None:
    at = SOURCE.index("\ndef f")  # the blank line (its `\n`) right above f
    assert rebased([(at, at + 1, "")]) == DOCUMENTED.replace("import os\n\n", "import os\n")


def test_a_deletion_across_the_units_start_or_end_is_stale() -> None:
    start = SOURCE.index("os")
    with pytest.raises(StaleEdit):
        rebased([(start, SOURCE.index("(x)"), "")])
    end = SOURCE.index("return x") + 4
    with pytest.raises(StaleEdit):
        rebased([(end, SOURCE.index("def g"), "")])


def test_several_changes_above_and_below() -> None:
    typed = [
        (0, 0, "# 😀 header\n"),  # above: a UTF-16 surrogate pair, 4 UTF-8 bytes
        (len(SOURCE) + 11, len(SOURCE) + 11, "x = '中文'\n"),  # below (offsets after the first)
        (2, 4, ""),  # above again: a deletion inside the first insertion
        (0, 0, "\n"),
    ]
    expected = "\n# header\n" + DOCUMENTED + "x = '中文'\n"
    assert rebased(typed) == expected


def test_typing_then_undoing_inside_the_unit_is_still_stale() -> None:
    """The log says the unit was touched; even an identical result is refused (conservative:
    the mapping never guesses where text that moved through the unit went)."""
    at = SOURCE.index("return x")
    with pytest.raises(StaleEdit):
        rebased([(at, at, "y"), (at, at + 1, "")])


def test_the_unit_as_the_last_line_without_a_line_break() -> None:
    text = "import os\n\ndef f(x):\n    return x"
    guard = span_of(text, "def f(x):\n    return x")
    at = guard[0] + len(b"def f(x):\n")
    edit = ByteEdit(at, at, DOC)
    current, c = change(text, len(text), len(text), "\n")  # typed at the end of its last line
    with pytest.raises(StaleEdit):
        rebase(text.encode(), current.encode(), [c], guard, [edit])
    current, c = change(text, 0, 0, "import re\n")
    moved = rebase(text.encode(), current.encode(), [c], guard, [edit])
    assert apply(current, moved) == "import re\n" + text.replace("(x):\n", "(x):\n" + DOC)


def test_crlf_document() -> None:
    text = SOURCE.replace("\n", "\r\n")
    guard = span_of(text, "def f(x):\r\n    return x\r\n")
    at = guard[0] + len(b"def f(x):\r\n")
    edit = ByteEdit(at, at, DOC.replace("\n", "\r\n"))
    current, c1 = change(text, 0, 0, "import re\r\n")
    end = len(current)
    current, c2 = change(current, end, end, "\r\nx = 1\r\n")
    moved = rebase(text.encode(), current.encode(), [c1, c2], guard, [edit])
    assert apply(current, moved) == (
        "import re\r\n" + DOCUMENTED.replace("\n", "\r\n") + "\r\nx = 1\r\n"
    )


def test_an_edit_above_the_unit_is_guarded_and_moves_with_it() -> None:
    """A doc comment inserted right above the unit (JSDoc, `///`): typing a line at that very
    place keeps the comment next to the function."""
    text = "const a = 1;\n\nfunction f(x) {\n  return x;\n}\n"
    guard = span_of(text, "function f(x) {\n  return x;\n}\n")
    edit = ByteEdit(guard[0], guard[0], "/** Return x. */\n")
    current, c = change(text, text.index("function"), text.index("function"), "let b;\n")
    moved = rebase(text.encode(), current.encode(), [c], guard, [edit])
    assert apply(current, moved) == (
        "const a = 1;\n\nlet b;\n/** Return x. */\nfunction f(x) {\n  return x;\n}\n"
    )
    # an edit outside the unit widens the guard: typing on the comment's line is stale
    old_doc = "const a = 1;\n/** old */\nfunction f(x) {\n  return x;\n}\n"
    guard = span_of(old_doc, "function f(x) {\n  return x;\n}\n")
    replace = ByteEdit(*span_of(old_doc, "/** old */\n"), "/** Return x. */\n")
    at = old_doc.index("old */")
    current, c = change(old_doc, at, at, "very ")
    with pytest.raises(StaleEdit):
        rebase(old_doc.encode(), current.encode(), [c], guard, [replace])


def test_a_log_that_does_not_match_the_text_is_refused() -> None:
    """The safety net: a mapping the current bytes contradict is never applied."""
    guard, edit = docstring_edit()
    current = "# one line the log does not know about\n" + SOURCE
    with pytest.raises(StaleEdit):
        rebase(SOURCE.encode(), current.encode(), [Change(0, 0, 3)], guard, [edit])


def test_line_bounds_with_lf_crlf_and_lone_cr() -> None:
    data = b"ab\ncd\r\nef\rgh"
    assert [line_start(data, i) for i in (0, 2, 3, 5, 6, 7, 9, 10, 12)] == [
        0,
        0,
        3,
        3,
        3,  # between \r and \n: still the line of cd
        7,
        7,
        10,
        10,
    ]
    assert [line_end(data, i) for i in (0, 3, 4, 5, 6, 7, 8, 10, 12)] == [
        3,
        3,
        7,
        7,
        7,
        7,
        10,
        10,
        12,
    ]


def test_map_span() -> None:
    ins = Change(2, 2, 3)
    assert map_span([ins], (5, 5)) == (8, 8, False)  # before: shifted
    assert map_span([ins], (2, 2)) == (5, 5, False)  # at a cursor: it moves with the text
    assert map_span([ins], (0, 2)) == (0, 2, False)  # at a selection's end: not inside it
    assert map_span([ins], (2, 4)) == (5, 7, False)  # at its start: goes before it
    assert map_span([ins], (0, 4)) == (0, 7, True)  # strictly inside
    assert map_span([Change(3, 8, 1)], (5, 5)) == (3, 4, True)  # replaced around the cursor
    assert map_span([Change(10, 12, 0)], (5, 6)) == (5, 6, False)  # after


# -- the change log kept by ParseCache --------------------------------------------------


def at(line: int, char: int) -> Range:
    return Range(Position(line, char), Position(line, char))


def test_nothing_is_logged_while_nothing_is_held() -> None:
    cache = ParseCache()
    cache.open(URI, SOURCE, language_id="python", version=1)
    cache.apply_change(URI, at(0, 0), "x", 2)
    state = cache._docs[URI]
    assert not state.log
    mark = cache.hold(URI)
    assert mark is not None
    cache.apply_change(URI, at(0, 0), "y", 3)
    assert len(state.log) == 1
    cache.release(URI, mark)
    assert not state.log and not state.holds  # released: forgotten


def test_history_since_a_held_snapshot_with_versions_not_monotonic() -> None:
    cache = ParseCache()
    snapshot = cache.open(URI, SOURCE, language_id="python", version=7)
    mark = cache.hold(URI)
    assert mark is not None
    # clients may reuse or lower versions (a reload, an undo): the log goes by order, not number
    cache.apply_change(URI, at(0, 0), "import sys\n", 3)
    cache.apply_change(URI, at(100, 0), "\nx = 1\n", 3)
    cache.apply_change(URI, at(0, 0), "# 😀\n", 2)
    history = cache.changes_since(URI, mark)
    assert history is not None and history.current.version == 2
    guard, edit = docstring_edit()
    moved = rebase(snapshot.data, history.current.data, history.changes, guard, [edit])
    assert apply(history.current.text, moved) == "# 😀\nimport sys\n" + DOCUMENTED + "\nx = 1\n"
    cache.release(URI, mark)


def test_full_document_sync_is_logged_as_the_changed_middle() -> None:
    cache = ParseCache()
    snapshot = cache.open(URI, SOURCE, language_id="python", version=1)
    mark = cache.hold(URI)
    assert mark is not None
    guard, edit = docstring_edit()
    # a full-sync client sends the whole text on each keystroke: each is one change
    cache.apply_change(URI, None, "import re\n" + SOURCE, 2)
    cache.apply_change(URI, None, "import re\n" + SOURCE + "y = 2\n", 3)
    history = cache.changes_since(URI, mark)
    assert history is not None and len(history.changes) == 2
    moved = rebase(snapshot.data, history.current.data, history.changes, guard, [edit])
    assert apply(history.current.text, moved) == "import re\n" + DOCUMENTED + "y = 2\n"
    # one replacement that changed text on both sides of the unit spans it: refused
    # (conservative; a full sync is not split into several changes)
    cache.apply_change(URI, None, "# top\n" + SOURCE + "# bottom\n", 4)
    history = cache.changes_since(URI, mark)
    assert history is not None
    with pytest.raises(StaleEdit):
        rebase(snapshot.data, history.current.data, history.changes, guard, [edit])
    # and so is one that rewrote the unit
    cache.apply_change(URI, None, SOURCE.replace("return x", "return -x"), 5)
    history = cache.changes_since(URI, mark)
    assert history is not None
    with pytest.raises(StaleEdit):
        rebase(snapshot.data, history.current.data, history.changes, guard, [edit])


def test_close_and_reopen_end_the_history() -> None:
    cache = ParseCache()
    cache.open(URI, SOURCE, language_id="python", version=1)
    mark = cache.hold(URI)
    assert mark is not None
    cache.close(URI)
    assert cache.changes_since(URI, mark) is None
    cache.open(URI, SOURCE, language_id="python", version=1)
    assert cache.changes_since(URI, mark) is None  # same uri and version, another opening
    cache.release(URI, mark)  # harmless


def test_the_log_is_bounded_and_an_old_snapshot_then_refused() -> None:
    cache = ParseCache()
    cache.open(URI, SOURCE, language_id="python", version=1)
    old = cache.hold(URI)
    assert old is not None
    for version in range(2, MAX_LOGGED_CHANGES + 3):
        cache.apply_change(URI, at(0, 0), "x", version)
    state = cache._docs[URI]
    assert len(state.log) == MAX_LOGGED_CHANGES
    assert cache.changes_since(URI, old) is None  # too far back: refused, never guessed
    recent = cache.hold(URI)
    assert recent is not None
    cache.apply_change(URI, at(0, 0), "y", 10_000)
    history = cache.changes_since(URI, recent)
    assert history is not None and history.changes == [Change(0, 0, 1)]
    cache.release(URI, old)
    cache.release(URI, recent)
    assert not state.log


def test_bookmarks_keep_only_the_newest_listings() -> None:
    cache = ParseCache()
    cache.open(URI, SOURCE, language_id="python", version=1)
    first = cache.bookmark(URI)
    assert first is not None and cache.bookmark(URI) == first  # same snapshot: one bookmark
    marks = [first]
    for version in range(2, 7):
        cache.apply_change(URI, at(0, 0), "#\n", version)
        mark = cache.bookmark(URI)
        assert mark is not None
        marks.append(mark)
    assert cache.changes_since(URI, marks[1]) is None  # fell out of the newest four
    history = cache.changes_since(URI, marks[2])
    assert history is not None and len(history.changes) == 3
    state = cache._docs[URI]
    assert len(state.log) == 3  # only what the oldest kept bookmark needs


def test_hold_refuses_a_snapshot_it_cannot_place() -> None:
    cache = ParseCache()
    old = cache.open(URI, SOURCE, language_id="python", version=1)
    cache.apply_change(URI, at(0, 0), "x", 2)
    assert cache.hold(URI, old) is None  # not the newest, and nobody kept its changes
    assert cache.hold("file:///not/open") is None
