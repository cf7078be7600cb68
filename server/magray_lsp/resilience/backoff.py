"""Exponential backoff with a cap and full jitter; `Retry-After` honoured (capped, jittered)."""

from __future__ import annotations

import random

from magray_lsp.errors import ProviderError, RateLimited


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    error: ProviderError | None = None,
    retry_after_cap: float = 30.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (1 = first retry).

    Full jitter (uniform in [0, min(cap, base·2^(attempt-1))]) spreads retries of many clients.
    A server's `Retry-After` is a floor: we wait at least that (capped), plus up to 10% jitter so
    a burst of clients does not return in the same millisecond.
    """
    rng = rng or random.Random()
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    delay = rng.uniform(0, ceiling)
    if isinstance(error, RateLimited) and error.retry_after is not None:
        floor = min(error.retry_after, retry_after_cap)
        delay = max(delay, floor + rng.uniform(0, 0.1 * floor))
    return delay
