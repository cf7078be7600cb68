"""Backoff delays and the circuit breaker, on an injected clock."""

from __future__ import annotations

import random

from magray_lsp.errors import RateLimited, ServerError
from magray_lsp.resilience.backoff import backoff_delay
from magray_lsp.resilience.breaker import CircuitBreaker
from magray_lsp.resilience.health import HealthBoard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_grows_exponentially_with_cap_and_jitter() -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        samples = [backoff_delay(attempt, base=0.5, cap=8.0, rng=rng) for _ in range(300)]
        assert max(samples) <= ceiling
        assert min(samples) >= 0
        assert max(samples) > 0.8 * ceiling  # jitter covers the range ...
        assert len({round(s, 6) for s in samples}) > 250  # ... and spreads clients


def test_retry_after_is_a_floor_with_small_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    err = RateLimited("slow down", retry_after=3.0)
    delays = [backoff_delay(1, base=0.1, cap=8.0, error=err, rng=rng) for _ in range(200)]
    assert all(3.0 <= d <= 3.3 for d in delays)
    assert len(set(delays)) > 150
    huge = RateLimited("later", retry_after=3600)
    assert backoff_delay(1, base=0.1, cap=8.0, error=huge, retry_after_cap=30, rng=rng) <= 33.0
    # a server error carries no Retry-After: plain backoff
    assert backoff_delay(1, base=0.1, cap=8.0, error=ServerError("x"), rng=rng) <= 0.1


def test_breaker_opens_half_opens_and_extends_cooldown() -> None:
    clock = Clock()
    b = CircuitBreaker(threshold=3, cooldown=10, max_cooldown=60, clock=clock)
    for _ in range(2):
        b.record_failure()
    assert b.state == "closed" and b.allow()
    b.record_failure()
    assert b.state == "open" and not b.allow()  # type: ignore[comparison-overlap]  # mypy keeps the earlier narrowing
    clock.now += 9.9
    assert b.state == "open"
    clock.now += 0.2
    assert b.state == "half_open"
    assert b.allow()  # one probe ...
    assert not b.allow()  # ... at a time
    b.record_failure()  # probe failed: cooldown doubles instead of resetting
    assert b.state == "open" and b.current_cooldown == 20
    clock.now += 19
    assert b.state == "open"
    clock.now += 1.5
    assert b.allow()
    b.record_failure()
    assert b.current_cooldown == 40
    clock.now += 41
    assert b.allow()
    b.record_failure()
    assert b.current_cooldown == 60  # capped
    clock.now += 61
    assert b.allow()
    b.record_success()
    assert b.state == "closed" and b.failures == 0 and b.current_cooldown == 0


def test_failures_of_requests_already_in_flight_do_not_extend_an_open_breaker() -> None:
    clock = Clock()
    b = CircuitBreaker(threshold=2, cooldown=10, clock=clock)
    for _ in range(10):
        b.record_failure()
    assert b.current_cooldown == 10


def test_cancelled_probe_lets_another_probe_through() -> None:
    clock = Clock()
    b = CircuitBreaker(threshold=1, cooldown=5, clock=clock)
    b.record_failure()
    clock.now += 6
    assert b.allow() and not b.allow()
    b.release_probe()
    assert b.allow()


def test_health_board_tracks_ewma_outage_and_recovery_time() -> None:
    clock = Clock()
    board = HealthBoard(clock=clock, breaker_threshold=2, breaker_cooldown=5)
    board.record_success("openai.default", 100)
    board.record_success("openai.default", 200)
    h = board.get("openai.default")
    assert h.latency_ms == 0.3 * 200 + 0.7 * 100
    assert h.success == 1.0
    board.record_failure("openai.default")
    assert h.success == 0.7
    clock.now += 4
    board.record_failure("openai.default")
    assert h.breaker.state == "open"
    clock.now += 8
    board.record_success("openai.default", 150)
    assert h.recoveries == [12.0]  # from the first failure of the outage to the first success
    assert h.breaker.state == "closed"  # type: ignore[comparison-overlap]  # mypy keeps the earlier narrowing
    assert board.snapshot()["openai.default"]["lastRecoverySeconds"] == 12.0
