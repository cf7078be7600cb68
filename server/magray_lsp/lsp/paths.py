"""Which file a document URI is, and which folder's configuration a file belongs to."""

from __future__ import annotations

from pathlib import Path

from pygls.uris import to_fs_path

from magray_lsp.errors import MagrayError


def fs_path(uri: str) -> Path:
    path = to_fs_path(uri)
    if path is None:
        raise MagrayError(f"not a file URI: {uri}")
    return Path(path)


def document_path(uri: str) -> Path | None:
    """The file a document is, or is part of: a `file:` URI's path, a notebook cell's notebook;
    None for documents that have no file (untitled buffers and other virtual documents)."""
    if uri.startswith("file:"):
        return fs_path(uri)
    if uri.startswith("vscode-notebook-cell:"):
        notebook = "file:" + uri.split(":", 1)[1].split("#", 1)[0].split("?", 1)[0]
        path = to_fs_path(notebook)
        return Path(path) if path and Path(path).is_absolute() else None
    return None


def config_root(uri: str) -> Path | None:
    """The folder whose configuration `uri` belongs to: `.magray.toml` or a prompt file
    `.magray/actions/NAME.md`; None for any other file."""
    if not uri.startswith("file:"):
        return None
    path = fs_path(uri)
    if path.name == ".magray.toml":
        return path.parent
    if (
        path.suffix == ".md"
        and path.parent.name == "actions"
        and path.parent.parent.name == (".magray")
    ):
        return path.parent.parent.parent
    return None
