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


# -- the same file, spelled differently: symlinked and relative roots, `..`, links to files --


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """real/ holds the project; link → real, so both spell the same folder."""
    real = tmp_path / "real"
    (real / "secret" / "deep").mkdir(parents=True)
    (real / "vendor").mkdir()
    (real / "vendor" / MARKER_FILE).write_text("")
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    return tmp_path


GLOBS = PrivacyConfig(private_paths=["secret/**"])


@pytest.mark.parametrize(
    ("file", "root"),
    [
        ("real/secret/deep/a.py", "link"),  # a symlinked root, the file by its real path
        ("link/secret/deep/a.py", "real"),  # the root real, the file through the link
        ("link/secret/deep/a.py", "link"),
        ("real/src/../secret/deep/a.py", "link/src/.."),  # `..` on both sides
    ],
)
def test_globs_match_whichever_way_root_and_file_are_spelled(
    project: Path, file: str, root: str
) -> None:
    assert is_private(project / file, project / root, GLOBS)
    assert not is_private(project / file.replace("secret/deep", "public"), project / root, GLOBS)


@pytest.mark.parametrize(
    ("file", "root"), [("real/vendor/x.py", "link"), ("link/vendor/x.py", "real")]
)
def test_markers_are_found_through_a_symlinked_root(project: Path, file: str, root: str) -> None:
    assert is_private(project / file, project / root, PrivacyConfig())
    assert not is_private(project / "real" / "x.py", project / root, PrivacyConfig())


def test_relative_root_and_file_resolve_against_the_working_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    assert is_private(Path("link/secret/deep/a.py"), Path("real"), GLOBS)
    assert is_private(project / "real" / "secret" / "a.py", Path("link"), GLOBS)
    assert is_private(Path("real/vendor/x.py"), Path("link"), PrivacyConfig())
    assert not is_private(Path("real/x.py"), Path("link"), GLOBS)


def test_a_file_linked_into_the_workspace_is_judged_where_it_appears_too(tmp_path: Path) -> None:
    (tmp_path / "ws" / "secret").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keys.py").write_text("")
    (tmp_path / "ws" / "secret" / "keys.py").symlink_to(tmp_path / "elsewhere" / "keys.py")
    assert is_private(tmp_path / "ws" / "secret" / "keys.py", tmp_path / "ws", GLOBS)


def test_a_document_without_a_path_is_private_when_its_whole_folder_is(project: Path) -> None:
    # untitled buffers, notebook cells: no path to match globs against
    assert is_private(None, project / "link", PrivacyConfig(mode="local"))
    assert not is_private(None, project / "link", GLOBS)
    assert is_private(None, project / "link" / "vendor", PrivacyConfig())  # marker at the root
    assert not is_private(None, None, PrivacyConfig())
