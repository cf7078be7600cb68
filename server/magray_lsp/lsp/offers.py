"""Code-action listing: instant, never calls a provider, never waits on a parse.

Titles carry the model the router would pick and an estimate from the unit's size:
"Explain `parse_header` — gpt-4o-mini ≈ $0.0004".
"""

from __future__ import annotations

from dataclasses import dataclass

from magray_lsp.actions.tasks import MAX_OUTPUT_TOKENS
from magray_lsp.context.document import Document
from magray_lsp.context.tokens import estimate_tokens
from magray_lsp.context.units import Unit, find_unit
from magray_lsp.cost.prices import format_usd
from magray_lsp.gateway import Gateway
from magray_lsp.routing.router import NoRoute
from magray_lsp.task import Action, Task

VERBS: dict[Action, str] = {
    "explain": "Explain",
    "document": "Add docstring to",
    "refactor": "Refactor",
}
KINDS: dict[Action, str] = {
    # refactor.* so VS Code's lightbulb lists them (it never lists source.* there)
    "explain": "refactor.magray.explain",
    "document": "refactor.rewrite.magray.document",
    "refactor": "refactor.rewrite.magray.refactor",
}
PROMPT_OVERHEAD_TOKENS = 350


@dataclass(frozen=True, slots=True)
class Offer:
    action: Action
    title: str
    kind: str
    unit: str
    #: the unit's kind ("" without a named unit): with `unit`, what resolving must find again
    unit_kind: str = ""


def unit_at(doc: Document, start: int, end: int) -> Unit | None:
    return find_unit(doc, start, end) if doc.tree is not None else None


def offers(gateway: Gateway, doc: Document, start: int, end: int, *, private: bool) -> list[Offer]:
    unit = unit_at(doc, start, end)
    if unit is not None and unit.name:
        label = f"`{unit.qualified_name}`"
        size = unit.byte_span[1] - unit.byte_span[0]
    else:
        label = "selection" if end > start else "this code"
        size = max(end - start, 2000)
    language = doc.language.name if doc.language else "text"
    # Twice the unit (in place and on its own) plus a share of context: a fair estimate.
    tokens = 2 * estimate_tokens(b"x" * size, language) + PROMPT_OVERHEAD_TOKENS
    out = []
    for action, verb in VERBS.items():
        if action == "document" and (unit is None or unit.kind == "region"):
            continue
        task = Task(
            action=action,
            system="",
            prompt="",
            language=language,
            context_tokens=tokens,
            max_output_tokens=MAX_OUTPUT_TOKENS[action],
            private=private,
        )
        try:
            primary = gateway.plan(task).primary
            suffix = f"{primary.ref.model} ≈ {format_usd(primary.estimate_usd)}"
        except NoRoute:
            suffix = "no model available"
        if private:
            suffix += " · local only"
        out.append(
            Offer(
                action,
                f"{verb} {label} — {suffix}",
                KINDS[action],
                unit.qualified_name if unit else "",
                unit.kind if unit is not None and unit.name else "",
            )
        )
    return out
