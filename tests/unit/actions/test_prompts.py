"""Prompts put what repeats first: the shared system prompt, then the code around the target;
the request (instructions and the target itself) comes last, so providers can cache the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from magray_lsp.actions.prompts import render
from magray_lsp.actions.target import Target
from magray_lsp.actions.tasks import prepare
from magray_lsp.context.document import Document
from magray_lsp.task import Action, Task

SOURCE = '''import math
from dataclasses import dataclass

RATE = 0.07


@dataclass
class Circle:
    """A circle."""

    radius: float

    def area(self) -> float:
        return math.pi * self.radius**2

    def perimeter(self) -> float:
        return 2 * math.pi * self.radius


def total_area(circles: list[Circle]) -> float:
    return sum(c.area() for c in circles)


def taxed(amount: float) -> float:
    return amount * (1 + RATE)
'''
EDIT_ACTIONS: tuple[Action, ...] = ("explain", "document", "refactor")


def task_for(action: Action, text: str, needle: str, path: Path) -> Task:
    doc = Document.from_text(text, path=str(path), uri=path.as_uri())
    offset = text.index(needle)
    return prepare(action, Target(doc, offset, offset, path), context_budget=4000).task


def parts(task: Task) -> tuple[str, str]:
    return task.prompt[: task.prompt_prefix], task.prompt[task.prompt_prefix :]


def test_every_action_on_a_unit_shares_system_and_context(tmp_path: Path) -> None:
    path = tmp_path / "shapes.py"
    tasks = [task_for(a, SOURCE, "def area", path) for a in EDIT_ACTIONS]
    assert len({t.system for t in tasks}) == 1
    assert len({parts(t)[0] for t in tasks}) == 1  # one cacheable prefix for all three
    prefix, _ = parts(tasks[0])
    assert prefix.startswith("Context from shapes.py")
    assert "import math" in prefix and "def perimeter(self) -> float: ..." in prefix
    assert "return math.pi * self.radius**2" not in prefix  # the target's body comes later
    assert "area" not in tasks[0].system  # nothing about the target before the context
    words_of = ("Explain the method `area`", "documentation", "Refactor")
    for task, words in zip(tasks, words_of, strict=True):
        request = parts(task)[1]
        assert words in request and request.rstrip().endswith("```")
        assert "return math.pi * self.radius**2" in request
    assert len({t.extra["template"] for t in tasks}) == 3  # each action keeps its own version


def test_the_methods_of_a_class_share_the_prefix(tmp_path: Path) -> None:
    path = tmp_path / "shapes.py"
    area, perimeter = (
        task_for("refactor", SOURCE, f"def {n}", path) for n in ("area", "perimeter")
    )
    assert parts(area)[0] == parts(perimeter)[0]
    assert "<- target" not in area.prompt  # the request names the target instead
    assert "Refactor the method `area` below" in parts(area)[1]
    other = task_for("explain", SOURCE, "def total_area", path)
    assert parts(other)[0] != parts(area)[0]  # another scope, another context


def test_editing_the_target_keeps_the_prefix(tmp_path: Path) -> None:
    path = tmp_path / "shapes.py"
    before = task_for("explain", SOURCE, "def taxed", path)
    edited = SOURCE.replace("amount * (1 + RATE)", "round(amount * (1 + RATE), 2)")
    after = task_for("explain", edited, "def taxed", path)
    assert parts(before)[0] == parts(after)[0]
    assert parts(before)[1] != parts(after)[1]
    assert before.extra["context_hash"] != after.extra["context_hash"]  # the answer cache misses


def test_a_unit_alone_in_its_file_says_so(tmp_path: Path) -> None:
    text = "def only(x):\n    return x\n"
    task = task_for("document", text, "def only", tmp_path / "one.py")
    assert "(no other code in the file)" in parts(task)[0]
    assert "return x" in parts(task)[1] and "return x" not in parts(task)[0]


def test_plain_text_keeps_the_target_in_its_window(tmp_path: Path) -> None:
    text = "\n".join(f"line {i}" for i in range(30))
    task = task_for("explain", text, "line 15", tmp_path / "notes.txt")
    prefix, request = parts(task)
    assert "line 14\nline 15\nline 16" in prefix and "line 15" in request


def test_hover_stands_alone_without_a_prefix() -> None:
    prompt = render("hover", language="python", target="def f(): pass", name="f")
    assert prompt.prefix == 0 and "hover tooltip" in prompt.system
    assert prompt.user.startswith("```python")


@pytest.mark.parametrize("action", EDIT_ACTIONS)
def test_the_prefix_is_exactly_the_rendered_context(action: Action) -> None:
    prompt = render(
        action,
        language="python",
        path="a.py",
        kind="function",
        name="f",
        target="def f(): pass",
        context="import os",
        instruction="simpler",
        doc_style="docstring",
        target_label="function `f`",
    )
    head = prompt.user[: prompt.prefix]
    assert head == "Context from a.py: the code around the target (the target itself comes " + (
        "with the request).\n```python\nimport os\n```\n\n"
    )
    assert "def f(): pass" in prompt.user[prompt.prefix :]
