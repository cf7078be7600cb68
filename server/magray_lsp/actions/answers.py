"""Pull the usable part out of a model's answer: the fenced block, the bare doc text."""

from __future__ import annotations

import re

_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n`]*\n(.*?)^\1[ \t]*$", re.DOTALL | re.MULTILINE)
_TRAILING_MARKERS = re.compile(r'\s*(?:"""|\'\'\'|\*/)\s*$')
_DOC_MARKERS = re.compile(r'^\s*(?:"""|\'\'\'|/\*\*|/\*|\*/|\*(?!\*)|///|//!|//|#|---|--)\s?')


def fenced_block(answer: str) -> str | None:
    """The body of the first fenced code block (the longest if several), or None."""
    blocks = [m.group(2) for m in _FENCE.finditer(answer)]
    if not blocks:
        return None
    return max(blocks, key=len).rstrip("\n")


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
