"""Is this file private? Private content may only be sent to local providers.

A file is private when the workspace sets `[privacy] mode = "local"`, when it matches one of
`private_paths` (globs relative to the workspace root, `**` allowed), or when a `.magray-private`
marker file sits in its folder or any folder above it up to the workspace root.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from magray_lsp.config.models import PrivacyConfig

MARKER_FILE = ".magray-private"


def _matches(relative: PurePosixPath, pattern: str) -> bool:
    pattern = pattern.strip().lstrip("/")
    if not pattern:
        return False
    if pattern.endswith("/"):
        pattern += "**"
    # PurePath.full_match (3.13) is not available on 3.11: try the glob on every suffix of `**`
    if relative.match(pattern):
        return True
    if pattern.startswith("**/"):
        return relative.match(pattern[3:])
    if pattern.endswith("/**"):
        prefix = PurePosixPath(pattern[:-3])
        return relative == prefix or prefix in relative.parents
    return False


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
