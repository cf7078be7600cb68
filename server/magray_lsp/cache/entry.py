"""What the cache stores: a complete answer and its usage, as plain JSON.

Entries are JSON, never pickle: a shared Redis or a cache directory must not be a way to run code
in every server that reads it. Reading is strict: anything malformed is ``None`` (a miss), never
an exception. Entries hold the model's answer and its accounting, never the prompt or a secret.

Each entry carries its privacy: an answer to private code (``private=True``) may be stored only on
this machine (memory, disk); the Redis tier refuses it when asked to write it (``redis_tier.py``).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard

#: Answers longer than this are not cached (and not accepted from a shared tier).
MAX_TEXT_CHARS = 4_000_000


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A complete, valid answer as it was first produced."""

    text: str
    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cost_usd: Decimal | None = None
    finish_reason: str | None = None
    #: wall-clock time (``time.time()``) the answer was produced
    created_at: float = field(default_factory=time.time)
    #: the answer is about private code: it stays on this machine (never written to Redis)
    private: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``cost_usd`` is a decimal string so no cent is lost to floats."""
        return {
            "text": self.text,
            "provider": self.provider,
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cost_usd": None if self.cost_usd is None else str(self.cost_usd),
            "finish_reason": self.finish_reason,
            "created_at": self.created_at,
            "private": self.private,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: object) -> CachedAnswer | None:
        """The answer ``data`` describes, or ``None`` when any field is missing or mistyped."""
        if not isinstance(data, dict):
            return None
        text = data.get("text")
        provider = data.get("provider")
        model = data.get("model")
        finish_reason = data.get("finish_reason")
        if not (isinstance(text, str) and isinstance(provider, str) and isinstance(model, str)):
            return None
        if len(text) > MAX_TEXT_CHARS:
            return None
        if finish_reason is not None and not isinstance(finish_reason, str):
            return None
        input_tokens = data.get("input_tokens")
        output_tokens = data.get("output_tokens")
        cached_input_tokens = data.get("cached_input_tokens")
        if not (
            _is_count(input_tokens) and _is_count(output_tokens) and _is_count(cached_input_tokens)
        ):
            return None
        cost_raw = data.get("cost_usd")
        cost: Decimal | None = None
        if cost_raw is not None:
            cost = _decimal(cost_raw)
            if cost is None:
                return None
        created_at = data.get("created_at")
        if not _is_number(created_at):
            return None
        private = data.get("private", False)  # entries written before the field: not private
        if not isinstance(private, bool):
            return None
        return cls(
            text=text,
            provider=provider,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_input_tokens=cached_input_tokens,
            cost_usd=cost,
            finish_reason=finish_reason,
            created_at=float(created_at),
            private=private,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> CachedAnswer | None:
        """Parse ``to_json()`` output; ``None`` for anything malformed."""
        return cls.from_dict(_loads(raw))


@dataclass(frozen=True, slots=True)
class Record:
    """What the shared tiers (disk, Redis) hold: an answer and its absolute expiry.

    ``expires_at`` is wall-clock time (``None``: never), so a lower-tier hit can be promoted with
    the time it has left rather than a fresh TTL.
    """

    answer: CachedAnswer
    expires_at: float | None

    def to_json(self) -> str:
        body = {"v": 1, "expires_at": self.expires_at, "answer": self.answer.to_dict()}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: object) -> Record | None:
        if not isinstance(raw, str | bytes):
            return None
        data = _loads(raw)
        if not isinstance(data, dict) or data.get("v") != 1:
            return None
        expires_at = data.get("expires_at")
        if expires_at is not None and not _is_number(expires_at):
            return None
        answer = CachedAnswer.from_dict(data.get("answer"))
        if answer is None:
            return None
        return cls(answer, None if expires_at is None else float(expires_at))

    def remaining(self, now: float) -> float | None:
        """Seconds left at wall time ``now`` (``None``: no expiry; ``<= 0``: expired)."""
        return None if self.expires_at is None else self.expires_at - now


def _loads(raw: str | bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, TypeError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: object) -> TypeGuard[int | float]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def _decimal(value: object) -> Decimal | None:
    """A plausible ``Decimal`` (finite, non-negative, sane exponent) from a string, or ``None``."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    # Bounded exponent: a cost like 1e999999999 is garbage (and expensive to format).
    if not amount.is_finite() or amount < 0 or not -40 <= amount.adjusted() <= 15:
        return None
    return amount
