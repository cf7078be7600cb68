"""Pulling code out of an answer stays cheap whatever the answer looks like."""

from __future__ import annotations

import random
import re

import pytest

from magray_lsp.actions import answers
from magray_lsp.actions.answers import fenced_block

# The regex the scanner replaces: the definition of which blocks an answer has.
_REFERENCE = re.compile(r"^(`{3,}|~{3,})[^\n`]*\n(.*?)^\1[ \t]*$", re.DOTALL | re.MULTILINE)


def reference(answer: str) -> str | None:
    blocks = [m.group(2) for m in _REFERENCE.finditer(answer)]
    return max(blocks, key=len).rstrip("\n") if blocks else None


PIECES = ["```", "````", "~~~", "~~~~", "```py", "~~~~ x", "``` ", "```\t", "code", "", " ```"]
PIECES += ["```a`b", "x = 1", "~~~ `", "```\r"]


def test_same_blocks_as_the_regex() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        lines = [rng.choice(PIECES) for _ in range(rng.randrange(12))]
        answer = "\n".join(lines) + ("\n" if rng.random() < 0.5 else "")
        assert fenced_block(answer) == reference(answer), repr(answer)


def test_unclosed_fences_cost_one_lookup_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """The regex rescanned the whole rest for every unclosed fence: quadratic (400 KB of
    answer, ~100 s of CPU on the event loop). Each opening is now one bisect."""
    lookups = 0
    real_bisect = answers.bisect.bisect_right

    def counting(*args: object) -> int:
        nonlocal lookups
        lookups += 1
        return real_bisect(*args)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(answers.bisect, "bisect_right", counting)
    small = ("```a\n" + "y\n" * 10) * 200 + "```\nlast\n```\n"
    assert fenced_block(small) == reference(small)
    lookups = 0
    answer = ("```a\n" + "y\n" * 10) * 16_000 + "```\nlast\n```\n"
    assert fenced_block(answer) == answer[5 : answer.rindex("```\nlast")].rstrip("\n")
    assert lookups <= 16_002
