"""One ledger row (`LedgerEntry`) and the units it is stored in: money as integer
pico-dollars, latency buckets, and the UTC month a request counts in."""

from __future__ import annotations

import functools
import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Context, Decimal
from typing import Any, Literal, get_args

from magray_lsp.cost.ledger.schema import COLUMN_NAMES

PICO = 10**12  # integer money unit: pico-dollars

#: a built-in action ("explain", "document", "refactor", "hover", "fix", "tests") or the name
#: of a custom action
Action = str
Outcome = Literal["ok", "error", "cancelled", "budget_refused"]
OUTCOMES: frozenset[str] = frozenset(get_args(Outcome))

#: latency buckets per doubling; metrics find percentiles bucket-first (see ``latency_bucket``)
_BUCKETS_PER_DOUBLING = 16


def _check_money(value: Decimal, what: str) -> None:
    if not value.is_finite() or value < 0:
        raise ValueError(f"{what} must be a finite, non-negative Decimal, got {value!r}")


#: precise enough for any amount times 10¹² (a context of its own: no `localcontext` per row)
_EXACT = Context(prec=60)


def to_pico(amount: Decimal) -> int:
    """USD → integer pico-dollars, rounded up (spend is never under-counted)."""
    _check_money(amount, "amount")
    return _checked_pico(amount)


def _checked_pico(amount: Decimal) -> int:
    return int(_EXACT.multiply(amount, PICO).to_integral_value(ROUND_CEILING, _EXACT))


_random_bits = random.getrandbits


def new_id() -> str:
    """A new request or reservation id: 32 random hex digits (as ``uuid4().hex`` long, without
    building a UUID). From `random`'s generator (seeded from the OS, reseeded in a forked child),
    not ``os.urandom``: a system call lets go of the GIL, and with the ledger writer's thread
    busy the event loop then waits to get it back — 0.06 ms of CPU a request at concurrency 100
    (`bench/bench_throughput.py`). An id is unique, not secret."""
    return f"{_random_bits(128):032x}"


def from_pico(pico: int) -> Decimal:
    """Integer pico-dollars → USD, exact, without trailing zeros."""
    whole, part = divmod(pico, PICO)
    if not part:  # whole dollars (every budget status without spend: 0), no Decimal arithmetic
        return Decimal(whole)
    return Decimal(pico).scaleb(-12).normalize()


def _money_text(amount: Decimal, what: str) -> str:
    _check_money(amount, what)
    return format(amount, "f")


def _money(amount: Decimal, what: str) -> tuple[str, int]:
    """``amount`` as the ledger stores it: exact decimal text, and pico-dollars rounded up."""
    _check_money(amount, what)
    return format(amount, "f"), _checked_pico(amount)


def latency_bucket(latency_ms: float) -> int:
    """A coarse, monotonic bucket of a latency (16 per doubling); percentiles sort one bucket."""
    return int(_BUCKETS_PER_DOUBLING * math.log2(1.0 + max(latency_ms, 0.0)))


def month_bounds(now: datetime | float | None = None) -> tuple[float, float]:
    """[start, end) of the UTC calendar month containing ``now``, as epoch seconds."""
    if now is None:
        moment = datetime.now(UTC)
    elif isinstance(now, datetime):
        moment = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    else:
        moment = datetime.fromtimestamp(now, UTC)
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    if moment.month == 12:
        end = datetime(moment.year + 1, 1, 1, tzinfo=UTC)
    else:
        end = datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)
    return start.timestamp(), end.timestamp()


def month_hours(now: datetime | float | None = None) -> tuple[int, int]:
    """[start, end) of the UTC month containing ``now``, in rollup hours."""
    if isinstance(now, datetime):
        start, end = month_bounds(now)
        return int(start) // 3600, int(end) // 3600
    return _month_hours_of(int(time.time() if now is None else now) // 3600)


@functools.lru_cache(maxsize=64)
def _month_hours_of(hour: int) -> tuple[int, int]:
    # every budget check asks this; datetime arithmetic is slow next to a cached lookup
    start, end = month_bounds(hour * 3600.0)
    return int(start) // 3600, int(end) // 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerEntry:
    """One request as the ledger remembers it. No prompt, no code: only where it came from.

    ``cost_usd`` is what was paid (``None``: the price is unknown, never guessed as zero). A cache
    hit records ``cached=True``, ``cost_usd=0`` and ``saved_usd`` = what the answer cost when it
    was first paid for. ``fallback_chain`` lists the "provider/model"s tried, and failed, before
    ``provider``/``model``. ``ts`` is when the request *started* (UTC epoch seconds); it picks the
    month the cost counts in, and ``ts + latency_ms`` is when it ended (used for outage times).
    ``error_type`` is the taxonomy class name (``"RateLimited"``, ``"Timeout"``, ...).
    ``cached_input_tokens`` and ``cache_write_tokens`` are the parts of ``input_tokens`` read from
    and written to the provider's prompt cache; ``uncached_usd`` is what the call would have cost
    without that cache (set when either is non-zero), so ``uncached_usd - cost_usd`` is what
    prompt caching saved.
    ``tokens_estimated``: the provider reported no usage (a call cancelled or broken off, or a
    server that never reports it): the tokens, hence the cost, are estimated from the text.
    ``price_assumed``: the model has no known price; under a hard budget it is charged at the
    placeholder price its reservation used rather than recorded as unknown.
    """

    action: Action
    provider: str
    model: str
    outcome: Outcome = "ok"
    workspace: str = ""
    source_path: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: Decimal | None = None
    uncached_usd: Decimal | None = None
    estimated_usd: Decimal | None = None
    saved_usd: Decimal | None = None
    latency_ms: float = 0.0
    first_token_ms: float | None = None
    cached: bool = False
    fallback_chain: Sequence[str] = ()
    error_type: str | None = None
    tokens_estimated: bool = False
    price_assumed: bool = False
    id: str = field(default_factory=new_id)
    ts: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fallback_chain", tuple(self.fallback_chain))
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, got {self.outcome!r}")

    def _row(self) -> tuple[Any, ...]:
        # (built on every commit's path: an absent amount costs no call)
        cost, saved, uncached = self.cost_usd, self.saved_usd, self.uncached_usd
        estimated = self.estimated_usd
        return (
            self.id,
            self.ts,
            self.workspace,
            self.action,
            self.source_path,
            self.provider,
            self.model,
            self.input_tokens,
            self.output_tokens,
            self.cached_input_tokens,
            *((None, None) if cost is None else _money(cost, "cost_usd")),
            None if estimated is None else _money_text(estimated, "estimated_usd"),
            *((None, None) if saved is None else _money(saved, "saved_usd")),
            self.latency_ms,
            latency_bucket(self.latency_ms),
            self.first_token_ms,
            int(self.cached),
            json.dumps(list(self.fallback_chain)) if self.fallback_chain else "[]",
            len(self.fallback_chain),
            self.outcome,
            self.error_type,
            self.cache_write_tokens,
            *((None, None) if uncached is None else _money(uncached, "uncached_usd")),
            int(self.tokens_estimated),
            int(self.price_assumed),
        )

    @classmethod
    def _from_row(cls, row: Sequence[Any]) -> LedgerEntry:
        r = dict(zip(COLUMN_NAMES, row, strict=True))
        return cls(
            id=r["id"],
            ts=r["ts"],
            workspace=r["workspace"],
            action=r["action"],
            source_path=r["source_path"],
            provider=r["provider"],
            model=r["model"],
            input_tokens=r["input_tokens"],
            output_tokens=r["output_tokens"],
            cached_input_tokens=r["cached_input_tokens"],
            cache_write_tokens=r["cache_write_tokens"],
            cost_usd=_decimal_or_none(r["cost_usd"]),
            uncached_usd=_decimal_or_none(r["uncached_usd"]),
            estimated_usd=_decimal_or_none(r["estimated_usd"]),
            saved_usd=_decimal_or_none(r["saved_usd"]),
            latency_ms=r["latency_ms"],
            first_token_ms=r["first_token_ms"],
            cached=bool(r["cached"]),
            fallback_chain=tuple(json.loads(r["fallback_chain"])),
            outcome=r["outcome"],
            error_type=r["error_type"],
            tokens_estimated=bool(r["tokens_estimated"]),
            price_assumed=bool(r["price_assumed"]),
        )


def _decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)
