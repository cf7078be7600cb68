"""``ResponseCache``: memory → Redis → disk, with promotion and one set of stats.

A hit in a lower tier is copied into the tiers above it with the time it has left, except that a
private answer is never copied or written to Redis (the tier would refuse it: it is off this
machine); it lives in memory and on disk only. Nothing here raises on a cache problem: a corrupt
entry is a miss (and is deleted), an unreachable Redis or an unwritable directory produces one
warning and the other tiers carry on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from magray_lsp.cache.disk import DiskTier, responses_dir
from magray_lsp.cache.entry import CachedAnswer, Record
from magray_lsp.cache.memory import MemoryTier
from magray_lsp.cache.redis_tier import RETRY_SECONDS, RedisTier
from magray_lsp.config.models import CacheConfig

log = logging.getLogger(__name__)

Tier = Literal["memory", "redis", "disk"]


class ResponseCache:
    """Complete answers by cache key (see ``cache_key``), in up to three tiers.

    ``clock`` (monotonic) drives memory expiry and the Redis retry interval; ``wall_clock``
    (epoch seconds) drives the shared tiers' expiry. Both, and ``redis_retry_seconds``, exist so
    tests can move time without sleeping.
    """

    def __init__(
        self,
        cfg: CacheConfig,
        *,
        on_warning: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        redis_retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.cfg = cfg
        self.enabled = cfg.enabled
        self._on_warning = on_warning or _log_warning
        self._wall_clock = wall_clock
        self._memory = MemoryTier(cfg.memory_entries, clock=clock)
        self._disk = DiskTier(responses_dir(cfg.dir), on_warning=self._on_warning)
        self._redis: RedisTier | None = None
        if cfg.redis_url:
            self._redis = RedisTier(
                cfg.redis_url,
                on_warning=self._on_warning,
                clock=clock,
                retry_seconds=redis_retry_seconds,
            )
        self._stats = {"hits_memory": 0, "hits_redis": 0, "hits_disk": 0, "misses": 0, "puts": 0}
        self._closed = False

    @property
    def disk_dir(self) -> str:
        return str(self._disk.directory)

    @property
    def redis_url(self) -> str | None:
        """The Redis URL with its password masked (safe to show), or ``None``."""
        return None if self._redis is None else self._redis.display_url

    async def get(self, key: str) -> tuple[CachedAnswer, Tier] | None:
        """The cached answer for ``key`` and the tier that had it, or ``None``."""
        if not self.enabled or self._closed:
            self._stats["misses"] += 1
            return None
        answer = self._memory.get(key)
        if answer is not None:
            self._stats["hits_memory"] += 1
            return answer, "memory"
        now = self._wall_clock()
        if self._redis is not None:
            shared = await self._redis.get(key)
            record = self._decode(shared, now)
            if record is None and shared is not None:
                await self._redis.delete(key)
            elif record is not None:
                remaining = record.remaining(now)
                self._memory.put(key, record.answer, remaining)
                await self._disk.put(key, record.to_json(), remaining)
                self._stats["hits_redis"] += 1
                return record.answer, "redis"
        raw = await self._disk.get(key)
        record = self._decode(raw, now)
        if record is None and raw is not None:
            await self._disk.delete(key)
        elif record is not None:
            remaining = record.remaining(now)
            self._memory.put(key, record.answer, remaining)
            if self._redis is not None and not record.answer.private:
                await self._redis.put(key, record, remaining)
            self._stats["hits_disk"] += 1
            return record.answer, "disk"
        self._stats["misses"] += 1
        return None

    def get_memory(self, key: str) -> CachedAnswer | None:
        """The answer for ``key`` if the memory tier holds it (no await: for a caller that must
        not let another task run between its lookup and what it does next)."""
        if not self.enabled or self._closed:
            return None
        answer = self._memory.get(key)
        if answer is not None:
            self._stats["hits_memory"] += 1
        return answer

    def _decode(self, raw: object, now: float) -> Record | None:
        """The live record in ``raw``; ``None`` for nothing, garbage, or an expired entry."""
        if raw is None:
            return None
        record = Record.from_json(raw)
        if record is None:
            log.info("dropping a corrupt cache entry")
            return None
        remaining = record.remaining(now)
        if remaining is not None and remaining <= 0:
            return None
        return record

    async def put(self, key: str, answer: CachedAnswer, ttl_seconds: int | None = None) -> None:
        """Store ``answer`` for ``ttl_seconds`` (default: ``cfg.ttl_seconds``) in every tier, or
        only in memory and on disk when ``answer.private`` (an answer to private code).

        A TTL of 0 means no expiry (entries then leave only by LRU, disk size limit or ``clear``).
        """
        shared = self.put_memory(key, answer, ttl_seconds)
        if shared is not None:
            await shared

    def put_memory(
        self, key: str, answer: CachedAnswer, ttl_seconds: int | None = None
    ) -> Coroutine[Any, Any, None] | None:
        """``put`` in two halves: the memory tier now (lookups in this process hit at once),
        and the coroutine that writes the shared tiers, which the caller runs (the gateway: in
        the background, off the answer's path); None when the cache is off."""
        if not self.enabled or self._closed:
            return None
        ttl = self.cfg.ttl_seconds if ttl_seconds is None else ttl_seconds
        if ttl < 0:
            raise ValueError("ttl_seconds must be >= 0")
        seconds: float | None = float(ttl) if ttl > 0 else None
        expires_at = None if seconds is None else self._wall_clock() + seconds
        self._memory.put(key, answer, seconds)
        self._stats["puts"] += 1
        return self._put_shared(key, Record(answer, expires_at), seconds)

    async def _put_shared(self, key: str, record: Record, seconds: float | None) -> None:
        raw = record.to_json()
        if self._redis is not None and not record.answer.private:
            await asyncio.gather(
                self._redis.put(key, record, seconds), self._disk.put(key, raw, seconds)
            )
        else:
            await self._disk.put(key, raw, seconds)

    async def clear(self) -> int:
        """Empty every tier (Redis: only ``magray:v1:*`` keys); the number of distinct keys removed.

        Works even when the cache is disabled, so ``cache clear`` can still tidy up.
        """
        if self._closed:
            return 0
        removed = set(self._memory.clear())
        removed.update(await self._disk.clear())
        if self._redis is not None:
            removed.update(await self._redis.clear())
        return len(removed)

    def stats(self) -> dict[str, int]:
        """Counters: ``hits_memory``, ``hits_redis``, ``hits_disk``, ``misses``, ``puts``."""
        return dict(self._stats)

    async def aclose(self) -> None:
        """Release the disk connection, its thread and the Redis pool. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._redis is not None:
                await self._redis.aclose()
        finally:
            await self._disk.aclose()


def _log_warning(message: str) -> None:
    log.warning("%s", message)
