"""The monitoring summary of a window of the ledger, and counters only this process knows.

See the package's docstring for what each figure means.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from magray_lsp.cost.ledger import Ledger
from magray_lsp.metrics.health import latency_buckets, percentiles, providers
from magray_lsp.metrics.window import Counts, Window, groups, spend_per_day


class LiveCounters:
    """What the ledger cannot know: requests in flight now, counters since this process started."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._counts: dict[str, int] = {}

    def incr(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + by

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a request as in flight for the duration of the ``with`` block."""
        with self._lock:
            self._in_flight += 1
            self._counts["started"] = self._counts.get("started", 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._counts["finished"] = self._counts.get("finished", 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "uptime_s": self._clock() - self._started,
                "in_flight": self._in_flight,
                **self._counts,
            }


def summary(
    ledger: Ledger,
    since: float | None = None,
    until: float | None = None,
    provider: str | None = None,
    workspace: str | None = None,
    *,
    now: float | None = None,
    bucket_hours: int = 1,
    live: LiveCounters | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    """Overall, per provider/model and per provider numbers for the window (of one action's
    requests when `action` is given, read from the rollups keyed by action)."""
    if bucket_hours < 1:
        raise ValueError("bucket_hours must be at least 1")
    window = Window(since, until, workspace, provider, action)
    with ledger.snapshot():  # one consistent view while other servers keep writing
        return _summary(ledger, window, now, bucket_hours, live)


def _summary(
    ledger: Ledger, w: Window, now: float | None, bucket_hours: int, live: LiveCounters | None
) -> dict[str, Any]:
    since, until = w.since, w.until
    by_model = groups(ledger, w)
    start = since if since is not None else min((g[2] for g in by_model), default=None)
    end = until if until is not None else (time.time() if now is None else now)
    seconds = (end - start) if start is not None else None

    buckets = latency_buckets(ledger, w)
    total = Counts()
    models: list[dict[str, Any]] = []
    for prov, model, _, counts in by_model:
        total = total.plus(counts)
        block = {"provider": prov, "model": model, **counts.block(seconds)}
        block["latency_ms"] = percentiles(ledger, w, buckets.get((prov, model), {}), prov, model)
        models.append(block)
    overall: dict[int, int] = {}
    for per_bucket in buckets.values():
        for bucket, n in per_bucket.items():
            overall[bucket] = overall.get(bucket, 0) + n
    totals = total.block(seconds)
    totals["latency_ms"] = percentiles(ledger, w, overall)

    result: dict[str, Any] = {
        "window": {"since": start, "until": end, "seconds": seconds},
        "totals": totals,
        "models": models,
        "providers": providers(ledger, w, bucket_hours),
        "spend_per_day": spend_per_day(ledger, w),
    }
    if live is not None:
        result["live"] = live.snapshot()
    return result


def jsonable(value: Any) -> Any:
    """``summary`` output with ``Decimal`` turned into exact strings, ready for ``json.dumps``."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
