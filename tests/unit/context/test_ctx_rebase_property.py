"""Property: whatever the user types while a model answers, a rebased edit lands exactly where
it would have on the typed text, or is refused — checked against an oracle that never maps
offsets: it keeps the text above the unit, the unit and the text below as separate strings,
types into them, and knows the answer by construction."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import event, given, settings
from hypothesis import strategies as st

from magray_lsp.context import ParseCache, Position, Range
from magray_lsp.context.positions import TextIndex
from magray_lsp.context.rebase import ByteEdit, StaleEdit, rebase

URI = "file:///work/prop.py"
CHARS = ["a", "b", " ", "=", "é", "中", "😀", "\t"]
ALPHABET = st.sampled_from([*CHARS, "\n"])


@dataclass
class Parts:
    above: str
    unit: str
    below: str

    @property
    def text(self) -> str:
        return self.above + self.unit + self.below


def lines(eol: str, draw: st.DrawFn, *, min_size: int) -> str:
    words = draw(
        st.lists(st.text(st.sampled_from(CHARS), max_size=6), min_size=min_size, max_size=4)
    )
    return "".join(w + eol for w in words)


def safe(text: str, offset: int) -> int:
    """Never between the two halves of a CRLF (LSP has no such position)."""
    if 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n":
        return offset - 1
    return offset


@st.composite
def scenario(draw: st.DrawFn) -> tuple[Parts, list[tuple[str, float, int, str]], str, bool]:
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    above = lines(eol, draw, min_size=0)
    body = lines(eol, draw, min_size=1)
    unit = f"def unit(x):{eol}    y = x{eol}{body.replace(eol, '|' + eol)}    return y{eol}"
    below = lines(eol, draw, min_size=0)
    if draw(st.booleans()) and not below:
        unit = unit[: -len(eol)]  # the unit is the last thing, without a final line break
    typing = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["above", "above", "below", "below", "unit"]),
                st.floats(0, 1),
                st.integers(0, 4),
                st.text(ALPHABET, max_size=5).map(lambda t: t.replace("\n", eol)),
            ),
            min_size=1,
            max_size=6,
        )
    )
    replace = draw(st.booleans())  # the model's edit: insert a docstring or rewrite a line
    return Parts(above, unit, below), typing, eol, replace


def model_edit(parts: Parts, eol: str, replace: bool) -> tuple[ByteEdit, str]:
    """The edit an action computed on the snapshot, and the unit after it."""
    base = len(parts.above.encode())
    if replace:
        old = "    y = x"
        start = base + len(parts.unit[: parts.unit.index(old)].encode())
        new = "    y = x * 2  # 😀"
        return ByteEdit(start, start + len(old), new), parts.unit.replace(old, new, 1)
    first = parts.unit.index(eol) + len(eol)
    at = base + len(parts.unit[:first].encode())
    doc = f'    """Doc 中文."""{eol}'
    return ByteEdit(at, at, doc), parts.unit[:first] + doc + parts.unit[first:]


@settings(max_examples=400, deadline=None)
@given(scenario())
def test_rebased_edit_matches_the_oracle_or_is_refused(
    case: tuple[Parts, list[tuple[str, float, int, str]], str, bool],
) -> None:
    parts, typing, eol, replace = case
    snapshot = parts.text
    edit, edited_unit = model_edit(parts, eol, replace)
    guard_start = len(parts.above.encode())
    guard = (guard_start, guard_start + len(parts.unit.encode()))

    cache = ParseCache()
    cache.open(URI, snapshot, language_id="python", version=1)
    mark = cache.hold(URI)
    assert mark is not None
    touched_unit = False
    for version, (region, where, length, new) in enumerate(typing, start=2):
        text = getattr(parts, region)
        if region == "unit":  # strictly inside it: the boundaries belong to above/below
            if len(text) < 3:
                continue
            start = 1 + int(where * (len(text) - 2))
            end = min(start + max(length, 0 if new else 1), len(text) - 1)
        else:
            start = int(where * len(text))
            end = min(start + length, len(text))
        start, end = safe(text, start), safe(text, end)
        if start == end and not new:
            continue
        touched_unit |= region == "unit"
        offset = {"above": 0, "unit": len(parts.above), "below": len(parts.above + parts.unit)}
        index = TextIndex(parts.text)
        a = index.position_at(offset[region] + start)
        b = index.position_at(offset[region] + end)
        setattr(parts, region, text[:start] + new + text[end:])
        cache.apply_change(URI, Range(Position(*a), Position(*b)), new, version)
    history = cache.changes_since(URI, mark)
    assert history is not None and history.current.text == parts.text  # the log kept up

    glued_above = parts.above != "" and not parts.above.endswith(("\n", "\r"))
    glued_below = parts.below != "" and not parts.unit.endswith(("\n", "\r"))
    glued_crlf = parts.unit.endswith("\r") and parts.below.startswith("\n")
    try:
        moved = rebase(snapshot.encode(), parts.text.encode(), history.changes, guard, [edit])
    except StaleEdit:
        event("refused")
        assert touched_unit or glued_above or glued_below or glued_crlf
        return
    assert not (touched_unit or glued_above or glued_below or glued_crlf)
    event("rebased" if history.changes else "nothing typed")
    [e] = moved
    data = parts.text.encode()
    result = (data[: e.start] + e.new_text.encode() + data[e.end :]).decode()
    assert result == parts.above + edited_unit + parts.below
