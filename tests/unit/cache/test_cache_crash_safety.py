"""A disk cache left broken by a crash (or anything else) is a miss, never an error: corrupt
entries are deleted, a corrupt index is moved aside and replaced by a fresh one."""

from __future__ import annotations

from pathlib import Path

import pytest

from magray_lsp.cache import CachedAnswer, ResponseCache, responses_dir
from magray_lsp.config.models import CacheConfig


def ans(text: str = "an answer") -> CachedAnswer:
    return CachedAnswer(text=text, provider="openai", model="gpt-4o-mini", created_at=1.7e9)


async def roundtrip(directory: Path, warnings: list[str]) -> tuple[CachedAnswer, str] | None:
    writer = ResponseCache(CacheConfig(dir=str(directory)), on_warning=warnings.append)
    await writer.put("k", ans())
    await writer.aclose()
    reader = ResponseCache(CacheConfig(dir=str(directory)), on_warning=warnings.append)
    try:
        return await reader.get("k")
    finally:
        await reader.aclose()


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
async def test_a_corrupt_index_is_moved_aside_and_the_cache_keeps_working(
    tmp_path: Path, damage: str
) -> None:
    directory = tmp_path / "cache"
    warnings: list[str] = []
    assert await roundtrip(directory, warnings) == (ans(), "disk")
    index = responses_dir(str(directory)) / "cache.db"
    raw = index.read_bytes()
    index.write_bytes(b"\x00garbage, not SQLite\xff" * 100 if damage == "garbage" else raw[:100])

    assert await roundtrip(directory, warnings) == (ans(), "disk")  # a fresh index, in use
    assert warnings == []
    moved = list(index.parent.glob("cache.db.corrupt-*"))
    assert moved, "the corrupt index is kept for a post-mortem"


async def test_a_torn_value_file_is_a_deleted_miss(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    warnings: list[str] = []
    big = ans("x" * 100_000)  # large values live in their own file next to the index
    cache = ResponseCache(CacheConfig(dir=str(directory)), on_warning=warnings.append)
    await cache.put("big", big)
    await cache.aclose()
    [value_file] = [p for p in responses_dir(str(directory)).rglob("*.val")]
    value_file.write_bytes(b'{"v": 1, "answer": {"text": "xx\xff\xfe torn')

    fresh = ResponseCache(CacheConfig(dir=str(directory)), on_warning=warnings.append)
    try:
        assert await fresh.get("big") is None
        assert warnings == []
        await fresh.put("big", big)  # and the key is usable again
        assert (await fresh.get("big")) == (big, "memory")
    finally:
        await fresh.aclose()
    again = ResponseCache(CacheConfig(dir=str(directory)))
    try:
        assert await again.get("big") == (big, "disk")
    finally:
        await again.aclose()
