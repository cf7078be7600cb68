"""Actions end to end through the gateway and loopback providers: what the user gets back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI

from magray_lsp.actions.perform import run_action
from magray_lsp.actions.source import Location
from magray_lsp.actions.target import target_from_location
from magray_lsp.context.edits import apply_edits
from magray_lsp.context.syntax_check import error_count
from magray_lsp.gateway import AllModelsFailed, Fallback, Gateway

MakeGateway = Callable[..., Gateway]

CODE = """import math


def area(r):
    # the area of a circle
    result = math.pi * r * r
    return result


def perimeter(r):
    return 2 * math.pi * r
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "geometry.py"
    path.write_bytes(CODE.encode())
    return path


async def test_refactor_that_breaks_syntax_falls_back_to_a_valid_one(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    secondary: FakeAnthropic,
    source: Path,
) -> None:
    primary.default = Reply(text="```python\ndef area(r:\n    return math.pi * r ** 2\n```")
    secondary.default = Reply(
        text="Sure:\n```python\ndef area(r):\n    return math.pi * r ** 2\n```\n"
    )
    events: list[object] = []
    target = target_from_location(Location(source, 6))
    result = await run_action(make_gateway(), "refactor", target, on_event=events.append)
    assert result.outcome.ref.provider == "anthropic"
    assert any(isinstance(e, Fallback) and "InvalidAnswer" in e.error for e in events)
    new = apply_edits(CODE, list(result.edits))
    assert new == result.new_text
    assert "def area(r):\n    return math.pi * r ** 2\n\n\ndef perimeter" in new
    assert error_count("python", new) == 0
    # a minimal edit: the untouched function is not rewritten
    assert all(e.start_line >= 3 and e.end_line <= 7 for e in result.edits)


async def test_no_valid_refactor_is_a_clear_error_and_no_edit(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    secondary: FakeAnthropic,
    source: Path,
) -> None:
    primary.default = Reply(text="```python\ndef area(r:\n```")
    secondary.default = Reply(text="```python\nreturn (\n```")
    target = target_from_location(Location(source, 6))
    with pytest.raises(AllModelsFailed, match="InvalidAnswer"):
        await run_action(make_gateway(), "refactor", target)
    assert source.read_text() == CODE


async def test_document_places_a_python_docstring_and_replaces_rather_than_stacks(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    source: Path,
) -> None:
    primary.default = Reply(text="```text\nReturn the area of a circle of radius `r`.\n```")
    gw = make_gateway()
    first = await run_action(gw, "document", target_from_location(Location(source, 11)))
    documented = apply_edits(CODE, list(first.edits))
    assert (
        'def perimeter(r):\n    """Return the area of a circle of radius `r`."""\n    return'
        in documented
    )
    source.write_text(documented)
    primary.default = Reply(text='"""Return the circumference of a circle of radius `r`."""')
    second = await run_action(gw, "document", target_from_location(Location(source, 11)))
    redocumented = apply_edits(documented, list(second.edits))
    assert redocumented.count('"""') == 2  # replaced, not stacked
    assert "circumference" in redocumented and error_count("python", redocumented) == 0


async def test_explain_prompt_carries_the_surrounding_code(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    source: Path,
) -> None:
    primary.default = Reply(text="Computes the area.")
    result = await run_action(make_gateway(), "explain", target_from_location(Location(source, 6)))
    assert result.markdown == "Computes the area."
    body = next(r.body for r in primary.requests if r.method == "POST")
    prompt = body["messages"][-1]["content"]
    assert "import math" in prompt and "def area(r):" in prompt and "def perimeter(r)" in prompt
    assert result.prepared.task.unit == "area" and result.prepared.task.context_tokens > 0


async def test_when_every_answer_is_refused_the_error_names_each_check(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    secondary: FakeAnthropic,
    source: Path,
) -> None:
    primary.default = Reply(text="```python\ndef surface(r):\n    return math.pi * r ** 2\n```")
    secondary.default = Reply(
        text='Here it is:\n```python\ndef area(r):\n    return "<EMAIL_1>" and math.pi * r * r\n```'
    )
    target = target_from_location(Location(source, 6))
    with pytest.raises(AllModelsFailed) as caught:
        await run_action(make_gateway(), "refactor", target)
    message = str(caught.value)
    assert "refactor: keeps-name: the answer defines `surface` instead of `area`" in message
    assert "refactor: no-placeholder: `<EMAIL_1>` is a redaction placeholder" in message
    assert source.read_text() == CODE


async def test_document_takes_the_docstring_from_the_function_the_model_returned(
    make_gateway: MakeGateway,
    primary: FakeOpenAI,
    source: Path,
) -> None:
    # the whole function back, docstring inside and its body "improved": only the doc is used
    primary.default = Reply(
        text="Here's the function with a docstring:\n\n```python\ndef perimeter(r):\n"
        '    """Return the circumference of a circle of radius `r`."""\n'
        "    return math.tau * r\n```\n\nI also used `math.tau`."
    )
    result = await run_action(
        make_gateway(), "document", target_from_location(Location(source, 11))
    )
    assert apply_edits(CODE, list(result.edits)) == CODE.replace(
        "def perimeter(r):\n",
        'def perimeter(r):\n    """Return the circumference of a circle of radius `r`."""\n',
    )
    start, end = result.edited_span or (0, 0)
    assert CODE.encode()[start:end] == b""  # an insertion right under the `def` line
