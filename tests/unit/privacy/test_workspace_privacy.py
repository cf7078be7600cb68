"""Which folder's configuration (and privacy) a document gets: symlinked folders, documents
without a path (untitled buffers, notebook cells), the strictest folder for those."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from magray_lsp.catalog import Catalog
from magray_lsp.cost.ledger import Ledger
from magray_lsp.gateway import Gateway
from magray_lsp.lsp.paths import document_path
from magray_lsp.lsp.workspaces import WorkspaceRuntime, Workspaces
from magray_lsp.privacy.policy import MARKER_FILE, is_private


@pytest.fixture
def workspaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspaces]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-user-config"))
    ledger = Ledger(tmp_path / "ledger.sqlite3")

    def make_gateway(catalog: Catalog, workspace: str) -> Gateway:
        return Gateway(catalog, ledger=ledger, workspace=workspace)

    yield Workspaces(settings=dict, make_gateway=make_gateway)
    ledger.close()


def folder(tmp_path: Path, name: str, toml: str = "") -> Path:
    root = tmp_path / name
    (root / "src").mkdir(parents=True)
    (root / ".magray.toml").write_text(toml)
    return root


LOCAL_ONLY = '[privacy]\nmode = "local"\n'


def private(ws: Workspaces, path: Path | None) -> tuple[WorkspaceRuntime, bool]:
    runtime = ws.for_path(path)
    return runtime, is_private(path, runtime.root, runtime.gateway.config.privacy)


def test_a_document_without_a_path_takes_the_local_only_folder(
    tmp_path: Path, workspaces: Workspaces
) -> None:
    open_root = folder(tmp_path, "open")
    open_ = workspaces.add(open_root)
    closed = workspaces.add(folder(tmp_path, "closed", LOCAL_ONLY))
    assert private(workspaces, None) == (closed, True)
    # the folders' own files keep their own settings
    assert private(workspaces, open_root / "src" / "a.py") == (open_, False)


def test_without_a_local_only_folder_it_takes_the_first_folder_not_user_config(
    tmp_path: Path, workspaces: Workspaces
) -> None:
    first = workspaces.add(folder(tmp_path, "first", '[routing]\ndefault = "local"\n'))
    workspaces.add(folder(tmp_path, "second"))
    runtime, is_priv = private(workspaces, None)
    assert runtime is first and runtime.gateway.config.routing.default == "local"
    assert not is_priv


def test_a_marker_at_a_folder_root_makes_it_the_strictest(
    tmp_path: Path, workspaces: Workspaces
) -> None:
    workspaces.add(folder(tmp_path, "plain"))
    root = folder(tmp_path, "marked")
    (root / MARKER_FILE).write_text("")
    marked = workspaces.add(root)
    assert private(workspaces, None) == (marked, True)


def test_no_folder_at_all_gets_the_folder_less_runtime(workspaces: Workspaces) -> None:
    runtime, is_priv = private(workspaces, None)
    assert runtime.root is None and not is_priv


@pytest.mark.parametrize("opened_via", ["link", "real"])
def test_a_symlinked_folder_owns_its_files_however_they_are_spelled(
    tmp_path: Path, workspaces: Workspaces, opened_via: str
) -> None:
    real = folder(tmp_path, "real", LOCAL_ONLY)
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    # the editor names the folder one way and the file the other way
    folder_spelling = tmp_path / ("real" if opened_via == "link" else "link")
    runtime = workspaces.add(folder_spelling)
    file = tmp_path / opened_via / "src" / "a.py"
    assert private(workspaces, file) == (runtime, True)
    assert private(workspaces, tmp_path / "elsewhere.py")[1] is False


def test_the_innermost_folder_wins_through_a_symlink(
    tmp_path: Path, workspaces: Workspaces
) -> None:
    outer = folder(tmp_path, "outer")
    inner = folder(outer, "inner", LOCAL_ONLY)
    (tmp_path / "link").symlink_to(outer, target_is_directory=True)
    workspaces.add(tmp_path / "link")
    inner_rt = workspaces.add(inner)
    assert private(workspaces, tmp_path / "link" / "inner" / "src" / "x.py") == (inner_rt, True)


def test_document_paths_of_uris() -> None:
    assert document_path("file:///home/u/a.py") == Path("/home/u/a.py")
    # a notebook cell is part of its notebook file (so its folder's settings apply)
    cell = "vscode-notebook-cell:/home/u/my%20nb.ipynb#W0sZmlsZQ%3D%3D"
    assert document_path(cell) == Path("/home/u/my nb.ipynb")
    for virtual in ("untitled:Untitled-1", "git:/home/u/a.py?{}", "vscode-notebook-cell:x#1"):
        assert document_path(virtual) is None
