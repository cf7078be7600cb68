"""Price a request in USD from token usage: config overrides, then genai-prices' offline table.

Local models cost nothing. An unknown model prices as None ("unknown"), never as zero. Input read
from a provider's prompt cache and input written to it have their own prices (genai-prices knows
them per model: OpenAI reads at 50% or less, Anthropic reads at 10% and writes at 125%).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from functools import lru_cache

from magray_lsp.config.models import ModelPrice
from magray_lsp.providers.base import Usage

_MTOK = Decimal(1_000_000)
FREE_KINDS = frozenset({"local", "ollama"})
# genai-prices names some providers differently from our kinds.
_PROVIDER_IDS = {"google": "google", "openai": "openai", "anthropic": "anthropic"}


def _from_override(price: ModelPrice, usage: Usage) -> Decimal:
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    written = min(usage.cache_write_tokens, usage.input_tokens - cached)
    read_rate = (
        price.cached_input_per_mtok
        if price.cached_input_per_mtok is not None
        else price.input_per_mtok
    )
    write_rate = (
        price.cache_write_per_mtok
        if price.cache_write_per_mtok is not None
        else price.input_per_mtok
    )
    return (
        (usage.input_tokens - cached - written) * price.input_per_mtok
        + cached * read_rate
        + written * write_rate
        + usage.output_tokens * price.output_per_mtok
    ) / _MTOK


@lru_cache(maxsize=512)
def _lookup(kind: str, model: str, inp: int, out: int, cached: int, written: int) -> Decimal | None:
    from genai_prices import Usage as GPUsage
    from genai_prices import calc_price

    provider_id = _PROVIDER_IDS.get(kind)
    usage = GPUsage(
        input_tokens=inp,
        output_tokens=out,
        cache_read_tokens=cached or None,
        cache_write_tokens=written or None,
    )
    for pid in (provider_id, None) if provider_id else (None,):
        try:
            return Decimal(calc_price(usage, model, provider_id=pid).total_price)
        except LookupError:
            continue
    return None


def price_usd(
    kind: str, model: str, usage: Usage, overrides: dict[str, ModelPrice] | None = None
) -> Decimal | None:
    """Cost of `usage` on `model`; None when no price is known."""
    if overrides and model in overrides:
        return _from_override(overrides[model], usage)
    if kind in FREE_KINDS:
        return Decimal(0)
    return _lookup(
        kind,
        model,
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_input_tokens,
        usage.cache_write_tokens,
    )


def uncached_price_usd(
    kind: str, model: str, usage: Usage, overrides: dict[str, ModelPrice] | None = None
) -> Decimal | None:
    """What `usage` would have cost with no prompt cache: every input token at the input price.
    The difference to `price_usd` is what prompt caching saved (negative when a cache write
    was never read back)."""
    plain = replace(usage, cached_input_tokens=0, cache_write_tokens=0)
    return price_usd(kind, model, plain, overrides)


def format_usd(amount: Decimal | None) -> str:
    if amount is None:
        return "$?"
    if amount == 0:
        return "$0"
    if amount < Decimal("0.0001"):
        return "<$0.0001"
    if amount < Decimal("0.01"):
        return f"${amount:.4f}"
    return f"${amount:.2f}"
