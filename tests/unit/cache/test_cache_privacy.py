"""An answer to private code stays on this machine: memory and disk, never the shared Redis.

Against a real redis-server: the store keeps private entries out of Redis on a write and on a
promotion from disk, and the Redis tier itself refuses a private entry whoever asks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from tests.redis_server import RedisServer

from magray_lsp.cache import KEY_PREFIX, CachedAnswer, Record, RedisTier, ResponseCache
from magray_lsp.config.models import CacheConfig
from magray_lsp.errors import PrivacyViolation


def answer(text: str, *, private: bool) -> CachedAnswer:
    return CachedAnswer(text=text, provider="ollama", model="llama3.1", private=private)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
async def cache(tmp_path: Path, redis_server: RedisServer) -> AsyncIterator[ResponseCache]:
    store = ResponseCache(CacheConfig(dir=str(tmp_path / "disk"), redis_url=redis_server.url))
    yield store
    await store.aclose()


async def keys(raw: Redis) -> set[bytes]:
    return {k async for k in raw.scan_iter(match=KEY_PREFIX + "*")}


async def test_a_private_answer_is_kept_in_memory_and_on_disk_only(
    cache: ResponseCache, raw: Redis, tmp_path: Path, redis_server: RedisServer
) -> None:
    await cache.put("secret", answer("private code, rewritten", private=True))
    await cache.put("public", answer("an ordinary answer", private=False))
    assert await keys(raw) == {(KEY_PREFIX + "public").encode()}
    hit = await cache.get("secret")
    assert hit is not None and hit[1] == "memory" and hit[0].private
    # a second cache on the same disk finds it there (so it really was stored on this machine)
    again = ResponseCache(CacheConfig(dir=str(tmp_path / "disk"), redis_url=redis_server.url))
    try:
        found = await again.get("secret")
        assert found is not None and found[1] == "disk" and found[0].private
        # ... and a disk hit is promoted to memory, but not to Redis
        assert await keys(raw) == {(KEY_PREFIX + "public").encode()}
        public = await again.get("public")
        assert public is not None and public[1] == "redis"
    finally:
        await again.aclose()


async def test_a_public_disk_hit_is_still_promoted_to_redis(
    tmp_path: Path, redis_server: RedisServer, raw: Redis
) -> None:
    offline = ResponseCache(CacheConfig(dir=str(tmp_path / "disk")))
    await offline.put("k", answer("shared later", private=False))
    await offline.put("p", answer("mine only", private=True))
    await offline.aclose()
    online = ResponseCache(CacheConfig(dir=str(tmp_path / "disk"), redis_url=redis_server.url))
    try:
        assert (await online.get("k")) is not None
        assert (await online.get("p")) is not None
    finally:
        await online.aclose()
    assert await keys(raw) == {(KEY_PREFIX + "k").encode()}


async def test_the_redis_tier_itself_refuses_a_private_entry(
    redis_server: RedisServer, raw: Redis
) -> None:
    warnings: list[str] = []
    tier = RedisTier(redis_server.url, on_warning=warnings.append)
    try:
        with pytest.raises(PrivacyViolation, match="private answer"):
            await tier.put("k", Record(answer("x", private=True), None), 60)
        assert await keys(raw) == set()
        await tier.put("k", Record(answer("x", private=False), None), 60)
        assert await keys(raw) == {(KEY_PREFIX + "k").encode()}
    finally:
        await tier.aclose()
    assert warnings == []


def test_privacy_survives_the_json_round_trip_and_garbage_is_a_miss() -> None:
    private, public = answer("x", private=True), answer("x", private=False)
    assert CachedAnswer.from_json(private.to_json()) == private
    assert CachedAnswer.from_json(public.to_json()) == public
    body = private.to_dict()
    body["private"] = "yes"
    assert CachedAnswer.from_dict(body) is None
    del body["private"]  # written before the field existed
    restored = CachedAnswer.from_dict(body)
    assert restored is not None and not restored.private
