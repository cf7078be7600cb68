"""Pull the usable part out of a model's answer: the fenced block, the bare doc text."""

from __future__ import annotations

import bisect
import re

_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n`]*\n(.*?)^\1[ \t]*$", re.DOTALL | re.MULTILINE)
_TRAILING_MARKERS = re.compile(r'\s*(?:"""|\'\'\'|\*/)\s*$')
_DOC_MARKERS = re.compile(r'^\s*(?:"""|\'\'\'|/\*\*|/\*|\*/|\*(?!\*)|///|//!|//|#|---|--)\s?')


def fenced_block(answer: str) -> str | None:
    """The body of the first fenced code block (the longest if several), or None.

    The same blocks `_FENCE.finditer` finds, in O(n log n): the regex rescans the rest of the
    answer for every unclosed opening fence, and a model's answer full of them (or a hostile
    provider's) took minutes of CPU (100 KB: 6 s; 400 KB: ~100 s).
    """
    lines = answer.split("\n")
    closes: dict[str, list[int]] = {}  # exact fence → indexes of the lines that close it
    for index, line in enumerate(lines):
        if match := _CLOSE.match(line):
            closes.setdefault(match.group(1), []).append(index)
    blocks: list[str] = []
    index, last = 0, len(lines) - 1  # an opening fence needs a newline after it
    while index < last:
        close = _closing_line(lines[index], index, closes)
        if close is None:
            index += 1
            continue
        blocks.append("".join(line + "\n" for line in lines[index + 1 : close]))
        index = close + 1
    if not blocks:
        return None
    return max(blocks, key=len).rstrip("\n")


_OPEN = re.compile(r"(`{3,}|~{3,})[^`]*\Z")
_CLOSE = re.compile(r"(`{3,}|~{3,})[ \t]*\Z")


def _closing_line(line: str, index: int, closes: dict[str, list[int]]) -> int | None:
    """The first line after `index` that closes a fence opened by `line`, or None."""
    match = _OPEN.match(line)
    if match is None:
        return None
    fence = match.group(1)
    # like the regex: the longest fence first; a shorter tilde prefix if that never closes
    for size in range(len(fence), 2 if fence[0] == "~" else len(fence) - 1, -1):
        candidates = closes.get(fence[:size], [])
        at = bisect.bisect_right(candidates, index)
        if at < len(candidates):
            return candidates[at]
    return None


def code_from_answer(answer: str) -> str:
    """A refactor answer: the fenced block, else the whole answer when it has no prose."""
    block = fenced_block(answer)
    return block if block is not None else answer.strip("\n")


def doc_text_from_answer(answer: str) -> str:
    """A document answer: plain documentation text, comment markers and quotes removed."""
    text = fenced_block(answer)
    if text is None:
        text = answer.strip()
    lines = [
        _TRAILING_MARKERS.sub("", _DOC_MARKERS.sub("", line, count=1)).rstrip()
        for line in text.splitlines()
    ]
    lines = [line for line in lines if line not in ('"""', "'''", "*/")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    body = "\n".join(lines)
    return body.strip()
