"""A circuit breaker per provider/model.

Closed: calls flow. After `threshold` consecutive failures it opens for a cooldown; then it is
half-open and lets one probe through. A failed probe re-opens it with a doubled cooldown (capped),
so a provider that stays down is asked less and less often; a success closes it and resets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

State = Literal["closed", "open", "half_open"]


@dataclass
class CircuitBreaker:
    threshold: int = 5
    cooldown: float = 10.0
    max_cooldown: float = 300.0
    clock: Callable[[], float] = field(default=time.monotonic)
    failures: int = 0
    opened_at: float | None = None
    current_cooldown: float = 0.0
    probing: bool = False

    @property
    def state(self) -> State:
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.current_cooldown:
            return "half_open"
        return "open"

    def retry_in(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.opened_at + self.current_cooldown - self.clock())

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one probe at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self.probing:
            self.probing = True
            return True
        return False

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.current_cooldown = 0.0
        self.probing = False

    def record_failure(self) -> None:
        self.failures += 1
        if self.probing:
            # a failed probe: stay open, longer than before
            self.current_cooldown = min(
                self.max_cooldown, max(self.cooldown, self.current_cooldown * 2)
            )
            self.opened_at = self.clock()
        elif self.opened_at is None and self.failures >= self.threshold:
            self.current_cooldown = self.cooldown
            self.opened_at = self.clock()
        self.probing = False

    def release_probe(self) -> None:
        """The probe ended without telling us anything (cancelled): let another one try."""
        self.probing = False
