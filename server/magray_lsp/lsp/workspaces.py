"""Per-workspace-folder runtime: its effective config, catalog and gateway, reloaded on change.

A broken `.magray.toml` keeps the last good configuration running and is reported as a
diagnostic on the offending line; the next valid save takes effect immediately.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from magray_lsp.actions.definitions import action_set
from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import WORKSPACE_FILE, load_config
from magray_lsp.errors import ConfigError
from magray_lsp.gateway import Gateway
from magray_lsp.privacy.policy import views, whole_folder_private


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """A config error located in a file: what the editor shows as a diagnostic."""

    path: Path
    line: int  # 0-based
    column: int  # 0-based
    message: str


_LOCATED = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<msg>.*)$")


def problems_of(error: ConfigError) -> list[ConfigProblem]:
    """Split a ConfigError message (`file:line[:col]: key: what`, one per line) into problems."""
    return problems_in(str(error).splitlines())[0]


def problems_in(lines: Iterable[str]) -> tuple[list[ConfigProblem], list[str]]:
    """Located problems (`file:line[:col]: key: what`) and the messages that name no file
    (editor settings), which can only be shown as messages."""
    located, unlocated = [], []
    for line in lines:
        m = _LOCATED.match(line)
        if m and m.group("path") != "editor settings":
            col = int(m.group("col") or 1) - 1
            located.append(
                ConfigProblem(Path(m.group("path")), int(m.group("line")) - 1, col, m.group("msg"))
            )
        else:
            unlocated.append(line)
    return located, unlocated


def diagnostics_by_file(runtime: WorkspaceRuntime) -> dict[Path, list[lsp.Diagnostic]]:
    """The runtime's config problems as diagnostics, per file (its `.magray.toml` always
    listed, so a fixed file is cleared)."""
    out: dict[Path, list[lsp.Diagnostic]] = {}
    if runtime.config_file is not None:
        out[runtime.config_file] = []
    for p in runtime.problems:
        out.setdefault(p.path, []).append(
            lsp.Diagnostic(
                range=lsp.Range(lsp.Position(p.line, p.column), lsp.Position(p.line, 10_000)),
                message=p.message,
                severity=lsp.DiagnosticSeverity.Error,
                source="magray",
            )
        )
    return out


@dataclass
class WorkspaceRuntime:
    root: Path | None
    gateway: Gateway
    problems: list[ConfigProblem] = field(default_factory=list)
    error: str | None = None  # the last reload's error, while the last good config keeps running
    #: problems that name no file (a custom action in editor settings): shown as messages
    unlocated: list[str] = field(default_factory=list)
    #: actions running on this gateway; a replaced runtime is closed only when they are done
    busy: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._idle.set()

    def enter(self) -> None:
        self.busy += 1
        self._idle.clear()

    def leave(self) -> None:
        self.busy -= 1
        if self.busy == 0:
            self._idle.set()

    async def retire(self) -> None:
        """Close the gateway once the actions still running on it have finished."""
        await self._idle.wait()
        await self.gateway.aclose()

    @property
    def config_file(self) -> Path | None:
        return self.root / WORKSPACE_FILE if self.root else None


class Workspaces:
    """All workspace folders of one server, the longest matching root wins for a file."""

    def __init__(
        self,
        *,
        settings: Callable[[], Mapping[str, Any]],
        make_gateway: Callable[[Catalog, str], Gateway],
    ) -> None:
        self._settings = settings
        self._make_gateway = make_gateway
        self.folders: dict[str, WorkspaceRuntime] = {}

    def add(self, root: Path | None) -> WorkspaceRuntime:
        key = str(root) if root else ""
        runtime = self.folders.get(key)
        if runtime is None:
            runtime = self._build(root, previous=None)
            self.folders[key] = runtime
        return runtime

    def remove(self, root: Path) -> WorkspaceRuntime | None:
        return self.folders.pop(str(root), None)

    def for_path(self, path: Path | None) -> WorkspaceRuntime:
        """The runtime of the innermost folder holding `path` (compared as spelled and with
        symlinks resolved, on both sides); files outside every folder get a folder-less runtime
        (user config and editor settings only). A document without a path (an untitled buffer,
        a notebook cell) belongs to no folder: it gets the strictest open folder's."""
        if path is None:
            return self.strictest()
        spellings = views(path)
        depth: dict[str, int] = {}  # folder → parts of its deepest root spelling holding `path`
        for key, rt in self.folders.items():
            if rt.root is None:
                continue
            roots = views(rt.root)
            holding = [len(r.parts) for r in roots for p in spellings if p.is_relative_to(r)]
            if holding:
                depth[key] = max(holding)
        if depth:
            return self.folders[max(depth, key=depth.__getitem__)]
        return self.add(None)

    def strictest(self) -> WorkspaceRuntime:
        """The first open folder whose every file is private (local-only), else the first open
        folder, else the folder-less runtime."""
        folders = [rt for rt in self.folders.values() if rt.root is not None]
        for runtime in folders:
            if whole_folder_private(runtime.root, runtime.gateway.config.privacy):
                return runtime
        return folders[0] if folders else self.add(None)

    def reload(self, root: Path | None) -> tuple[WorkspaceRuntime, WorkspaceRuntime | None]:
        """Rebuild one folder's runtime. Returns (current, replaced-or-None)."""
        key = str(root) if root else ""
        previous = self.folders.get(key)
        runtime = self._build(root, previous=previous)
        self.folders[key] = runtime
        return runtime, (previous if runtime is not previous else None)

    def _build(self, root: Path | None, previous: WorkspaceRuntime | None) -> WorkspaceRuntime:
        try:
            loaded = load_config(workspace=root, settings=self._settings())
            if previous is not None and loaded == previous.gateway.catalog.loaded:
                # nothing changed (a save without edits, settings sent again): keep it running
                previous.error = None
                return _with_action_problems(previous)
        except ConfigError as exc:
            if previous is not None:
                previous.problems = problems_of(exc)
                previous.error = str(exc)
                return previous
            # no good config yet: run on defaults (the embedded local model) and report
            loaded = load_config(workspace=None, settings=None, include_user=False)
            runtime = WorkspaceRuntime(root, self._make_gateway(Catalog(loaded), str(root or "")))
            runtime.problems = problems_of(exc)
            runtime.error = str(exc)
            return runtime
        runtime = WorkspaceRuntime(root, self._make_gateway(Catalog(loaded), str(root or "")))
        return _with_action_problems(runtime)


def _with_action_problems(runtime: WorkspaceRuntime) -> WorkspaceRuntime:
    """The runtime with the problems of its custom actions (each broken one is dropped, the
    rest work): from the loader, and those only the catalog can see (a model that does not
    exist)."""
    catalog = runtime.gateway.catalog
    lines = [*catalog.loaded.problems, *action_set(catalog).problems]
    runtime.problems, runtime.unlocated = problems_in(lines)
    return runtime
