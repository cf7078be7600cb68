"""Code from an answer moved to the target's place: the target's indentation, in the file's
style (tabs or spaces, its step, CRLF kept), whatever indentation the model used."""

from __future__ import annotations

from collections.abc import Set
from typing import TYPE_CHECKING

from magray_lsp.context.positions import decode

if TYPE_CHECKING:
    from magray_lsp.actions.acceptance import Scope


def reindented(
    scope: Scope, text: str, verbatim: Set[int] = frozenset(), *, from_first: bool = False
) -> str:
    """`text` (code of any indentation) moved to the indentation of `scope.span`'s first line,
    in the file's indent style and line ends. The answer's own base indentation is its first
    line's (`from_first`: a definition) or the smallest of its lines (a region, a block); rows
    in `verbatim` are left exactly as they are."""
    data = scope.doc.data
    lo, hi = scope.span
    original = decode(data[lo:hi])
    indent = leading(original)
    eol = "\r\n" if "\r\n" in original or (not original and b"\r\n" in data) else "\n"
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    rows = [i for i, line in enumerate(lines) if line.strip() and i not in verbatim]
    if not rows:
        return original
    leads = [leading(lines[i]) for i in rows]
    base = leads[0] if from_first else min(leads, key=len)
    step = _file_step(scope, original)
    answer_step = _answer_step([lead[len(base) :] for lead in leads if lead.startswith(base)])
    out = []
    for i, line in enumerate(lines):
        if i in verbatim:
            out.append(line)
        elif not line.strip():
            out.append("")
        else:
            lead = leading(line)
            rest = lead[len(base) :] if lead.startswith(base) else ""
            out.append(indent + _restyled(rest, step, answer_step) + line.lstrip(" \t"))
    tail = eol if original.endswith("\n") else ""
    return eol.join(out) + tail


def leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _file_step(scope: Scope, original: str) -> str:
    """One level of indentation in the file: a tab, or the spaces its lines step by."""
    sample = original if original.strip() else decode(scope.doc.data[:20000])
    lines = [line for line in sample.split("\n") if line.strip()]
    if not lines:
        return "\t" if scope.doc.language_name == "go" else "    "
    first = len(leading(lines[0]))
    widths = []
    for line in lines:
        lead = leading(line)
        if lead.startswith("\t"):
            return "\t"
        if len(lead) > first:
            widths.append(len(lead) - first)
    if not widths:
        return "\t" if scope.doc.language_name == "go" else "    "
    return " " * min(widths)


def _answer_step(leads: list[str]) -> int:
    """Spaces per level in the answer's own indentation (4 when it does not say)."""
    widths = sorted({len(lead) for lead in leads if lead and " " in lead and "\t" not in lead})
    return widths[0] if widths else 4


def _restyled(lead: str, step: str, answer_step: int) -> str:
    """Relative indentation `lead` in the file's style: spaces → tabs or tabs → spaces."""
    if step == "\t" and lead and "\t" not in lead:
        return "\t" * (len(lead) // answer_step) + " " * (len(lead) % answer_step)
    if step != "\t" and "\t" in lead:
        tabs = len(lead) - len(lead.lstrip("\t"))
        return step * tabs + lead[tabs:]
    return lead


def line_start(data: bytes, offset: int) -> int:
    return data.rfind(b"\n", 0, offset) + 1
