"""Cached and shared answers pass the current request's `accept` before they are used."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for
from tests.unit.gateway.conftest import task
from tests.unit.gateway.test_gateway import chats

from magray_lsp.gateway import Accept, Fallback, Gateway, Outcome

MakeGateway = Callable[..., Gateway]


def named(name: str) -> Accept:
    """An edit check like the refactor's: the answer must still define the unit's name."""

    def accept(text: str) -> str | None:
        return None if f"def {name}(" in text else f"refactor: the unit is now called `{name}`"

    return accept


async def test_a_cached_answer_that_no_longer_fits_falls_through_and_is_replaced(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.script(Reply(text="def total(): pass"), Reply(text="def grand_total(): pass"))
    gw = make_gateway(cache=True)
    first = await gw.run(task(key="unit"), accept=named("total"))
    assert first.text == "def total(): pass" and chats(primary) == 1

    events, outcome = await collect_with(gw, named("grand_total"))
    assert chats(primary) == 2  # the model was asked again
    assert outcome.text == "def grand_total(): pass" and not outcome.cached
    [notice] = [e for e in events if isinstance(e, Fallback)]
    assert notice.failed == "cache" and notice.next == "openai.default"
    assert "does not fit: refactor: the unit is now called `grand_total`" in notice.error
    assert outcome.attempts[0] == f"cache: {notice.error}"
    # the stale entry was replaced by the fresh answer, which the next request gets for free
    again = await gw.run(task(key="unit"), accept=named("grand_total"))
    assert again.cached and again.text == "def grand_total(): pass" and again.attempts == ()
    assert chats(primary) == 2
    await gw.flush()
    assert [r.cached for r in reversed(gw.ledger.recent())] == [False, False, True]


async def test_a_cached_answer_that_fits_is_checked_with_the_restored_text(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    primary.default = Reply(text="def total(): pass")
    gw = make_gateway(cache=True)
    await gw.run(task(key="unit"))
    seen: list[str] = []

    def accept(text: str) -> str | None:
        seen.append(text)
        return None

    hit = await gw.run(task(key="unit"), accept=accept)
    assert hit.cached and seen == ["def total(): pass"] and chats(primary) == 1


async def test_a_follower_gets_the_shared_answer_only_if_its_own_check_passes(
    make_gateway: MakeGateway, primary: FakeOpenAI
) -> None:
    # One key, three requests while the first is answered. Two share its answer; one's document
    # is different (its check refuses that answer), so it asks for an answer of its own.
    primary.script(
        Reply(text="def total(): pass", chunk_delay=0.3), Reply(text="def grand_total(): pass")
    )
    gw = make_gateway(cache=True)
    leader = asyncio.ensure_future(collect_with(gw, named("total")))
    await wait_for(lambda: chats(primary) == 1)
    same, other = await asyncio.gather(
        collect_with(gw, named("total")), collect_with(gw, named("grand_total"))
    )
    (_, led), (_, shared), (events, own) = await leader, same, other
    assert led.text == shared.text == "def total(): pass" and shared.coalesced
    assert own.text == "def grand_total(): pass" and not own.coalesced
    assert [(e.failed, e.next) for e in events if isinstance(e, Fallback)] == [
        ("shared answer", "openai.default")
    ]
    assert own.attempts == ("shared answer: refactor: the unit is now called `grand_total`",)
    assert chats(primary) == 2


async def collect_with(gw: Gateway, accept: Accept) -> tuple[list[object], Outcome]:
    events: list[object] = [e async for e in gw.stream(task(key="unit"), accept=accept)]
    assert isinstance(events[-1], Outcome)
    return events, events[-1]
