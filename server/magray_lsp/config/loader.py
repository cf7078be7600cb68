"""Load, interpolate, layer and validate configuration.

Layers, lowest first: user file ($XDG_CONFIG_HOME/magray/config.toml) < workspace `.magray.toml`
< files given with `--config` < editor settings (initializationOptions / workspace/configuration).
Later layers override per key. `${VAR}` / `${VAR:-default}` are interpolated per file; a missing
variable inside `[llm.<name>]` disables that provider with a reason instead of failing.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from magray_lsp.config.actions import check_actions
from magray_lsp.config.locate import Source
from magray_lsp.config.models import MagrayConfig, ProviderConfig, provider_kind
from magray_lsp.config.prompt_files import prompt_files
from magray_lsp.errors import ConfigError

WORKSPACE_FILE = ".magray.toml"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class _Missing:
    """Placeholder for a `${VAR}` that is not set; resolved after layering."""

    var: str
    source: Source
    path: tuple[str, ...]


@dataclass
class LoadedConfig:
    config: MagrayConfig
    #: provider name → why it is disabled (missing env var, `enabled = false`, unknown kind)
    disabled: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    #: non-fatal problems worth showing (an optional setting whose variable is unset)
    notes: list[str] = field(default_factory=list)
    #: located problems that dropped a part of the configuration (a broken custom action),
    #: `file:line: key: what`; the rest works
    problems: list[str] = field(default_factory=list)
    #: which layer set each key, so later checks can say where a value came from
    origins: dict[tuple[str, ...], Source] = field(default_factory=dict, compare=False, repr=False)

    def where(self, path: tuple[str, ...]) -> str:
        """`file:line` of the layer that set `path` (or its closest parent), else "config"."""
        for depth in range(len(path), 0, -1):
            source = self.origins.get(path[:depth])
            if source is not None:
                return source.where(path)
        return "config"

    def enabled_providers(self) -> dict[str, ProviderConfig]:
        return {n: c for n, c in self.config.llm.items() if n not in self.disabled}


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME", "~"), ".config")
    return Path(os.path.expanduser(base)) / "magray" / "config.toml"


def read_toml(path: Path) -> tuple[dict[str, Any], Source]:
    """Parse one TOML file; syntax errors name the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    source = Source(str(path), text)
    try:
        return tomllib.loads(text), source
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{path}:{m.group(1)}:{m.group(2)}" if m else str(path)
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"{where}: TOML syntax error: {reason}") from None


def interpolate(
    data: Any, env: Mapping[str, str], source: Source, path: tuple[str, ...] = ()
) -> Any:
    """Replace `${VAR}` in every string; unset variables become `_Missing` markers. Custom
    actions are left as written: a prompt is sent to a model, and `${...}` in one is code
    (a JS template literal), never an environment value to leak."""
    if path[:1] == ("actions",):
        return data
    if isinstance(data, dict):
        return {k: interpolate(v, env, source, (*path, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate(v, env, source, (*path, str(i))) for i, v in enumerate(data)]
    if not isinstance(data, str) or "${" not in data:
        return data
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        value = env.get(m.group(1))
        if value is None or value == "":
            if m.group(2) is not None:
                return m.group(2)
            missing.append(m.group(1))
            return ""
        return value

    result = _VAR.sub(sub, data)
    return _Missing(missing[0], source, path) if missing else result


def _merge(
    base: dict[str, Any],
    layer: dict[str, Any],
    source: Source,
    origins: dict[tuple[str, ...], Source],
    path: tuple[str, ...] = (),
) -> None:
    """Deep-merge `layer` into `base`, remembering which source set each key."""
    for key, value in layer.items():
        here = (*path, key)
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, source, origins, here)
        else:
            base[key] = _copy(value)
            for sub in _leaf_paths(value, here):
                origins[sub] = source
        origins.setdefault(here, source)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _leaf_paths(value: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    if isinstance(value, dict):
        out = [path]
        for k, v in value.items():
            out.extend(_leaf_paths(v, (*path, k)))
        return out
    return [path]


# Without these a provider cannot work; other settings with an unset variable fall back to defaults.
_ESSENTIAL = frozenset({"api_key", "base_url", "model_path", "headers"})
_DROP = object()


def _resolve_missing(merged: dict[str, Any], disabled: dict[str, str], notes: list[str]) -> None:
    """Disable providers whose essential settings reference unset variables; fail elsewhere."""

    def walk(node: Any, path: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            items = ((k, walk(v, (*path, k))) for k, v in node.items())
            return {k: v for k, v in items if v is not _DROP}
        if isinstance(node, list):
            return [walk(v, (*path, str(i))) for i, v in enumerate(node)]
        if not isinstance(node, _Missing):
            return node
        key = ".".join(node.path)
        where = node.source.where(node.path)
        problem = f"{where}: {key}: environment variable ${{{node.var}}} is not set"
        if len(path) >= 3 and path[0] == "llm":
            if path[2] in _ESSENTIAL:
                disabled.setdefault(path[1], problem)
            else:
                notes.append(problem + " (using the default)")
            return _DROP
        raise ConfigError(problem)

    merged.update(walk(merged, ()))


def _validation_message(exc: ValidationError, origins: dict[tuple[str, ...], Source]) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        # Walk up to the closest key some layer actually set.
        source = None
        for depth in range(len(loc), 0, -1):
            source = origins.get(loc[:depth])
            if source:
                break
        where = source.where(loc) if source else "config"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{where}: {'.'.join(loc)}: {msg}")
    return "\n".join(lines)


def load_config(
    *,
    workspace: Path | None = None,
    extra_files: list[Path] | None = None,
    settings: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    include_user: bool = True,
) -> LoadedConfig:
    """Build the effective configuration; raises ConfigError naming file, line and key."""
    env = os.environ if env is None else env
    layers: list[tuple[dict[str, Any], Source]] = []
    files: list[Path] = []
    if include_user:
        files.append(user_config_path(env))
    problems: list[str] = []
    user_files = [f for f in files if f.is_file()]
    for path in user_files:
        data, source = read_toml(path)
        layers.append((interpolate(data, env, source), source))
    if workspace is not None:
        # prompt files first: the workspace's `.magray.toml` may override their keys
        found, problems = prompt_files(workspace)
        layers.extend((f.data, f.source) for f in found)
        if (workspace / WORKSPACE_FILE).is_file():
            data, source = read_toml(workspace / WORKSPACE_FILE)
            layers.append((interpolate(data, env, source), source))
    for path in extra_files or []:
        data, source = read_toml(path)
        layers.append((interpolate(data, env, source), source))
    if settings:
        source = Source("editor settings")
        layers.append((interpolate(dict(settings), env, source), source))

    merged: dict[str, Any] = {}
    origins: dict[tuple[str, ...], Source] = {}
    for data, source in layers:
        _merge(merged, data, source, origins)
    disabled: dict[str, str] = {}
    notes: list[str] = []
    _resolve_missing(merged, disabled, notes)
    if "actions" in merged:
        merged["actions"], broken = check_actions(merged["actions"], origins)
        problems.extend(broken)
    try:
        config = MagrayConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, origins)) from None

    for name, cfg in config.llm.items():
        if not cfg.enabled:
            disabled.setdefault(name, f"llm.{name}: enabled = false")
        elif provider_kind(name, cfg) is None:
            origin = origins.get(("llm", name))
            where = origin.where(("llm", name)) if origin else "config"
            raise ConfigError(
                f'{where}: llm.{name}: unknown provider "{name}"; set kind = "openai" '
                "(or anthropic, google, ollama, huggingface, local)"
            )
    return LoadedConfig(config, disabled, [s.label for _, s in layers], notes, problems, origins)
