"""What a provider's stream carries: text deltas, then one completion with its usage.

These types sit below both the provider interface (`base.py`) and the check every stream goes
through (`guard.py`), so neither imports the other's module to name them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider reports them.

    ``input_tokens`` is the whole prompt, cached parts included; ``cached_input_tokens`` is the
    part read from the provider's prompt cache (priced at the cache-read rate) and
    ``cache_write_tokens`` the part written to it (Anthropic: priced at the cache-write rate).
    Both are subsets of ``input_tokens`` and do not overlap.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Completion:
    """The last event of every successful stream."""

    usage: Usage | None
    finish_reason: str | None
    model: str  # the model id the provider reports having used


StreamEvent = TextDelta | Completion
