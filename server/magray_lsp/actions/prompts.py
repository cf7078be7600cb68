"""Prompt templates, one file per action under `prompts/`, with a version for cache keys.

A template file holds sections headed `---system`, `---context` and `---user`; `{name}`
placeholders are filled with `str.format_map` (literal braces in templates are doubled).

Prompts are ordered for the providers' prompt caches, which reuse a request's longest prefix
seen before: what repeats comes first, what changes last. An action template with only a
`---user` section (the request: instructions and the target code) is rendered after the shared
`context.md`: its system prompt (the same for every action) and its `---context` section (the
code around the target) start the user message. `Prompt.prefix` says how many characters of
`user` that stable part takes. A template with its own `---system` (hover) stands alone.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

SHARED = "context"
_SECTION = re.compile(r"^---(system|context|user)\n", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Prompt:
    system: str
    user: str
    version: str  # changes whenever the template text changes
    #: leading characters of `user` that repeat across actions on the same code (the context)
    prefix: int = 0


@dataclass(frozen=True, slots=True)
class _Template:
    sections: dict[str, str]
    text: str


@cache
def _template(name: str) -> _Template:
    text = resources.files("magray_lsp").joinpath(f"prompts/{name}.md").read_text("utf-8")
    parts = _SECTION.split(text)
    # parts: [before the first header, name, body, name, body, ...]
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    return _Template(sections, text)


@cache
def _version(action: str) -> str:
    own = _template(action)
    text = own.text if "system" in own.sections else _template(SHARED).text + own.text
    return f"{action}@{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def render(action: str, **values: str) -> Prompt:
    own = _template(action).sections
    user = own["user"].format_map(values)
    if "system" in own:
        return Prompt(own["system"].format_map(values), user, _version(action))
    shared = _template(SHARED).sections
    context = shared["context"].format_map(values) + "\n\n"
    return Prompt(
        shared["system"].format_map(values), context + user, _version(action), len(context)
    )


def template(action: str) -> tuple[str, str, str]:
    """(system, user, version) of a standalone `prompts/{action}.md` (one with its own
    `---system`), unfilled: for the built-ins defined like custom actions (fix, tests)."""
    own = _template(action).sections
    return own["system"], own["user"], _version(action)
