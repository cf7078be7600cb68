"""Is this file private? Private content may only be sent to local providers.

A file is private when the workspace sets `[privacy] mode = "local"`, when it matches one of
`private_paths` (globs relative to the workspace root, `**` allowed), or when a `.magray-private`
marker file sits in its folder or any folder above it up to the workspace root.

Paths are compared both as spelled (absolute, `..` folded) and resolved (symlinks followed), on
both sides: a file is private when either view says so, so a symlinked or relative workspace
root, or a file reached through a link, cannot make a glob or a marker stop matching.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path, PurePosixPath

from magray_lsp.config.models import PrivacyConfig

MARKER_FILE = ".magray-private"


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """gitignore-like: `**` spans folders, `*` and `?` stay within one; a pattern without a
    slash matches a file or folder name anywhere; a trailing slash means everything below."""
    pattern = pattern.strip()
    if pattern.endswith("/"):
        pattern += "**"
    anchored = "/" in pattern.rstrip("/")
    pattern = pattern.lstrip("/")
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    body = "".join(out)
    prefix = "" if anchored else "(?:.*/)?"
    return re.compile(f"{prefix}{body}(?:/.*)?")


def _matches(relative: PurePosixPath, pattern: str) -> bool:
    return bool(pattern.strip()) and _glob_regex(pattern).fullmatch(relative.as_posix()) is not None


def views(path: Path | str) -> tuple[Path, ...]:
    """The ways one location may be spelled: absolute with `..` folded (symlinks kept), and its
    real path (symlinks resolved). Both are compared, so a symlinked or relative workspace root,
    or a file opened through a link, can never make a check fail open."""
    logical = Path(os.path.abspath(path))
    real = Path(os.path.realpath(path))
    return (logical,) if real == logical else (logical, real)


def whole_folder_private(root: Path | None, privacy: PrivacyConfig) -> bool:
    """Everything in the folder is private: `mode = "local"`, or a marker file at its root."""
    if privacy.mode == "local":
        return True
    return root is not None and any((r / MARKER_FILE).exists() for r in views(root))


def is_private(path: Path | None, root: Path | None, privacy: PrivacyConfig) -> bool:
    """Whether the file at `path` in the workspace folder `root` is private. A document without
    a path (an untitled buffer, a notebook cell) is private when its whole folder is."""
    if whole_folder_private(root, privacy):
        return True
    if path is None:
        return False
    roots = views(root) if root is not None else ()
    return any(_private_in(p, roots, privacy) for p in views(path))


def _private_in(path: Path, roots: tuple[Path, ...], privacy: PrivacyConfig) -> bool:
    """`path` (absolute) by the globs and markers of the first of `roots` that holds it."""
    root = next((r for r in roots if path.is_relative_to(r)), None)
    if root is None:  # outside the folder: only a marker in the file's own folder counts
        return (path.parent / MARKER_FILE).exists()
    relative = PurePosixPath(path.relative_to(root).as_posix())
    if any(_matches(relative, p) for p in privacy.private_paths):
        return True
    folders = [root, *(root / p for p in relative.parents if str(p) != ".")]
    return any((folder / MARKER_FILE).exists() for folder in folders)
