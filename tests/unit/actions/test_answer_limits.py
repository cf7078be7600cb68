"""Finding an answer's blocks is exact and stays cheap whatever the answer looks like."""

from __future__ import annotations

import bisect
import random
import re
from collections.abc import Sequence

import pytest

from magray_lsp.actions.answers import answer_blocks

# The regex the scanner replaces: the definition of which (closed) blocks an answer has. A fence
# may be indented (inside a Markdown list); its body then loses that indentation.
_REFERENCE = re.compile(
    r"^([ \t]*)(`{3,}|~{3,})[^\n`]*\n(.*?)^[ \t]*\2[ \t]*$", re.DOTALL | re.MULTILINE
)


def reference(answer: str) -> list[str]:
    out = []
    for match in _REFERENCE.finditer(answer.replace("\r\n", "\n")):
        indent, body = match.group(1), match.group(3)
        lines = [
            line[len(indent) :] if line.startswith(indent) else line for line in body.split("\n")
        ]
        out.append("\n".join(lines).rstrip("\n"))
    return out


def closed_blocks(answer: str) -> list[str]:
    return [b.text for b in answer_blocks(answer) if b.fenced and b.closed]


PIECES = ["```", "````", "~~~", "~~~~", "```py", "~~~~ x", "``` ", "```\t", "code", "", " ```"]
PIECES += ["```a`b", "x = 1", "~~~ `", "```\r"]


def test_same_blocks_as_the_regex() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        lines = [rng.choice(PIECES) for _ in range(rng.randrange(12))]
        answer = "\n".join(lines) + ("\n" if rng.random() < 0.5 else "")
        assert closed_blocks(answer) == reference(answer), repr(answer)


def test_unclosed_fences_cost_one_lookup_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """The regex rescanned the whole rest for every unclosed fence: quadratic (400 KB of
    answer, ~100 s of CPU on the event loop). Each opening is now one bisect."""
    lookups = 0
    real_bisect = bisect.bisect_right

    def counting(candidates: Sequence[int], index: int) -> int:
        nonlocal lookups
        lookups += 1
        return real_bisect(candidates, index)

    monkeypatch.setattr(bisect, "bisect_right", counting)  # the module answers.py uses
    small = ("```a\n" + "y\n" * 10) * 200 + "```\nlast\n```\n"
    assert closed_blocks(small) == reference(small)
    lookups = 0
    answer = ("```a\n" + "y\n" * 10) * 16_000 + "```\nlast\n```\n"
    assert closed_blocks(answer) == [answer[5 : answer.rindex("```\nlast")].rstrip("\n")]
    assert lookups <= 16_002
    lookups = 0
    unclosed = "```a\n" * 16_000  # every line opens a fence that never closes
    assert [b.closed for b in answer_blocks(unclosed)] == [False]
    assert lookups <= 16_002
