"""Answer cache: memory → Redis → disk, cache keys, and single-flight deduplication."""

from magray_lsp.cache.disk import DiskTier, responses_dir
from magray_lsp.cache.entry import CachedAnswer, Record
from magray_lsp.cache.keys import KeyMaker, cache_key, canonical_json
from magray_lsp.cache.memory import MemoryTier
from magray_lsp.cache.redis_tier import KEY_PREFIX, RedisTier, mask_url
from magray_lsp.cache.singleflight import SingleFlight
from magray_lsp.cache.store import ResponseCache, Tier

__all__ = [
    "KEY_PREFIX",
    "CachedAnswer",
    "DiskTier",
    "KeyMaker",
    "MemoryTier",
    "Record",
    "RedisTier",
    "ResponseCache",
    "SingleFlight",
    "Tier",
    "cache_key",
    "canonical_json",
    "mask_url",
    "responses_dir",
]
