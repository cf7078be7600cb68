"""Task cache keys: an edit's key sees the target's comments, an explanation's does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.actions.test_perform import CODE  # `area` and `perimeter`

from magray_lsp.actions.source import Location
from magray_lsp.actions.target import target_from_location
from magray_lsp.actions.tasks import prepare
from magray_lsp.task import Action

#: the same file after one edit, each a variant a user makes while working
VARIANTS = {
    "reformatted": CODE.replace("math.pi * r * r", "math.pi*r*r").replace(
        "    # the area", "    #  the area"
    ),
    "comment added in the unit": CODE.replace(
        "    return result\n", "    # keep the rounding as is\n    return result\n", 1
    ),
    "comment changed in the unit": CODE.replace("# the area of a circle", "# area in cm2"),
    "comment removed from the unit": CODE.replace("    # the area of a circle\n", ""),
    "comment added in a neighbour": CODE.replace(
        "    return 2 * math.pi", "    # circumference\n    return 2 * math.pi"
    ),
}


def key_of(tmp_path: Path, action: Action, text: str) -> str:
    path = tmp_path / f"{abs(hash(text))}.py"
    path.write_text(text)
    target = target_from_location(Location(path, 6))  # inside `area`
    return prepare(action, target, context_budget=2000).task.cache_key


@pytest.mark.parametrize("action", ["refactor", "document"])
def test_an_edit_key_changes_with_the_target_s_comments_only(
    tmp_path: Path, action: Action
) -> None:
    key = key_of(tmp_path, action, CODE)
    same = {"reformatted", "comment added in a neighbour"}
    for name, text in VARIANTS.items():
        assert text != CODE, f"{name}: the sample changed under this test"
        assert (key_of(tmp_path, action, text) == key) == (name in same), name


@pytest.mark.parametrize("action", ["explain", "hover"])
def test_an_explanation_key_ignores_comments(tmp_path: Path, action: Action) -> None:
    key = key_of(tmp_path, action, CODE)
    for name, text in VARIANTS.items():
        assert key_of(tmp_path, action, text) == key, name
    assert key_of(tmp_path, action, CODE.replace("r * r", "r ** 2")) != key
