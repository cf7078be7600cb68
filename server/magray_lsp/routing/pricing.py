"""What a call to a model may cost under this configuration: one answer for the router's
estimates, the budget's reservations and the ledger's settlements.

- The output the estimate assumes is the `max_tokens` sent with the request (`output_cap`).
- Ollama is free only on this machine (a loopback URL, not `remote`) or when `prices` says so;
  a remote Ollama may well be billed, so without a price it is unpriced like any unknown model.
- An unpriced model under a hard budget (`monthly_usd` with `hard_stop`) counts at the placeholder
  price `UNKNOWN_PRICE` — what its reservation assumed — never as $0; without a hard budget it is
  recorded as unpriced (``None``), not guessed.
- The most a call can cost bounds its prompt by its UTF-8 bytes (a token of every tokenizer in use
  covers at least one byte) plus a few tokens of chat framing per message, and its answer by
  `max_tokens`: reservations of that much keep a hard budget from being overshot however many
  requests are in flight, even when the token estimate was low.
"""

from __future__ import annotations

from decimal import Decimal

from magray_lsp.catalog import ModelRef
from magray_lsp.config.models import BudgetConfig, ModelPrice, ProviderConfig
from magray_lsp.cost.prices import price_usd
from magray_lsp.providers.base import ChatRequest, Usage
from magray_lsp.task import Task

#: charged for models without a known price: as expensive as the priciest common models
UNKNOWN_PRICE = ModelPrice(input_per_mtok=Decimal(15), output_per_mtok=Decimal(75))
#: how titles, `doctor` and `--dry-run` say that a model is charged at `UNKNOWN_PRICE`
ASSUMED_PRICE_NOTE = (
    f"no price known: counted at ${UNKNOWN_PRICE.input_per_mtok}/${UNKNOWN_PRICE.output_per_mtok} "
    "per Mtok"
)
#: role markers and separators a provider adds around each message, in tokens (generous)
FRAMING_TOKENS_PER_MESSAGE = 16


def output_cap(task: Task, cfg: ProviderConfig) -> int:
    """The `max_tokens` sent to the model and the output every estimate assumes: one number."""
    return cfg.defaults.max_tokens or task.max_output_tokens


def hard_budget(budget: BudgetConfig) -> bool:
    """Paid requests can be refused: a monthly limit with `hard_stop`."""
    return budget.monthly_usd is not None and budget.hard_stop


def known_cost(ref: ModelRef, cfg: ProviderConfig, usage: Usage, *, local: bool) -> Decimal | None:
    """The cost of `usage` from the price table (`prices` first); None when no price is known.
    `local`: the provider is on this machine (an Ollama elsewhere is not free by default)."""
    if ref.kind == "ollama" and not local and ref.model not in cfg.prices:
        return None
    return price_usd(ref.kind, ref.model, usage, cfg.prices)


def charged_cost(
    ref: ModelRef, cfg: ProviderConfig, usage: Usage, *, local: bool, budget: BudgetConfig
) -> tuple[Decimal | None, bool]:
    """(what `usage` counts as, whether that is the placeholder price of an unpriced model)."""
    cost = known_cost(ref, cfg, usage, local=local)
    if cost is not None or not hard_budget(budget):
        return cost, False
    return price_usd(ref.kind, "unknown", usage, {"unknown": UNKNOWN_PRICE}), True


def most_usage(request: ChatRequest, task: Task) -> Usage:
    """The most tokens `request` (made for `task`) can be billed for: its prompt's bytes plus
    framing (never less than the task's own prompt estimate), and `max_tokens` of answer."""
    prompt = sum(len(m.content.encode("utf-8", "surrogatepass")) for m in request.messages)
    framing = FRAMING_TOKENS_PER_MESSAGE * (len(request.messages) + 1)
    return Usage(max(prompt + framing, task.context_tokens), request.max_tokens or 0)
