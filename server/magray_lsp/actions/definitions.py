"""The actions a workspace defines: the built-in Fix and Write tests, and custom actions from
`[actions.NAME]` tables and `.magray/actions/NAME.md` prompt files.

The config loader already refused definitions that are wrong on their own (unknown variable,
output or key, missing prompt); what needs the providers is checked here: a pinned model must
exist (`catalog.resolve`), a language filter must name a language magray knows. Such an action
is dropped with a located problem and the others keep working.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from magray_lsp.actions.prompts import template
from magray_lsp.catalog import Catalog
from magray_lsp.config.models import ActionConfig, ActionOutput
from magray_lsp.config.templates import fill, uses
from magray_lsp.context.languages import all_languages, get_spec
from magray_lsp.errors import ConfigError
from magray_lsp.task import Action

#: languages Write tests knows the convention of (`actions/testfiles.py`)
TESTS_LANGUAGES: tuple[str, ...] = (
    "python",
    "go",
    "typescript",
    "tsx",
    "javascript",
    "rust",
    "java",
)
BUILT_IN = "built in"


@dataclass(frozen=True, slots=True)
class ActionDef:
    """One action that can be offered and run: its fields, where it was defined."""

    name: str
    config: ActionConfig
    origin: str  # `file:line`, or "built in"
    #: the built-ins' menu verb ("Fix", "Write tests for"); "" for a custom action
    verb: str = ""

    @property
    def builtin(self) -> bool:
        return bool(self.verb)

    @property
    def task(self) -> Action:
        """The built-in action it is routed (and, for `replace`, checked) like."""
        return self.config.routed_as

    @property
    def output(self) -> ActionOutput:
        return self.config.output

    @property
    def kind(self) -> str:
        """The LSP code action kind: Fix is a quick fix; the rest are `refactor.*` so VS Code's
        light bulb lists them (it never lists `source.*` there)."""
        if self.name == "fix":
            return "quickfix.magray.fix"
        if self.output in ("replace", "insert_above", "insert_below"):
            return f"refactor.rewrite.magray.{self.name}"
        return f"refactor.magray.{self.name}"

    @property
    def needs_input(self) -> bool:
        return uses(self.config.prompt, "input") or uses(self.config.system or "", "input")

    @property
    def version(self) -> str:
        """Changes whenever the definition does: part of the cache key, so editing a prompt
        file asks the models again."""
        text = self.config.model_dump_json()
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def offered_for(self, language: str) -> bool:
        languages = self.config.languages
        return not languages or language in languages

    def title(self, values: Mapping[str, str], label: str) -> str:
        """The menu title before the model and cost: `label` is how the unit is named
        ("`parse_header`", "selection")."""
        if self.verb:
            return f"{self.verb} {label}"
        if self.config.title:
            return fill(self.config.title, values).strip() or self.name
        return f"{self.name.replace('-', ' ').replace('_', ' ').capitalize()} {label}"


def _builtin(name: str, verb: str, **fields: object) -> ActionDef:
    system, user, _version = template(name)
    config = ActionConfig.model_validate({"prompt": user, "system": system, **fields})
    return ActionDef(name, config, BUILT_IN, verb)


FIX = _builtin("fix", "Fix", output="replace", requires="diagnostics", task="refactor")
TESTS = _builtin(
    "tests",
    "Write tests for",
    output="new_file",
    requires="unit",
    task="refactor",
    languages=list(TESTS_LANGUAGES),
    max_tokens=2000,
)
BUILTINS: tuple[ActionDef, ...] = (FIX, TESTS)


@dataclass(frozen=True, slots=True)
class ActionSet:
    """Every action of one configuration, built-ins first, and why any custom one was
    dropped (`file:line: actions.NAME.key: what`)."""

    actions: Mapping[str, ActionDef]
    problems: tuple[str, ...] = ()

    def get(self, name: str) -> ActionDef | None:
        return self.actions.get(name)

    def custom(self) -> list[ActionDef]:
        return [a for a in self.actions.values() if not a.builtin]


_SETS: WeakKeyDictionary[Catalog, ActionSet] = WeakKeyDictionary()


def action_set(catalog: Catalog) -> ActionSet:
    """The actions of `catalog`'s configuration (computed once per catalog: a configuration
    never changes under a catalog, a reload makes a new one)."""
    found = _SETS.get(catalog)
    if found is None:
        found = _SETS[catalog] = _build(catalog)
    return found


def _build(catalog: Catalog) -> ActionSet:
    loaded = catalog.loaded
    actions: dict[str, ActionDef] = {a.name: a for a in BUILTINS}
    problems: list[str] = []
    known = {spec.name for spec in all_languages()}
    for name, config in loaded.config.actions.items():
        found = []
        for language in config.languages:
            if get_spec(language) is None and language != "text":
                path = ("actions", name, "languages")
                found.append(
                    f"{loaded.where(path)}: actions.{name}.languages: unknown language "
                    f"{language!r} (known: {', '.join(sorted(known))}, text)"
                )
        if config.model:
            try:
                catalog.resolve(config.model)
            except ConfigError as exc:
                path = ("actions", name, "model")
                found.append(f"{loaded.where(path)}: actions.{name}.model: {exc}")
        if found:
            problems.extend(found)
            continue
        actions[name] = ActionDef(name, config, loaded.where(("actions", name)))
    return ActionSet(actions, tuple(problems))
