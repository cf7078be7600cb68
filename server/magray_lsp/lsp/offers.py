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
from magray_lsp.errors import MagrayError
from magray_lsp.gateway import Gateway
from magray_lsp.lsp.status import title_note
from magray_lsp.routing.pricing import ASSUMED_PRICE_NOTE
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
    #: a built-in action, or a defined one's name ("fix", "tests", "simplify")
    action: str
    title: str
    kind: str
    unit: str
    #: the unit's kind ("" without a named unit): with `unit`, what resolving must find again
    unit_kind: str = ""
    #: a defined action (run by `magray.run`), not one of the built-ins above
    defined: bool = False
    #: more for the action's data / command arguments (Fix: the diagnostics it fixes)
    extra: dict[str, object] | None = None

    @property
    def command(self) -> str:
        return "magray.run" if self.defined else f"magray.{self.action}"


def unit_at(doc: Document, start: int, end: int) -> Unit | None:
    return find_unit(doc, start, end) if doc.tree is not None else None


@dataclass(frozen=True, slots=True)
class Spot:
    """What the menu is listed for: the unit (if any), how titles name it, the prompt size."""

    unit: Unit | None
    label: str
    language: str
    tokens: int


def spot(doc: Document, start: int, end: int) -> Spot:
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
    return Spot(unit, label, language, tokens)


def cost_suffix(gateway: Gateway, task: Task) -> str:
    """ "gpt-4o-mini ≈ $0.0004" for the model the router would pick (no provider call)."""
    try:
        primary = gateway.plan(task).primary
        suffix = f"{primary.ref.model} ≈ {format_usd(primary.estimate_usd)}"
        if primary.price_assumed:  # under a hard budget: never shown (or counted) as free
            suffix += f" ({ASSUMED_PRICE_NOTE})"
    except MagrayError:  # no route, or a pinned model whose provider is unavailable
        suffix = "no model available"
    if team := title_note(gateway):  # the team's budget, when it is the tighter limit
        suffix += f" · {team}"
    if task.private:
        suffix += " · local only"
    return suffix


def offers(gateway: Gateway, doc: Document, start: int, end: int, *, private: bool) -> list[Offer]:
    here = spot(doc, start, end)
    unit, label, language, tokens = here.unit, here.label, here.language, here.tokens
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
        out.append(
            Offer(
                action,
                f"{verb} {label} — {cost_suffix(gateway, task)}",
                KINDS[action],
                unit.qualified_name if unit else "",
                unit.kind if unit is not None and unit.name else "",
            )
        )
    return out
