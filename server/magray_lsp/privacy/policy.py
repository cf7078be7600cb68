"""Is this file private? Private content may only be sent to local providers.

A file is private when the workspace sets `[privacy] mode = "local"`, when it matches one of
`private_paths` (globs relative to the workspace root, `**` allowed), or when a `.magray-private`
marker file sits in its folder or any folder above it up to the workspace root.
"""

from __future__ import annotations

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


def is_private(path: Path | None, root: Path | None, privacy: PrivacyConfig) -> bool:
    if privacy.mode == "local":
        return True
    if path is None:
        return False
    path = path.resolve() if path.is_absolute() else path
    if root is not None and path.is_relative_to(root):
        relative = PurePosixPath(path.relative_to(root).as_posix())
        if any(_matches(relative, p) for p in privacy.private_paths):
            return True
        folders = [root, *(root / p for p in relative.parents if str(p) != ".")]
    else:
        folders = [path.parent]
    return any((folder / MARKER_FILE).exists() for folder in folders)
