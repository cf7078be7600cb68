"""ResponseCache over memory and disk: persistence across instances and processes, TTL,
corrupt entries, promotion, clear() and the disabled switch."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import diskcache
import pytest

from magray_lsp.cache import CachedAnswer, ResponseCache, responses_dir
from magray_lsp.config.models import CacheConfig


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ans(text: str = "an answer", **kw: Any) -> CachedAnswer:
    kw.setdefault("created_at", 1_700_000_000.0)
    return CachedAnswer(text=text, provider="openai", model="gpt-4o-mini", **kw)


Factory = Callable[..., ResponseCache]


@pytest.fixture
async def make_cache(tmp_path: Path) -> AsyncIterator[Factory]:
    made: list[ResponseCache] = []

    def make(
        cache_dir: Path | None = None, warnings: list[str] | None = None, **kw: Any
    ) -> ResponseCache:
        cfg_kw = {k: kw.pop(k) for k in list(kw) if k in CacheConfig.model_fields}
        cfg = CacheConfig(dir=str(cache_dir or tmp_path / "cache"), **cfg_kw)
        on_warning = warnings.append if warnings is not None else None
        cache = ResponseCache(cfg, on_warning=on_warning, **kw)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        await cache.aclose()


async def test_default_dir_is_under_xdg_cache_home(tmp_path: Path) -> None:
    cache = ResponseCache(CacheConfig())
    try:
        import os

        assert Path(cache.disk_dir) == Path(os.environ["XDG_CACHE_HOME"]) / "magray" / "responses"
        await cache.put("k", ans())
        assert await asyncio.to_thread(Path(cache.disk_dir).is_dir)
    finally:
        await cache.aclose()
    assert responses_dir("~/x") == Path.home() / "x" / "responses"


async def test_round_trip_through_memory(make_cache: Factory) -> None:
    cache = make_cache()
    a = ans(cost_usd=Decimal("0.0042"), input_tokens=10, output_tokens=3)
    assert await cache.get("k") is None
    await cache.put("k", a)
    assert await cache.get("k") == (a, "memory")
    assert cache.stats() == {
        "hits_memory": 1,
        "hits_redis": 0,
        "hits_disk": 0,
        "misses": 1,
        "puts": 1,
    }


async def test_disk_persists_across_instances_and_promotes(make_cache: Factory) -> None:
    first = make_cache()
    await first.put("k", ans("persisted"))
    await first.aclose()
    second = make_cache()
    assert await second.get("k") == (ans("persisted"), "disk")
    assert await second.get("k") == (ans("persisted"), "memory")  # promoted
    assert second.stats()["hits_disk"] == 1 and second.stats()["hits_memory"] == 1


_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from decimal import Decimal
    from magray_lsp.cache import CachedAnswer, ResponseCache
    from magray_lsp.config.models import CacheConfig

    async def main() -> None:
        directory, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
        cache = ResponseCache(CacheConfig(dir=directory))
        for i in range(count):
            text = f"{prefix} answer {i}"
            await cache.put(f"{prefix}-{i}", CachedAnswer(
                text=text, provider="child", model="m", cost_usd=Decimal("0.5")))
        await cache.aclose()
        print("ok")

    asyncio.run(main())
    """
)


async def test_disk_is_shared_across_processes(make_cache: Factory, tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    parent = make_cache(directory)
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD,
            str(directory),
            f"p{n}",
            "25",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for n in range(3)
    ]
    # The parent writes while the children do.
    for i in range(25):
        await parent.put(f"parent-{i}", ans(f"parent answer {i}"))
    for proc in writers:
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert out.strip() == b"ok"
    reader = make_cache(directory)
    for n in range(3):
        for i in range(25):
            got = await reader.get(f"p{n}-{i}")
            assert got is not None
            assert got[1] == "disk"
            assert got[0].text == f"p{n} answer {i}" and got[0].cost_usd == Decimal("0.5")
    assert (await reader.get("parent-24")) == (ans("parent answer 24"), "disk")


async def test_ttl_is_respected_on_disk(make_cache: Factory) -> None:
    wall = FakeClock(1_700_000_000.0)
    writer = make_cache(wall_clock=wall)
    await writer.put("k", ans(), ttl_seconds=60)

    wall.now += 59
    assert (await make_cache(wall_clock=wall).get("k")) == (ans(), "disk")
    wall.now += 1
    assert await make_cache(wall_clock=wall).get("k") is None


async def test_promoted_entry_keeps_its_remaining_ttl(make_cache: Factory) -> None:
    wall = FakeClock(1_700_000_000.0)
    mono = FakeClock(500.0)
    await make_cache(wall_clock=wall).put("k", ans(), ttl_seconds=60)
    wall.now += 50  # 10 s left
    reader = make_cache(wall_clock=wall, clock=mono)
    assert (await reader.get("k")) == (ans(), "disk")
    mono.now += 9
    assert (await reader.get("k")) == (ans(), "memory")
    mono.now += 2  # memory copy expired with the entry's own deadline, not a fresh TTL
    assert (await reader.get("k")) == (ans(), "disk")


async def test_default_ttl_and_zero_means_forever(make_cache: Factory) -> None:
    wall = FakeClock(1_700_000_000.0)
    writer = make_cache(wall_clock=wall, ttl_seconds=10)
    await writer.put("default", ans())
    await writer.put("forever", ans(), ttl_seconds=0)
    wall.now += 11
    reader = make_cache(wall_clock=wall)
    assert await reader.get("default") is None
    wall.now += 10 * 365 * 24 * 3600
    assert (await reader.get("forever")) == (ans(), "disk")
    with pytest.raises(ValueError):
        await writer.put("k", ans(), ttl_seconds=-1)


class _Exploit:
    """Unpickling this would create a file: proof that nothing is ever unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


async def test_corrupt_disk_entries_are_deleted_misses(make_cache: Factory, tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    marker = tmp_path / "pwned"
    with diskcache.Cache(str(responses_dir(str(directory)))) as raw:
        raw.set("not-json", "{{{")
        raw.set("wrong-shape", '{"v": 1, "expires_at": null, "answer": {"text": 1}}')
        raw.set("bytes", b"\x00\x01binary")
        raw.set("pickled", _Exploit(marker))
        raw.set("pickled-key-neighbour", "{}")
        raw.set(("a", "tuple", "key"), "{}")  # a pickled key from a foreign writer
    warnings: list[str] = []
    cache = make_cache(directory, warnings)
    for key in ("not-json", "wrong-shape", "bytes", "pickled", "pickled-key-neighbour"):
        assert await cache.get(key) is None, key
    assert not marker.exists()
    assert cache.stats()["misses"] == 5
    assert warnings == []
    await cache.aclose()
    with diskcache.Cache(str(responses_dir(str(directory)))) as raw:
        remaining = {k for k in raw.iterkeys() if isinstance(k, str)}
    assert remaining == set()
    # A corrupt entry is replaced by the next put as usual.
    fresh = make_cache(directory)
    await fresh.put("not-json", ans())
    assert (await make_cache(directory).get("not-json")) == (ans(), "disk")


async def test_clear_empties_memory_and_disk(make_cache: Factory) -> None:
    cache = make_cache()
    for k in ("a", "b", "c"):
        await cache.put(k, ans(k))
    other = make_cache()
    await other.put("d", ans("d"))
    assert await cache.clear() == 4  # distinct keys: a, b, c in memory+disk, d on disk
    for k in ("a", "b", "c", "d"):
        assert await cache.get(k) is None
    assert await make_cache().get("d") is None
    assert await cache.clear() == 0


async def test_disabled_cache_never_hits_and_never_writes(
    make_cache: Factory, tmp_path: Path
) -> None:
    cache = make_cache(tmp_path / "off", enabled=False)
    await cache.put("k", ans())
    assert await cache.get("k") is None
    assert not (tmp_path / "off").exists()
    assert cache.stats()["misses"] == 1 and cache.stats()["puts"] == 0


async def test_memory_entries_zero_still_uses_disk(make_cache: Factory) -> None:
    cache = make_cache(memory_entries=0)
    await cache.put("k", ans())
    assert (await cache.get("k")) == (ans(), "disk")
    assert (await cache.get("k")) == (ans(), "disk")


async def test_unusable_directory_warns_once_and_memory_still_works(
    make_cache: Factory, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    warnings: list[str] = []
    cache = make_cache(blocker / "cache", warnings)
    await cache.put("k", ans())
    assert (await cache.get("k")) == (ans(), "memory")
    assert await cache.get("other") is None
    await cache.put("k2", ans())
    assert len(warnings) == 1 and "disk cache" in warnings[0]


async def test_closed_cache_misses_quietly(make_cache: Factory) -> None:
    cache = make_cache()
    await cache.put("k", ans())
    await cache.aclose()
    await cache.aclose()
    assert await cache.get("k") is None
    await cache.put("k", ans())
