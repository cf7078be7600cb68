"""A model's answer as text: its fenced blocks (or the whole answer), prose, bare doc text.

Nothing here knows the target's language; `actions/reading.py` parses what this finds with
tree-sitter and decides which part is the edit.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from magray_lsp.context.doc_comments import clean_comment, cleandoc
from magray_lsp.context.languages import DocStyle

#: fence tags (the info string's first word) that say "prose, not code"
TEXT_TAGS = frozenset(
    {"text", "txt", "plaintext", "plain", "markdown", "md", "rst", "doc", "docstring", "comment"}
)


@dataclass(frozen=True, slots=True)
class Block:
    """One candidate piece of an answer: a fenced block's body, or the whole unfenced answer.

    `text` has `\\n` line ends and no fence lines; an indented fence (inside a Markdown list)
    has its indentation removed from the body."""

    text: str
    tag: str  # the info string's first word, lowercased; "" when there is none
    fenced: bool  # False: the answer had no fence and this is all of it
    closed: bool  # False: the answer broke off inside this block (no closing fence)

    @property
    def is_text(self) -> bool:
        return self.tag in TEXT_TAGS


def answer_blocks(answer: str) -> list[Block]:
    """Every fenced block of `answer` in order (```, ~~~, any tag or none; a last block whose
    closing fence never came, when the answer broke off), or the whole answer as one unfenced
    block when it has no fence.

    Linear-ish in the answer's size (one bisect per opening fence): a regex that rescans the
    rest of the answer for every unclosed fence took minutes on a hostile 400 KB answer."""
    lines = answer.replace("\r\n", "\n").split("\n")
    closes: dict[str, list[int]] = {}  # exact fence → indexes of the lines that can close it
    for index, line in enumerate(lines):
        if match := _CLOSE.match(line):
            closes.setdefault(match.group(1), []).append(index)
    blocks: list[Block] = []
    unclosed: int | None = None  # the first opening fence after the last block that never closes
    index, last = 0, len(lines) - 1  # an opening fence needs a line after it
    while index < last:
        opening = _OPEN.match(lines[index])
        close = _closing_line(opening, index, closes) if opening else None
        if opening is None or close is None:
            if opening is not None and unclosed is None:
                unclosed = index
            index += 1
            continue
        blocks.append(_block(opening, lines[index + 1 : close], closed=True))
        unclosed = None
        index = close + 1
    if unclosed is not None and (opening := _OPEN.match(lines[unclosed])):
        blocks.append(_block(opening, lines[unclosed + 1 :], closed=False))
    if not blocks and "```" not in answer and "~~~" not in answer:
        # "Here is the refactored method:" would parse as Ruby calls swallowing the `def`
        text = without_lead_in(answer.replace("\r\n", "\n").strip("\n"))
        blocks.append(Block(text, "", False, True))
    return blocks


def whole_answer(answer: str) -> Block:
    """The whole answer as one unfenced block, its fence lines blanked: the last resort when no
    block holds the code (a model that left out the opening fence but not the closing one)."""
    lines = answer.replace("\r\n", "\n").split("\n")
    kept = ["" if _OPEN.match(line) or _CLOSE.match(line) else line for line in lines]
    return Block(without_lead_in("\n".join(kept).strip("\n")), "", False, True)


_OPEN = re.compile(r"([ \t]*)(`{3,}|~{3,})([^`]*)\Z")
_CLOSE = re.compile(r"[ \t]*(`{3,}|~{3,})[ \t]*\Z")


def _closing_line(opening: re.Match[str], index: int, closes: dict[str, list[int]]) -> int | None:
    """The first line after `index` that closes the fence `opening` opened, or None."""
    fence = opening.group(2)
    # like the classic regex: the longest fence first; a shorter tilde prefix if that never closes
    for size in range(len(fence), 2 if fence[0] == "~" else len(fence) - 1, -1):
        candidates = closes.get(fence[:size], [])
        at = bisect.bisect_right(candidates, index)
        if at < len(candidates):
            return candidates[at]
    return None


def _block(opening: re.Match[str], body: list[str], *, closed: bool) -> Block:
    indent = opening.group(1)
    if indent:  # a fence inside a list item: its body is indented as much as the fence
        body = [line[len(indent) :] if line.startswith(indent) else line for line in body]
    info = opening.group(3).strip().split()
    tag = info[0].lower().strip("{.}") if info else ""  # `{.py}`: pandoc attributes
    text = "".join(line + "\n" for line in body)
    return Block(text.rstrip("\n") if closed else text.rstrip(), tag, True, closed)


# --- prose ---------------------------------------------------------------------------------

# A sentence: a capitalised word and at least three more (words, or `code` in backticks),
# with no operator or bracket that code would have.
_WORD = r"(?:`[^`\n]+`|[A-Za-z0-9'’,()-]+)"
_SENTENCE = re.compile(rf"[A-Z][A-Za-z'’]*(?:[ \t]+{_WORD}){{3,}}[ \t]*[.:!?]?")
_LEAD_IN = re.compile(r"[^\n]*:\Z")


def looks_like_prose(line: str) -> bool:
    """True for a line that reads as an English sentence ("Here is the refactored code:")."""
    return _SENTENCE.fullmatch(line.strip()) is not None


def without_lead_in(text: str) -> str:
    """`text` without a first paragraph that only introduces what follows ("Here it is:")."""
    head, sep, rest = text.strip("\n").partition("\n\n")
    if sep and "\n" not in head and _LEAD_IN.match(head) and looks_like_prose(head):
        return rest.strip("\n")
    return text


# --- documentation as plain text -----------------------------------------------------------

_LINE_MARKERS = ("///", "//!", "//", "---", "--", "#")


def doc_text(text: str) -> str:
    """Documentation text without the comment syntax a model wrapped it in: a `/** ... */`
    block, a `\"\"\"` string, or lines that all start with the same line-comment marker.
    Markers are only removed when every line carries them, so a bullet list (`* item`) or a
    Markdown heading inside plain text survives."""
    text = text.replace("\r\n", "\n").strip()
    for quote in ('"""', "'''"):
        for prefix in ("r", "R", ""):
            opener = prefix + quote
            if text.startswith(opener) and text.endswith(quote) and len(text) >= len(opener) + 3:
                return cleandoc(text[len(opener) : -len(quote)])
    if text.startswith("/*") and text.endswith("*/"):
        return clean_comment(text, DocStyle.JSDOC)
    lines = text.split("\n")
    filled = [line.strip() for line in lines if line.strip()]
    for marker in _LINE_MARKERS:
        if filled and all(line.startswith(marker) for line in filled):
            out = []
            for line in lines:
                rest = line.strip()[len(marker) :]
                out.append(rest[1:] if rest.startswith(" ") else rest)
            return cleandoc("\n".join(out))
    return cleandoc(text)
