"""What the command line's subcommands share: the built-in actions, the workspace, JSON output.

Its own module so `doctor`, `stats`, `headless`, `dashboard` and `run` do not import `cli` back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ACTIONS = ("explain", "document", "refactor")


def find_workspace(start: Path) -> Path:
    """The nearest folder at or above `start` holding `.magray.toml`, else `start`'s folder."""
    here = (start if start.is_dir() else start.parent).resolve()
    for folder in (here, *here.parents):
        if (folder / ".magray.toml").is_file():
            return folder
    return here


def dump(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)
