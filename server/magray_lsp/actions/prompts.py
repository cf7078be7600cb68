"""Prompt templates, one file per action under `prompts/`, with a version for cache keys.

A template file has a `---system` and a `---user` section; `{name}` placeholders are filled with
`str.format_map` (literal braces in templates are doubled).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Prompt:
    system: str
    user: str
    version: str  # changes whenever the template text changes


@cache
def template(action: str) -> tuple[str, str, str]:
    """(system, user, version) of `prompts/{action}.md`, unfilled."""
    text = resources.files("magray_lsp").joinpath(f"prompts/{action}.md").read_text("utf-8")
    _, _, rest = text.partition("---system\n")
    system, _, user = rest.partition("---user\n")
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    return system.strip(), user.strip(), version


def render(action: str, **values: str) -> Prompt:
    system, user, version = template(action)
    return Prompt(system.format_map(values), user.format_map(values), f"{action}@{version}")
