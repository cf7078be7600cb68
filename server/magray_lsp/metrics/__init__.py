"""Monitoring numbers, computed from the ledger with SQL aggregates, plus live in-process counters.

Independent of LSP and HTTP: ``magray-lsp stats``, ``magray.showUsage`` and a dashboard all render
the same ``summary`` dict (money as ``Decimal``; ``jsonable`` turns it into strings).

Fast at a million rows: the ledger keeps hourly rollups (folded in shortly after each insert), so a
query reads the rollup for the whole hours of the window and raw requests only for the partial
hours at its two ends and for the few rows not folded yet. The results are exact, not sampled.

Definitions (over the window ``since <= ts < until``):

- *success rate*: ``ok / (ok + error)``; cancelled and budget-refused requests are neither.
- *latency percentiles* (nearest rank) over successful, uncached requests. Each request stores a
  logarithmic ``latency_bucket``; counts per bucket come from the rollup, and only the one bucket
  holding the wanted rank is read in order (``ORDER BY latency_ms LIMIT 1 OFFSET k``).
- *requests/s*: requests ÷ window seconds; the window defaults to the first matching request → now.
- *cost per request*: known cost ÷ requests with a known cost; ``unpriced`` counts requests that
  used tokens at an unknown price.
- *fallback rate*: share of requests whose ``fallback_chain`` is non-empty.
- *cache hit rate*: share of requests answered from the cache; *saved*: the sum of ``saved_usd``,
  which the gateway records on a cache hit as what the cached answer cost when first paid for.
- *prompt cache*: input tokens that provider calls read from (``cache_read_tokens``) and wrote to
  (``cache_write_tokens``) the provider's prompt cache; *prompt_cache_saved_usd*: the sum over
  those calls of what they would have cost uncached minus what they cost (cache writes priced
  above input make it negative until they are read back).
- *provider attempts*: the provider that answered (or failed last) plus each provider in the
  request's ``fallback_chain`` (each of those failed). Cache hits and request-specific errors
  (``BadRequest``, ``ContentFiltered``, ``ContextTooLong``, ``InvalidAnswer``) are not attempts.
  Fallback items carry
  no error type, so a context-window fallback also counts against the provider that was too small.
- *uptime*: the mean, over time buckets (whole hours) with attempts, of the share that succeeded.
- *recovery time*: an outage opens at a provider's first failed attempt and closes at its next
  success (in the order requests were recorded, across every workspace); reported for outages
  that started in the window. An outage not yet over is ``ongoing_since``.
"""

from magray_lsp.metrics.summary import LiveCounters, jsonable, summary

__all__ = ["LiveCounters", "jsonable", "summary"]
