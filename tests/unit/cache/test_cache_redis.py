"""The Redis tier against a real redis-server: team sharing, Redis down at start, Redis killed
mid-run (SIGKILL), and Redis coming back after the reconnect interval."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from tests.redis_server import RedisServer, free_port

from magray_lsp.cache import KEY_PREFIX, CachedAnswer, Record, ResponseCache, mask_url
from magray_lsp.config.models import CacheConfig

PASSWORD = "s3cret-team-pass"


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ans(text: str = "an answer") -> CachedAnswer:
    return CachedAnswer(text=text, provider="anthropic", model="claude", created_at=1.0)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", password=PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def raw_redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


Factory = Callable[..., ResponseCache]


@pytest.fixture
async def make_cache(tmp_path: Path) -> AsyncIterator[Factory]:
    made: list[ResponseCache] = []

    def make(name: str, url: str, warnings: list[str] | None = None, **kw: Any) -> ResponseCache:
        cfg = CacheConfig(dir=str(tmp_path / name), redis_url=url)
        cache = ResponseCache(cfg, on_warning=None if warnings is None else warnings.append, **kw)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        await cache.aclose()


def assert_no_secret(messages: list[str]) -> None:
    for m in messages:
        assert PASSWORD not in m, m


def test_mask_url() -> None:
    assert mask_url("redis://:pw123@host:6379/0") == "redis://:***@host:6379/0"
    assert mask_url("rediss://alice:p%40ss@h/1") == "rediss://alice:***@h/1"
    assert mask_url("redis://alice@h:1") == "redis://alice@h:1"
    assert (
        mask_url("unix:///tmp/r.sock?db=2&password=pw123") == "unix:///tmp/r.sock?db=2&password=***"
    )
    assert mask_url("redis://localhost") == "redis://localhost"


async def test_team_shares_answers_through_redis(
    redis_server: RedisServer, raw_redis: Redis, make_cache: Factory
) -> None:
    warnings: list[str] = []
    alice = make_cache("alice", redis_server.url, warnings)
    bob = make_cache("bob", redis_server.url, warnings)
    await alice.put("k", ans("from alice"), ttl_seconds=3600)

    stored = await raw_redis.get(KEY_PREFIX + "k")
    assert stored is not None and Record.from_json(stored) is not None
    assert 3500 < await raw_redis.ttl(KEY_PREFIX + "k") <= 3600

    assert await bob.get("k") == (ans("from alice"), "redis")
    assert await bob.get("k") == (ans("from alice"), "memory")  # promoted to memory...
    bob_disk_only = ResponseCache(CacheConfig(dir=bob.cfg.dir))
    try:
        assert await bob_disk_only.get("k") == (ans("from alice"), "disk")  # ...and to disk
    finally:
        await bob_disk_only.aclose()
    assert warnings == []
    assert bob.redis_url is not None and PASSWORD not in bob.redis_url


async def test_disk_hit_is_promoted_to_redis(
    redis_server: RedisServer, raw_redis: Redis, make_cache: Factory, tmp_path: Path
) -> None:
    local = ResponseCache(CacheConfig(dir=str(tmp_path / "carol")))
    await local.put("k", ans("carol's"), ttl_seconds=100)
    await local.aclose()
    carol = make_cache("carol", redis_server.url)
    assert await carol.get("k") == (ans("carol's"), "disk")
    assert 0 < await raw_redis.ttl(KEY_PREFIX + "k") <= 100
    assert await make_cache("dave", redis_server.url).get("k") == (ans("carol's"), "redis")


async def test_corrupt_redis_entry_is_a_miss_and_deleted(
    redis_server: RedisServer, raw_redis: Redis, make_cache: Factory
) -> None:
    await raw_redis.set(KEY_PREFIX + "bad", b"\x80\x04garbage-that-is-not-json")
    await raw_redis.set(KEY_PREFIX + "shape", b'{"v": 1, "answer": {"text": 3}}')
    warnings: list[str] = []
    cache = make_cache("a", redis_server.url, warnings)
    assert await cache.get("bad") is None
    assert await cache.get("shape") is None
    assert await raw_redis.exists(KEY_PREFIX + "bad", KEY_PREFIX + "shape") == 0
    assert warnings == []


async def test_clear_removes_only_our_prefix(
    redis_server: RedisServer, raw_redis: Redis, make_cache: Factory
) -> None:
    await raw_redis.set("someone-else:key", b"keep me")
    await raw_redis.set("magray:v2:future", b"not ours either")
    a = make_cache("a", redis_server.url)
    b = make_cache("b", redis_server.url)
    for i in range(700):  # more than one SCAN batch
        await b.put(f"k{i}", ans())
    await a.put("mine", ans())
    assert await a.clear() == 701
    assert await raw_redis.get("someone-else:key") == b"keep me"
    assert await raw_redis.get("magray:v2:future") == b"not ours either"
    assert [k async for k in raw_redis.scan_iter(match=KEY_PREFIX + "*")] == []
    assert await make_cache("c", redis_server.url).get("k7") is None


async def test_redis_down_at_start_warns_once_and_memory_and_disk_work(
    tmp_path: Path, make_cache: Factory
) -> None:
    dead = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"  # nothing listens there
    warnings: list[str] = []
    cache = make_cache("a", dead, warnings, redis_retry_seconds=0)  # retries every call
    assert await cache.get("k") is None
    await cache.put("k", ans())
    assert await cache.get("k") == (ans(), "memory")
    assert await cache.get("other") is None
    await cache.put("k2", ans())
    assert await cache.clear() == 2
    await cache.put("k3", ans())
    second = make_cache("a", dead, warnings)
    assert await second.get("k3") == (ans(), "disk")
    # One warning per cache instance, whatever the number of failed calls; no password in it.
    assert len(warnings) == 2
    assert "redis://:***@127.0.0.1" in warnings[0]
    assert_no_secret(warnings)


async def test_redis_killed_mid_run_degrades_with_one_warning(
    redis_server: RedisServer, make_cache: Factory
) -> None:
    warnings: list[str] = []
    cache = make_cache("a", redis_server.url, warnings)
    await cache.put("before", ans("before"))
    assert warnings == []

    redis_server.kill()  # SIGKILL

    assert await cache.get("before") == (ans("before"), "memory")
    assert await cache.get("missing") is None  # goes to Redis: fails, warns, falls to disk
    await cache.put("after", ans("after"))
    assert await cache.get("after") == (ans("after"), "memory")
    for i in range(20):
        await cache.put(f"x{i}", ans())
        assert await cache.get(f"y{i}") is None
    assert len(warnings) == 1
    assert "unavailable" in warnings[0]
    assert_no_secret(warnings)
    disk_only = ResponseCache(CacheConfig(dir=cache.cfg.dir))
    try:
        assert await disk_only.get("after") == (ans("after"), "disk")
    finally:
        await disk_only.aclose()


async def test_redis_is_used_again_after_the_reconnect_interval(
    redis_server: RedisServer, make_cache: Factory
) -> None:
    clock = FakeClock()
    warnings: list[str] = []
    cache = make_cache("a", redis_server.url, warnings, clock=clock, redis_retry_seconds=30)
    await cache.put("k", ans())

    redis_server.kill()
    assert await cache.get("x") is None
    assert len(warnings) == 1

    redis_server.start()  # same port, empty
    teammate = make_cache("b", redis_server.url)
    await teammate.put("shared", ans("from teammate"))

    clock.now += 29  # still inside the interval: Redis is not even tried
    assert await cache.get("shared") is None
    clock.now += 1
    assert await cache.get("shared") == (ans("from teammate"), "redis")
    await cache.put("back", ans("back"))
    assert await teammate.get("back") == (ans("back"), "redis")
    assert len(warnings) == 1


async def test_failed_reconnect_probe_does_not_warn_again(
    redis_server: RedisServer, make_cache: Factory
) -> None:
    clock = FakeClock()
    warnings: list[str] = []
    cache = make_cache("a", redis_server.url, warnings, clock=clock, redis_retry_seconds=30)
    await cache.put("k", ans())
    redis_server.kill()
    for _ in range(5):
        assert await cache.get("x") is None
        clock.now += 31  # every call is a reconnect probe, every probe fails
    assert len(warnings) == 1


async def test_invalid_redis_url_warns_once(make_cache: Factory) -> None:
    warnings: list[str] = []
    cache = make_cache("a", f"http://:{PASSWORD}@example.invalid", warnings)
    await cache.put("k", ans())
    assert await cache.get("k") == (ans(), "memory")
    assert await cache.get("z") is None
    assert len(warnings) == 1 and "invalid redis_url" in warnings[0]
    assert_no_secret(warnings)


async def test_hung_redis_times_out_into_one_warning(make_cache: Factory) -> None:
    """A Redis that accepts connections but never answers costs one short timeout, not a stall."""
    accepted: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # never reply

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        warnings: list[str] = []
        cache = make_cache("a", f"redis://127.0.0.1:{port}/0", warnings)
        assert await cache.get("k") is None
        await cache.put("k", ans())
        assert await cache.get("k") == (ans(), "memory")
        assert len(warnings) == 1 and "Timeout" in warnings[0]
        assert len(accepted) == 1  # the second and third calls did not even try
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_refused_command_warns_once_and_redis_stays_in_use(
    redis_server: RedisServer, raw_redis: Redis, make_cache: Factory
) -> None:
    await raw_redis.rpush(KEY_PREFIX + "a-list", b"x")  # GET on it is WRONGTYPE
    warnings: list[str] = []
    cache = make_cache("a", redis_server.url, warnings)
    assert await cache.get("a-list") is None
    assert await cache.get("a-list") is None
    assert len(warnings) == 1 and "refused" in warnings[0]
    await make_cache("b", redis_server.url).put("k", ans("shared"))
    assert await cache.get("k") == (ans("shared"), "redis")
