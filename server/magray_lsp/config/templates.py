"""Templates of custom actions: `{name}` is a variable, everything else is literal.

Only a brace pair around an identifier is a variable, so code in a prompt (`fn f() {}`,
`{"a": 1}`, a JavaScript or shell `${name}`) needs no escaping; `{{name}}` is the literal
text `{name}`. Used by the config
models (to refuse unknown variables where the action is defined) and by the actions (to fill
them in), so both read a template the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

#: every variable a prompt (or system prompt) may use
PROMPT_VARIABLES: tuple[str, ...] = (
    "code",
    "selection",
    "unit",
    "kind",
    "language",
    "file",
    "module",
    "context",
    "diagnostics",
    "input",
)
#: what a title or a `path` may use: known when the menu is listed, before anything is read
LISTING_VARIABLES: tuple[str, ...] = ("unit", "kind", "language", "file", "module")
#: variables whose value stays the same across requests about one file's code (the context is
#: what the providers' prompt caches are for); the others change with each target or request
STABLE_VARIABLES: frozenset[str] = frozenset({"language", "file", "module", "context"})

_TOKEN = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}|(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")


def variables_in(template: str) -> Iterator[tuple[str, int]]:
    """(name, 0-based line) of every variable in `template`, in order."""
    for match in _TOKEN.finditer(template):
        if match.group(2) is not None:
            yield match.group(2), template.count("\n", 0, match.start())


def unknown_variables(template: str, allowed: tuple[str, ...]) -> list[tuple[str, int]]:
    """Variables of `template` not in `allowed`, with their 0-based line."""
    return [(name, line) for name, line in variables_in(template) if name not in allowed]


def uses(template: str, name: str) -> bool:
    return any(found == name for found, _ in variables_in(template))


def stable_head(template: str) -> str:
    """The start of `template` that, filled, repeats across requests about one file (a
    cacheable prompt prefix): up to its first variable not in `STABLE_VARIABLES`, cut back to
    the last line break after its last stable variable, so that actions laid out alike
    ("Context: {context}" then their own request) share it whatever their request says."""
    end, last = len(template), 0
    for match in _TOKEN.finditer(template):
        if match.group(2) is None:
            continue
        if match.group(2) not in STABLE_VARIABLES:
            end = match.start()
            break
        last = match.end()
    if end == len(template):
        return template
    line_break = template.rfind("\n", last, end)
    return template[: line_break + 1 if line_break >= 0 else last]


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with each `{name}` replaced by `values[name]` (missing: empty) and each
    `{{name}}` by the literal `{name}`. Values are inserted verbatim, never re-read."""

    def sub(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return "{" + match.group(1) + "}"
        return values.get(match.group(2), "")

    return _TOKEN.sub(sub, template)
