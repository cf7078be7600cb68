"""Who spends, in team mode: ``[team] member``, else ``git config user.email``, else the OS user."""

from __future__ import annotations

import getpass
import subprocess
from pathlib import Path

from magray_lsp.config.models import TeamConfig

_GIT_TIMEOUT = 2.0


def resolve_member(cfg: TeamConfig, workspace: str | Path | None) -> tuple[str, str]:
    """(member, where it came from): ``[team] member``, else ``git config user.email`` in the
    workspace, else the OS user."""
    if cfg.member:
        return cfg.member.strip(), "config"
    try:
        done = subprocess.run(
            ["git", "config", "user.email"],
            cwd=str(workspace) if workspace and Path(workspace).is_dir() else None,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
        email = done.stdout.strip()
        if done.returncode == 0 and email:
            return email, "git config user.email"
    except (OSError, subprocess.SubprocessError):
        pass  # no git, or it hung: the OS user below
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no $USER (some containers)
        user = ""
    return (user, "OS user") if user else ("unknown", "nothing found: set [team] member")
