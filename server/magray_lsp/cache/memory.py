"""L1: an in-process LRU of answers with a per-entry TTL on the monotonic clock."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from magray_lsp.cache.entry import CachedAnswer


class MemoryTier:
    """At most ``max_entries`` answers; the least recently used one goes first.

    ``max_entries = 0`` disables the tier. Expiry uses ``clock`` (monotonic by default, so a
    wall-clock jump neither expires nor revives entries); tests inject a fake one.
    """

    def __init__(self, max_entries: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be >= 0")
        self.max_entries = max_entries
        self._clock = clock
        # key -> (answer, deadline on `clock` or None for no expiry)
        self._items: OrderedDict[str, tuple[CachedAnswer, float | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: str) -> CachedAnswer | None:
        item = self._items.get(key)
        if item is None:
            return None
        answer, deadline = item
        if deadline is not None and self._clock() >= deadline:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return answer

    def put(self, key: str, answer: CachedAnswer, ttl_seconds: float | None) -> None:
        """Keep ``answer`` ``ttl_seconds`` (``None``: until evicted); ``<= 0`` stores nothing."""
        if self.max_entries == 0:
            return
        if ttl_seconds is not None and ttl_seconds <= 0:
            self._items.pop(key, None)
            return
        deadline = None if ttl_seconds is None else self._clock() + ttl_seconds
        self._items[key] = (answer, deadline)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def delete(self, key: str) -> bool:
        return self._items.pop(key, None) is not None

    def clear(self) -> list[str]:
        """Drop everything; return the keys that were held."""
        keys = list(self._items)
        self._items.clear()
        return keys
