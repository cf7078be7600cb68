"""Defined actions through the real gateway and loopback providers: each output reads the
answer by syntax and goes through its acceptance checks (a refused answer falls back to the
next model), routing rules take the action's name, the cache keys on the action and input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.fakes.prompt_cache import PromptCache
from tests.helpers import sample_module

from magray_lsp.actions.defined import Inputs, run_defined
from magray_lsp.actions.definitions import action_set
from magray_lsp.actions.source import Location
from magray_lsp.actions.target import Target, target_from_location
from magray_lsp.context.edits import apply_edits
from magray_lsp.context.syntax_check import error_count
from magray_lsp.gateway import Fallback, Gateway

MakeGateway = Callable[..., Gateway]

CODE = """import math


def area(r):
    return math.pi * r * r


def perimeter(r):
    return 2 * math.pi * r
"""
ACTIONS: dict[str, Any] = {
    "variant": {
        "prompt": "Write a variant of {unit} taking a diameter:\n{code}",
        "output": "insert_below",
    },
    "banner": {"prompt": "A comment banner for {unit}", "output": "insert_above"},
    "review": {"prompt": "Review {code}", "output": "show"},
    "tidy": {
        "prompt": "Tidy these lines: {input}\n{code}",
        "output": "replace",
        "requires": "selection",
    },
    "french": {"prompt": "Document {unit} in French", "output": "replace", "task": "document"},
}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "geometry.py"
    path.write_text(CODE)
    return path


def gateway(make: MakeGateway, **extra: Any) -> Gateway:
    return make(actions=ACTIONS, **extra)


async def run(gw: Gateway, name: str, target: Target, **kw: Any) -> Any:
    action = action_set(gw.catalog).get(name)
    assert action is not None, action_set(gw.catalog).problems
    return await run_defined(gw, action, target, Inputs(**kw))


async def test_insert_below_adds_a_definition_and_refuses_one_that_repeats_the_unit(
    make_gateway: MakeGateway, primary: FakeOpenAI, secondary: FakeAnthropic, source: Path
) -> None:
    # the first model sends the unit back along with the new one: a duplicate definition
    variant = "def area_d(d):\n    return area(d / 2)\n"
    primary.default = Reply(text=f"```python\ndef area(r):\n    return 1\n\n\n{variant}```")
    secondary.default = Reply(text=f"```python\n{variant}```")
    events: list[object] = []
    gw = gateway(make_gateway)
    action = action_set(gw.catalog).get("variant")
    assert action is not None
    target = target_from_location(Location(source, 5))
    result = await run_defined(gw, action, target, on_event=events.append)
    refused = [e for e in events if isinstance(e, Fallback)]
    assert refused and "variant: keeps-neighbours: `area` is already defined" in refused[0].error
    new = apply_edits(CODE, list(result.edits))
    assert f"    return math.pi * r * r\n\n\n{variant}\n\ndef perimeter" in new
    assert error_count("python", new) == 0


async def test_insert_above_puts_a_comment_right_above_the_unit(
    make_gateway: MakeGateway, primary: FakeOpenAI, source: Path
) -> None:
    primary.default = Reply(text="```python\n# ---- area ----\n```")
    result = await run(gateway(make_gateway), "banner", target_from_location(Location(source, 5)))
    assert "\n\n\n# ---- area ----\ndef area(r):" in apply_edits(CODE, list(result.edits))


async def test_show_is_markdown_and_routing_rules_take_the_action_name(
    make_gateway: MakeGateway, primary: FakeOpenAI, secondary: FakeAnthropic, source: Path
) -> None:
    secondary.default = Reply(text="Looks fine; `r` could be named `radius`.")
    gw = gateway(make_gateway, routing={"rules": {"review": ["anthropic.default"]}})
    result = await run(gw, "review", target_from_location(Location(source, 5)))
    assert result.markdown == "Looks fine; `r` could be named `radius`."
    assert result.outcome.ref.provider == "anthropic" and not primary.requests
    assert result.outcome.route == "[routing.rules] review"
    await gw.flush()
    assert [row.action for row in gw.ledger.recent(5)] == ["review"]


async def test_a_selection_replaces_only_its_lines(
    make_gateway: MakeGateway, primary: FakeOpenAI, source: Path
) -> None:
    primary.default = Reply(text="```python\nimport math  # pi\n```")
    doc = target_from_location(Location(source, 1)).doc
    target = Target(doc, 0, len("import math"), source)
    result = await run(gateway(make_gateway), "tidy", target, input="comment it")
    assert apply_edits(CODE, list(result.edits)) == CODE.replace(
        "import math\n", "import math  # pi\n"
    )
    assert (
        "Tidy these lines: comment it\nimport math"
        in primary.requests[-1].body["messages"][1]["content"]
    )


async def test_a_document_task_takes_only_the_documentation(
    make_gateway: MakeGateway, primary: FakeOpenAI, source: Path
) -> None:
    """Checked like document: the doc text is read from the answer and placed by the
    language's convention; the code the model changed along the way is not applied."""
    changed_code = 'def area(r):\n    """Aire du disque."""\n    return 3.14 * r * r\n'
    primary.default = Reply(text=f"```python\n{changed_code}```")
    result = await run(gateway(make_gateway), "french", target_from_location(Location(source, 5)))
    new = apply_edits(CODE, list(result.edits))
    assert 'def area(r):\n    """Aire du disque."""\n    return math.pi * r * r\n' in new


async def test_the_cache_keys_on_the_action_and_its_input(
    make_gateway: MakeGateway, primary: FakeOpenAI, source: Path
) -> None:
    primary.default = Reply(text="```python\nimport math  # pi\n```")
    gw = make_gateway(cache=True, actions=ACTIONS)
    doc = target_from_location(Location(source, 1)).doc
    target = Target(doc, 0, len("import math"), source)
    first = await run(gw, "tidy", target, input="comment it")
    again = await run(gw, "tidy", target, input="comment it")
    other = await run(gw, "tidy", target, input="something else")
    assert (first.outcome.cached, again.outcome.cached, other.outcome.cached) == (
        False,
        True,
        False,
    )
    assert len([r for r in primary.requests if r.method == "POST"]) == 2


async def test_a_private_file_never_reaches_a_remote_model_through_a_custom_action(
    make_gateway: MakeGateway, primary: FakeOpenAI, secondary: FakeAnthropic, source: Path
) -> None:
    from magray_lsp.routing.router import NoRoute

    located = target_from_location(Location(source, 5))
    private = Target(located.doc, located.start, located.end, source, private=True)
    remote = {"openai": {"remote": True}, "anthropic": {"remote": True}}  # not loopback-local
    gw = gateway(make_gateway, llm=remote, routing={"rules": {"review": ["openai.default"]}})
    with pytest.raises(NoRoute, match="private content: local providers only"):
        await run(gw, "review", private)
    assert not primary.requests and not secondary.requests


async def test_a_custom_actions_context_is_the_prefix_the_provider_caches(
    make_gateway: MakeGateway, secondary: FakeAnthropic, tmp_path: Path
) -> None:
    """Two custom actions whose prompts start with the file's context: the second request
    reads from Anthropic's prompt cache what the first wrote (the context, ahead of the
    request), and a prompt that starts with the code marks nothing."""
    head = "Context from {file}:\n```{language}\n{context}\n```\n\n"
    actions = {
        "teach": {"prompt": head + "Explain {unit} to a beginner:\n{code}", "output": "show"},
        "review": {"prompt": head + "Review {unit}:\n{code}", "output": "show"},
        "terse": {"prompt": "{code}\n\nIn one line, given:\n{context}", "output": "show"},
    }
    haiku = {"claude-3-5-haiku-latest": {"input_per_mtok": "0.8", "output_per_mtok": "4"}}
    secondary.prompt_cache = PromptCache()
    secondary.default = Reply(text="Scales a value.", output_tokens=20)
    gw = make_gateway(
        actions=actions,
        routing={"default": "anthropic.default"},
        llm={"anthropic": {"prices": haiku}},
    )
    path = tmp_path / "helpers.py"
    # a long function: the context (it, and the code around it) is over Haiku 3.5's 2,048 tokens
    body = "".join(f"    total += value * {i}.5 + {i}  # step {i}\n" for i in range(200))
    path.write_text(f"{sample_module(3)}\n\n\ndef scaled(value):\n    total = 0\n{body}")
    target = target_from_location(Location(path, 14))
    first = await run(gw, "teach", target)
    second = await run(gw, "review", target)
    third = await run(gw, "terse", target)
    bodies = [r.body for r in secondary.requests if r.method == "POST"]
    marked = [
        [b for b in body["messages"][0]["content"] if isinstance(b, dict) and "cache_control" in b]
        if isinstance(body["messages"][0]["content"], list)
        else []
        for body in bodies
    ]
    assert [len(m) for m in marked] == [1, 1, 0]
    assert marked[0][0]["text"] == marked[1][0]["text"]
    assert marked[0][0]["text"].startswith("Context from helpers.py:")
    assert "def helper_2(" in marked[0][0]["text"]  # the context, not the request
    assert "beginner" not in marked[0][0]["text"]
    one, two, three = (r.outcome.usage for r in (first, second, third))
    assert one is not None and two is not None and three is not None
    assert one.cache_write_tokens > 2048 and one.cached_input_tokens == 0
    assert two.cached_input_tokens == one.cache_write_tokens
    assert three.cached_input_tokens == three.cache_write_tokens == 0
