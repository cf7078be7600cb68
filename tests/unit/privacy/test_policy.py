"""Which files are private: workspace mode, path globs, marker files."""

from __future__ import annotations

from pathlib import Path

import pytest

from magray_lsp.config.models import PrivacyConfig
from magray_lsp.privacy.policy import MARKER_FILE, is_private


@pytest.mark.parametrize(
    ("relative", "patterns", "expected"),
    [
        ("secret/a.py", ["secret/**"], True),
        ("src/secret/deep/a.py", ["**/secret/**"], True),
        ("a/b/keys.py", ["**/keys.py"], True),
        ("keys.py", ["**/keys.py"], True),
        ("src/internal/x.py", ["src/internal/"], True),
        ("deploy/prod.env", ["*.env"], True),
        ("src/x.py", ["secret/**", "*.env"], False),
        ("secretive/a.py", ["secret/**"], False),
    ],
)
def test_private_paths_globs(
    tmp_path: Path, relative: str, patterns: list[str], expected: bool
) -> None:
    path = tmp_path / relative
    assert is_private(path, tmp_path, PrivacyConfig(private_paths=patterns)) is expected


def test_workspace_mode_local_makes_everything_private(tmp_path: Path) -> None:
    assert is_private(tmp_path / "a.py", tmp_path, PrivacyConfig(mode="local"))
    assert is_private(None, None, PrivacyConfig(mode="local"))
    assert not is_private(tmp_path / "a.py", tmp_path, PrivacyConfig())


def test_marker_file_covers_its_folder_and_below(tmp_path: Path) -> None:
    (tmp_path / "vendor" / "client").mkdir(parents=True)
    (tmp_path / "vendor" / MARKER_FILE).write_text("")
    assert is_private(tmp_path / "vendor" / "client" / "api.py", tmp_path, PrivacyConfig())
    assert not is_private(tmp_path / "src.py", tmp_path, PrivacyConfig())
    # a file outside any workspace folder: only its own folder's marker counts
    assert is_private(tmp_path / "vendor" / "x.py", None, PrivacyConfig())
