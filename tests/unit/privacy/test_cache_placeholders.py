"""Placeholders in cached and shared answers are restored from the current request only."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for
from tests.unit.gateway.conftest import task

from magray_lsp.gateway import Fallback, Gateway, Outcome
from magray_lsp.task import Task

MakeGateway = Callable[..., Gateway]
REMOTE = {"openai": {"remote": True}, "anthropic": {"remote": True}}

ADMIN = "admin@corp.example.com"
BOB = "bob@corp.example.com"
#: what a remote model answers: it only ever saw the placeholder
SEND = 'def notify():\n    send("<EMAIL_1>")\n'


def notify_task(code: str) -> Task:
    """A refactor of `notify`; the cache key is the same whatever the comments around it say."""
    return dataclasses.replace(
        task(action="refactor", key="notify"), prompt=f"Refactor:\n```python\n{code}```"
    )


def notify(address: str, *, above: str = "") -> str:
    return f'{above}def notify():\n    send("{address}")\n'


def posts(server: FakeOpenAI) -> int:
    return sum(1 for r in server.requests if r.method == "POST")


async def stream(gw: Gateway, asked: Task) -> tuple[list[object], Outcome]:
    events: list[object] = [e async for e in gw.stream(asked)]
    assert isinstance(events[-1], Outcome)
    return events, events[-1]


async def test_a_cached_placeholder_without_a_value_now_is_never_returned(
    make_gateway: MakeGateway, cloud: FakeOpenAI
) -> None:
    cloud.script(Reply(text=SEND), Reply(text="def notify():\n    send(ADDRESS)\n"))
    gw = make_gateway(llm=REMOTE, cache=True)
    first = await gw.run(notify_task(notify(ADMIN)))
    assert first.text == notify(ADMIN)
    # the address became a constant, in a comment-free way the key does not see
    events, outcome = await stream(gw, notify_task("def notify():\n    send(ADDRESS)\n"))
    assert posts(cloud) == 2 and not outcome.cached
    assert outcome.text == "def notify():\n    send(ADDRESS)\n"
    text = "".join(getattr(e, "text", "") for e in events if not isinstance(e, Outcome))
    assert "<EMAIL" not in text and ADMIN not in text  # never shown, not even streamed
    [notice] = [e for e in events if isinstance(e, Fallback)]
    assert notice.failed == "cache" and "<EMAIL_1>, which this request has no value for" in (
        notice.error
    )


async def test_a_renumbered_placeholder_falls_through_instead_of_taking_another_value(
    make_gateway: MakeGateway, cloud: FakeOpenAI
) -> None:
    cloud.script(
        Reply(text=SEND),
        # in the new prompt admin is <EMAIL_2>: bob's comment above took <EMAIL_1>
        Reply(text='def notify():\n    send("<EMAIL_2>")\n'),
    )
    gw = make_gateway(llm=REMOTE, cache=True)
    await gw.run(notify_task(notify(ADMIN)))
    _, outcome = await stream(gw, notify_task(notify(ADMIN, above=f"# ask {BOB}\n")))
    assert posts(cloud) == 2
    assert outcome.text == notify(ADMIN)  # a cache hit would have sent mail to bob


async def test_each_follower_gets_its_own_values_not_the_leader_s(
    make_gateway: MakeGateway, cloud: FakeOpenAI
) -> None:
    # Two files with the same function under different owner comments: an explanation's key
    # ignores comments, so the requests share one call — and each answer names its own owner.
    cloud.default = Reply(text="It mails the owner, <EMAIL_1>.", chunk_delay=0.3)
    gw = make_gateway(llm=REMOTE, cache=True)

    def explain(owner: str) -> Task:
        code = notify("ADDRESS", above=f"# owner: {owner}\n")
        return dataclasses.replace(notify_task(code), action="explain")

    leader = asyncio.ensure_future(stream(gw, explain(ADMIN)))
    await wait_for(lambda: posts(cloud) == 1)
    _, follower = await stream(gw, explain(BOB))
    _, led = await leader
    assert posts(cloud) == 1 and follower.coalesced
    assert led.text == f"It mails the owner, {ADMIN}."
    assert follower.text == f"It mails the owner, {BOB}."


async def test_a_fresh_answer_with_an_invented_placeholder_is_not_cached(
    make_gateway: MakeGateway, cloud: FakeOpenAI
) -> None:
    cloud.default = Reply(text='def notify():\n    send("<EMAIL_9>")\n')
    gw = make_gateway(llm=REMOTE, cache=True)
    for _ in range(2):
        outcome = await gw.run(notify_task(notify(ADMIN)))
        assert not outcome.cached  # (refusing it as an edit is the edit checks' job)
    assert posts(cloud) == 2
