"""Assemble the code context sent with a request: the target in full, then what helps read it
(`surroundings.py`), by priority, trimmed to a token budget by whole syntax units; a window of
lines for plain text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .document import looks_binary
from .languages import LanguageSpec
from .positions import DEFAULT_ENCODING, PositionEncoding, Range, decode
from .surroundings import Section, Seen, imports, outline, references, siblings
from .tokens import estimate_tokens, token_weight
from .units import Unit, find_unit

if TYPE_CHECKING:
    from .document import Document

#: Nearest sibling definitions listed (a 2,000-function module must not crowd out the rest).
MAX_SIBLINGS = 12
#: Plain-text fallback: at most this many lines on each side of the target.
MAX_WINDOW_LINES = 400


@dataclass(frozen=True, slots=True)
class CodeContext:
    """What a prompt gets: `target` is the code acted on, `text` the full context."""

    target: str
    text: str
    context_tokens: int
    file_tokens: int
    language: str
    #: the unit's name ("" for a region, a plain-text window or binary content)
    unit: str
    #: unit kind, or "region", "window" (plain text / no unit), "binary"
    kind: str
    #: bytes and 0-based lines of the document that `target` covers exactly (whole lines)
    byte_span: tuple[int, int]
    line_span: tuple[int, int]
    target_tokens: int
    #: the context sections that made it into `text`, in order
    sections: tuple[str, ...]
    #: context items left out to respect the budget (a lower bound once it is exhausted)
    omitted: int
    class_name: str | None = None


def build_context(
    doc: Document,
    target: Unit | tuple[int, int],
    budget_tokens: int,
    *,
    max_siblings: int = MAX_SIBLINGS,
) -> CodeContext:
    """Context for a unit, or for a byte range (resolved to its enclosing unit when there is
    one, else a window of lines around it). The target is always included in full, even when
    it alone exceeds the budget; everything else is added only while it fits."""
    if looks_binary(doc.data):
        return _binary(doc)
    unit = target if isinstance(target, Unit) else find_unit(doc, target[0], target[1])
    if unit is None or doc.language is None or doc.tree is None:
        span = target.byte_span if isinstance(target, Unit) else target
        return _window(doc, span[0], span[1], budget_tokens)
    return _assemble(doc, doc.language, unit, budget_tokens, max_siblings)


def build_context_at(
    doc: Document,
    rng: Range,
    budget_tokens: int,
    *,
    encoding: PositionEncoding = DEFAULT_ENCODING,
) -> CodeContext:
    """`build_context` for an LSP range (a cursor is an empty range)."""
    start, end = doc.line_index.range_to_offsets(rng, encoding)
    return build_context(doc, (start, end), budget_tokens)


# --- code with a tree ---------------------------------------------------------------------


def _assemble(
    doc: Document, spec: LanguageSpec, unit: Unit, budget: int, max_siblings: int
) -> CodeContext:
    data = doc.data
    start = data.rfind(b"\n", 0, unit.full_span[0]) + 1  # whole first line: keep indentation
    newline = data.find(b"\n", unit.full_span[1])  # whole lines, the last one's EOL included
    end = len(data) if newline == -1 else newline + 1
    target = decode(data[start:end])
    lang = spec.name
    target_tokens = estimate_tokens(target, lang)
    root = doc.tree.root_node  # type: ignore[union-attr]
    seen = Seen({unit.name} if unit.name else set(), {unit.node.id})
    sections = [
        Section("imports", imports(doc, spec, root, seen)),
        *outline(doc, spec, unit, seen),
        Section("nearby definitions", siblings(doc, spec, unit, max_siblings, seen)),
        Section("referenced definitions", references(doc, spec, unit, root, seen)),
    ]
    text, included, omitted = _fit(target, sections, budget, spec)
    return CodeContext(
        target=target,
        text=text,
        context_tokens=estimate_tokens(text, lang),
        file_tokens=doc.file_tokens,
        language=lang,
        unit=unit.name,
        kind=unit.kind,
        byte_span=(start, end),
        line_span=(
            unit.line_span[0] - data.count(b"\n", start, unit.byte_span[0]),
            unit.line_span[1],
        ),
        target_tokens=target_tokens,
        sections=("target", *included),
        omitted=omitted,
        class_name=unit.class_name,
    )


def _fit(
    target: str, sections: list[Section], budget: float, spec: LanguageSpec
) -> tuple[str, list[str], int]:
    """Greedy by priority: each item is a whole syntax unit, taken only if it fits. Costs use
    the additive token weight of each line-terminated part, so the total never drifts over."""
    lang = spec.name
    parts = [target.rstrip("\n")]
    budget -= token_weight(parts[0] + "\n", lang)  # the target always goes in
    included: list[str] = []
    omitted = 0
    for section in sections:
        if budget <= 0:
            # Nothing more fits: only check whether the section had anything to leave out.
            omitted += next(iter(section.items), None) is not None
            continue
        header = f"\n{spec.line_comment} --- {section.title} ---"
        framing = [p for p in (header, section.head, section.tail) if p]
        fixed = sum(token_weight(p + "\n", lang) for p in framing)
        taken: list[str] = []
        for item in section.items:
            cost = token_weight(item + "\n", lang) + (0 if taken else fixed)
            if cost <= budget:
                taken.append(item)
                budget -= cost
            else:
                omitted += 1
        if taken:
            included.append(section.title)
            parts.append(header)
            if section.head:
                parts.append(section.head)
            parts.extend(taken)
            if section.tail:
                parts.append(section.tail)
    return "\n".join(parts) + "\n", included, omitted


# --- plain text and other fallbacks -------------------------------------------------------


def _window(doc: Document, start: int, end: int, budget: int) -> CodeContext:
    """The target lines in full, then neighbouring lines alternately below and above while
    they fit the budget. For plain text, unknown languages and unparsed documents."""
    index = doc.line_index
    data = doc.data
    lang = doc.language_name
    size = len(data)
    start, end = sorted((min(max(start, 0), size), min(max(end, 0), size)))
    first = index.line_of(start)
    last = index.line_of(end)
    if end > start and last > first and end == index.line_start(last):
        last -= 1  # a selection ending at column 0 does not include that line
    t_start, t_end = index.line_start(first), index.line_end(last, with_eol=True)
    target = decode(data[t_start:t_end])
    target_tokens = estimate_tokens(target, lang)
    remaining = budget - token_weight(target, lang)
    above, below = first - 1, last + 1
    lo, hi = t_start, t_end
    omitted = 0
    count = 0
    while count < 2 * MAX_WINDOW_LINES and (above >= 0 or below < index.line_count):
        progressed = False
        for line in (below, above):
            if line < 0 or line >= index.line_count:
                continue
            a, b = index.line_start(line), index.line_end(line, with_eol=True)
            cost = token_weight(data[a:b], lang)
            if cost > remaining:
                continue
            remaining -= cost
            progressed = True
            count += 1
            if line == below:
                hi, below = b, below + 1
            else:
                lo, above = a, above - 1
        if not progressed:
            omitted = (above + 1) + (index.line_count - below)
            break
    text = decode(data[lo:hi])
    return CodeContext(
        target=target,
        text=text,
        context_tokens=estimate_tokens(text, lang),
        file_tokens=doc.file_tokens,
        language=lang,
        unit="",
        kind="window",
        byte_span=(t_start, t_end),
        line_span=(first, last),
        target_tokens=target_tokens,
        sections=("window",),
        omitted=omitted,
    )


def _binary(doc: Document) -> CodeContext:
    return CodeContext(
        target="",
        text="",
        context_tokens=0,
        file_tokens=0,
        language="binary",
        unit="",
        kind="binary",
        byte_span=(0, 0),
        line_span=(0, 0),
        target_tokens=0,
        sections=(),
        omitted=0,
    )
