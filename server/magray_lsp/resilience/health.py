"""Live health per model: latency and success EWMAs, a breaker, outages and recovery times.

The router reads it for the performance and availability scores and the circuit filter; the
gateway writes to it after every attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from magray_lsp.resilience.breaker import CircuitBreaker

ALPHA = 0.3  # EWMA weight of the newest observation


@dataclass
class ModelHealth:
    breaker: CircuitBreaker
    latency_ms: float | None = None
    success: float | None = None
    requests: int = 0
    failures: int = 0
    outage_started: float | None = None
    recoveries: list[float] = field(default_factory=list)  # seconds from first failure to success


class HealthBoard:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 10.0,
    ) -> None:
        self._clock = clock
        self._threshold = breaker_threshold
        self._cooldown = breaker_cooldown
        self._models: dict[str, ModelHealth] = {}

    def get(self, key: str) -> ModelHealth:
        if key not in self._models:
            breaker = CircuitBreaker(self._threshold, self._cooldown, clock=self._clock)
            self._models[key] = ModelHealth(breaker)
        return self._models[key]

    def record_success(self, key: str, latency_ms: float) -> None:
        h = self.get(key)
        h.requests += 1
        h.latency_ms = (
            latency_ms if h.latency_ms is None else ALPHA * latency_ms + (1 - ALPHA) * h.latency_ms
        )
        h.success = 1.0 if h.success is None else ALPHA + (1 - ALPHA) * h.success
        if h.outage_started is not None:
            h.recoveries.append(self._clock() - h.outage_started)
            h.outage_started = None
        h.breaker.record_success()

    def record_failure(self, key: str) -> None:
        h = self.get(key)
        h.requests += 1
        h.failures += 1
        h.success = 0.0 if h.success is None else (1 - ALPHA) * h.success
        if h.outage_started is None:
            h.outage_started = self._clock()
        h.breaker.record_failure()

    def snapshot(self) -> dict[str, dict[str, float | int | str | None]]:
        return {
            key: {
                "latencyMs": h.latency_ms,
                "success": h.success,
                "requests": h.requests,
                "failures": h.failures,
                "circuit": h.breaker.state,
                "lastRecoverySeconds": h.recoveries[-1] if h.recoveries else None,
            }
            for key, h in self._models.items()
        }
