"""L1 memory tier: LRU order and per-entry TTL on an injected clock."""

from __future__ import annotations

import pytest

from magray_lsp.cache import CachedAnswer, MemoryTier


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ans(text: str) -> CachedAnswer:
    return CachedAnswer(text=text, provider="p", model="m", created_at=1.0)


def test_lru_evicts_least_recently_used() -> None:
    mem = MemoryTier(3)
    for k in "abc":
        mem.put(k, ans(k), None)
    assert mem.get("a") == ans("a")  # a is now the most recent
    mem.put("d", ans("d"), None)  # evicts b
    assert mem.get("b") is None
    assert [k for k in "acd" if mem.get(k)] == ["a", "c", "d"]
    mem.put("c", ans("c2"), None)  # overwrite refreshes recency, keeps size
    mem.put("e", ans("e"), None)  # evicts a (order now: d, c, e)
    assert len(mem) == 3 and "a" not in mem
    assert mem.get("c") == ans("c2")


def test_ttl_expires_on_the_injected_clock() -> None:
    clock = FakeClock()
    mem = MemoryTier(10, clock=clock)
    mem.put("short", ans("s"), 5)
    mem.put("long", ans("l"), 60)
    mem.put("forever", ans("f"), None)
    clock.now += 4.9
    assert mem.get("short") == ans("s")
    clock.now += 0.1
    assert mem.get("short") is None
    assert "short" not in mem  # expired entries are dropped on read
    clock.now += 55
    assert mem.get("long") is None
    clock.now += 10**9
    assert mem.get("forever") == ans("f")


def test_zero_size_and_nonpositive_ttl_store_nothing() -> None:
    off = MemoryTier(0)
    off.put("k", ans("k"), None)
    assert off.get("k") is None and len(off) == 0
    mem = MemoryTier(2)
    mem.put("k", ans("k"), None)
    mem.put("k", ans("k"), 0)
    assert mem.get("k") is None
    with pytest.raises(ValueError):
        MemoryTier(-1)


def test_delete_and_clear() -> None:
    mem = MemoryTier(5)
    mem.put("a", ans("a"), None)
    mem.put("b", ans("b"), None)
    assert mem.delete("a") and not mem.delete("a")
    assert mem.clear() == ["b"]
    assert len(mem) == 0
