"""Check the custom action definitions of a merged configuration, one action at a time.

A mistake in one action (an unknown variable, an unknown output, a missing prompt) drops that
action with a located problem (`file:line: actions.NAME.key: what`), shown as a diagnostic on
the file that defines it; the rest of the configuration and every other action keep working.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from magray_lsp.config.locate import Source
from magray_lsp.config.models import BUILTIN_ACTION_NAMES, ActionConfig
from magray_lsp.config.templates import LISTING_VARIABLES, PROMPT_VARIABLES, unknown_variables

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")


Origins = Mapping[tuple[str, ...], Source]


def check_actions(raw: Any, origins: Origins) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The valid action tables of `raw` (the merged `actions` table), and a located problem
    for each one that is not."""
    if not isinstance(raw, dict):
        return {}, [f"{_where(origins, ('actions',))}: actions: must be a table of actions"]
    valid: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name, fields in raw.items():
        found = _problems(name, fields, origins)
        if found:
            problems.extend(found)
        else:
            valid[name] = fields
    return valid, problems


def _problems(name: str, fields: Any, origins: Origins) -> list[str]:
    here = ("actions", name)
    if not _NAME.match(name):
        return [
            f"{_where(origins, here)}: actions.{name}: an action name is letters, digits, - "
            "and _, starting with a letter"
        ]
    if name in BUILTIN_ACTION_NAMES:
        return [
            f"{_where(origins, here)}: actions.{name}: `{name}` is a built-in action; "
            "choose another name"
        ]
    if not isinstance(fields, dict):
        return [f"{_where(origins, here)}: actions.{name}: must be a table"]
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        what = "is empty" if isinstance(prompt, str) else "is missing"
        if prompt is not None and not isinstance(prompt, str):
            what = "must be text"
        return [
            f"{_where(origins, (*here, 'prompt'))}: actions.{name}.prompt: the prompt {what} "
            "(the text sent to the model; in a prompt file, the text after the front matter)"
        ]
    try:
        action = ActionConfig.model_validate(fields)
    except ValidationError as exc:
        return [_validation_problem(name, err, origins) for err in exc.errors()]
    problems = []
    for key, allowed in (
        ("prompt", PROMPT_VARIABLES),
        ("system", PROMPT_VARIABLES),
        ("title", LISTING_VARIABLES),
        ("path", LISTING_VARIABLES),
    ):
        template = getattr(action, key)
        for variable, line in unknown_variables(template or "", allowed):
            problems.append(_variable_problem(name, key, variable, line, allowed, origins))
    problems.extend(_combination_problems(name, action, origins))
    return problems


def _variable_problem(
    name: str, key: str, variable: str, line: int, allowed: tuple[str, ...], origins: Origins
) -> str:
    path = ("actions", name, key)
    source = _source(origins, path)
    if source is None:
        where = "config"
    else:  # editor settings have no lines
        where = f"{source.label}:{source.line_of(path, line)}" if source.text else source.label
    if variable in PROMPT_VARIABLES:
        why = f"{{{variable}}} is not known when the menu is listed; a {key} may use " + ", ".join(
            f"{{{v}}}" for v in allowed
        )
    else:
        why = f"unknown variable {{{variable}}} (known: {', '.join(f'{{{v}}}' for v in allowed)}"
        why += f"; write {{{{{variable}}}}} for the literal text)"
    return f"{where}: actions.{name}.{key}: {why}"


def _combination_problems(name: str, action: ActionConfig, origins: Origins) -> list[str]:
    here = ("actions", name)
    out = []
    if action.output == "new_file" and not action.path:
        out.append(
            f"{_where(origins, (*here, 'output'))}: actions.{name}.output: new_file needs a "
            'path, e.g. path = "tests/test_{module}.py"'
        )
    if action.path and action.output != "new_file":
        out.append(
            f"{_where(origins, (*here, 'path'))}: actions.{name}.path: only used with "
            'output = "new_file"'
        )
    if action.path and (action.path.startswith(("/", "~")) or ".." in action.path.split("/")):
        out.append(
            f"{_where(origins, (*here, 'path'))}: actions.{name}.path: must stay inside the "
            "workspace (relative, no ..)"
        )
    if action.task == "explain" and action.output != "show":
        out.append(
            f"{_where(origins, (*here, 'task'))}: actions.{name}.task: an explanation is "
            f'shown, never applied; use task = "refactor" or "document" with output = '
            f'"{action.output}"'
        )
    if action.task == "document" and action.output != "replace" and action.output != "show":
        out.append(
            f"{_where(origins, (*here, 'task'))}: actions.{name}.task: document is checked "
            'as an edit of the unit; use it with output = "replace"'
        )
    return out


def _validation_problem(name: str, err: Any, origins: Origins) -> str:
    loc = tuple(str(p) for p in err["loc"])
    path = ("actions", name, *loc)
    if err["type"] == "extra_forbidden":
        known = ", ".join(ActionConfig.model_fields)
        msg = f"unknown key (an action has {known})"
    elif err["type"] == "literal_error":
        msg = f"{err['msg'].replace('Input should be', 'must be')}; got {err['input']!r}"
    else:
        msg = err["msg"]
    return f"{_where(origins, path)}: {'.'.join(path)}: {msg}"


def _source(origins: Origins, path: tuple[str, ...]) -> Source | None:
    for depth in range(len(path), 0, -1):
        found = origins.get(path[:depth])
        if found is not None:
            return found
    return None


def _where(origins: Origins, path: tuple[str, ...]) -> str:
    source = _source(origins, path)
    return source.where(path) if source is not None else "config"
