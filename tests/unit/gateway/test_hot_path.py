"""The gateway's hot path: what it does per chunk and per answer, and what it leaves for later.

Each chunk reaches the caller as soon as the provider sends it (also through a shared flight),
checked by the answer guard; a fresh answer returns once its ledger row is committed but before
the disk cache has it; cache hits that arrive together share ledger transactions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.unit.gateway.conftest import task
from tests.unit.gateway.test_durability import committed

from magray_lsp.cache import ResponseCache, cache_key
from magray_lsp.config.models import CacheConfig
from magray_lsp.gateway import Gateway, Outcome
from magray_lsp.providers.base import TextDelta

MakeGateway = Callable[..., Gateway]


def committed_ids(gw: Gateway) -> set[str]:
    """The rows that are durable now: in the ledger, or in its row journal."""
    return set(committed(gw))


async def test_the_guard_checks_what_the_gateway_passes_on(
    make_gateway: MakeGateway, primary: FakeOpenAI, secondary: FakeAnthropic
) -> None:
    gw = make_gateway(limits={"max_answer_chars": 1000})
    primary.default = Reply(text="x" * 1001)  # one chunk over the limit: nothing reached the caller
    outcome = await gw.run(task())
    assert outcome.ref.provider == "anthropic"
    assert any("AnswerTooLong" in a for a in outcome.attempts)
    primary.default = Reply(text="a \ud800 b")  # a lone surrogate escaped in the JSON
    events = [e async for e in gw.stream(task())]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "a \ufffd b" and isinstance(events[-1], Outcome)
    assert events[-1].ref.provider == "openai"


async def test_a_flight_forwards_each_chunk_before_the_next_arrives(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    gw = make_gateway(cache=True)  # a cache key: the call runs in a shared flight's task
    primary.default = Reply(chunks=["one", " two", " three"], chunk_delay=0.3)
    seen: list[tuple[str, float]] = []
    async for event in gw.stream(task(key="live")):
        if isinstance(event, TextDelta):
            seen.append((event.text, time.monotonic()))
    assert [text for text, _ in seen] == ["one", " two", " three"]
    # every chunk came on its own, not buffered until the flight ended
    assert seen[1][1] - seen[0][1] > 0.15 and seen[2][1] - seen[1][1] > 0.15


async def test_a_fresh_answer_does_not_wait_for_the_disk_cache(
    make_gateway: MakeGateway, primary: FakeOpenAI, tmp_path: Any
) -> None:
    gw = make_gateway(cache=True)
    assert gw.cache is not None
    disk = gw.cache._disk
    release = asyncio.Event()
    original = disk.put

    async def slow_put(*args: Any, **kwargs: Any) -> None:
        await release.wait()  # the disk write hangs until the test lets it go
        await original(*args, **kwargs)

    disk.put = slow_put  # type: ignore[method-assign]
    fresh = await asyncio.wait_for(gw.run(task(key="k")), 10)
    assert fresh.request_id in committed_ids(gw)  # acknowledged with its row committed
    hit = await gw.run(task(key="k"))  # the memory tier has it already
    assert hit.cached and len(primary.requests) == 1
    flushing = asyncio.ensure_future(gw.flush())
    await asyncio.sleep(0.05)
    assert not flushing.done()  # flush waits for the disk write
    release.set()
    await asyncio.wait_for(flushing, 10)
    other = ResponseCache(CacheConfig(dir=str(tmp_path / "cache")))  # another process's view
    try:
        found = await other.get(gw.key_for(task(key="k")) or "")
        assert found is not None and found[1] == "disk" and found[0].text == fresh.text
    finally:
        await other.aclose()


async def test_cache_hits_that_arrive_together_share_ledger_transactions(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    gw = make_gateway(cache=True)
    await gw.run(task(key="hot"))
    await gw.flush()
    batches, writes = gw.writer.batches, gw.writer.writes
    hits = await asyncio.gather(*(gw.run(task(key="hot")) for _ in range(40)))
    assert all(h.cached for h in hits)
    assert {h.request_id for h in hits} <= committed_ids(gw)  # each returned once durable
    assert gw.writer.flush(30)  # the journal's records, into the ledger
    assert gw.writer.writes - writes == 40
    assert gw.writer.batches - batches < 40  # group commit, not one transaction per hit


async def test_cache_keys_are_remembered_by_everything_they_depend_on(
    make_gateway: MakeGateway,
) -> None:
    gw = make_gateway(cache=True)
    base = task(key="k")
    variants = [
        base,
        task(key="k2"),
        task("document", key="k"),
        replace(base, max_output_tokens=99),
        replace(base, extra={"template": "v2"}),
        replace(base, extra={"context_hash": "h"}),
        replace(base, model_pin="anthropic.default"),
        replace(base, prompt="another prompt, same key"),  # the key does not read the prompt
    ]
    keys = [gw.key_for(t) for t in variants]
    assert len(set(keys)) == len(variants) - 1 and keys[-1] == keys[0]
    assert keys == [gw.key_for(t) for t in variants]  # remembered
    assert keys == [gw.runs.compute_key(t) for t in variants]  # as computed afresh


async def test_cache_keys_follow_the_configuration_a_gateway_was_made_with(
    make_gateway: MakeGateway,
) -> None:
    """The providers' defaults are made canonical once per gateway: a reloaded configuration
    (a new gateway) with other defaults or another routing policy gets other keys, each equal to
    `cache_key` of its own parts."""
    t = task(key="k")
    made = [
        make_gateway(cache=True),
        make_gateway(cache=True, llm={"openai": {"defaults": {"temperature": 0.1}}}),
        make_gateway(cache=True, llm={"anthropic": {"defaults": {"top_p": 0.5}}}),
        make_gateway(cache=True, routing={"default": "anthropic.default"}),
    ]
    keys = [gw.key_for(t) for gw in made]
    assert len(set(keys)) == len(made)
    for gw, found in zip(made, keys, strict=True):
        routing = gw.config.routing
        assert found == cache_key(
            action=t.action_name,
            template_version="",
            target_key="k",
            context_hash="",
            params={
                "providers": {
                    name: cfg.defaults.model_dump(exclude_none=True)
                    for name, cfg in gw.catalog.sections.items()
                },
                "max_output_tokens": t.max_output_tokens,
            },
            policy=f"auto:{sorted(routing.rules.items())}:{routing.default}",
        )


async def test_a_finished_request_leaves_nothing_open_and_its_row_never_touches_sqlite_inline(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    for cache in (False, True):  # without a key, and through a shared flight
        gw = make_gateway(cache=cache)
        for i in range(3):
            await gw.run(task(key=f"k{i}" if cache else ""))
            assert gw.rows.in_flight == 0  # closed now, not later by the garbage collector's hook
        # each row journaled: none committed to SQLite on the loop's thread
        assert gw.writer.inline == 0 and gw.writer.flush(30) and gw.writer.writes == 3
