"""The VS Code extension without VS Code: its settings mirror the server's config schema, and its
unit tests (status bar formatting, stream rendering, settings, server launch) pass on plain node.
The end-to-end test in real VS Code is test_vscode.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from magray_lsp.config.models import MagrayConfig

EXTENSION_DIR = Path(__file__).resolve().parents[2] / "editors" / "vscode"
BUNDLED_SCHEMA = EXTENSION_DIR / "schemas" / "magray.schema.json"


def node() -> str:
    found = shutil.which("node")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("node is missing: the VS Code extension needs node 20")
        pytest.skip("node is missing")
    return found


def test_bundled_schema_is_the_servers_schema() -> None:
    """`.magray.toml` validation (tomlValidation) and the settings use this copy: a config change
    on the server must be carried over (`make vscode-schema`)."""
    bundled = json.loads(BUNDLED_SCHEMA.read_text())
    assert bundled == MagrayConfig.model_json_schema(), (
        "editors/vscode/schemas/magray.schema.json is out of date: run `make vscode-schema`"
    )
    printed = subprocess.run(
        [sys.executable, "-m", "magray_lsp", "schema"], capture_output=True, text=True, check=True
    )
    assert json.loads(printed.stdout) == bundled


def test_settings_are_generated_from_the_schema() -> None:
    check = subprocess.run(
        [node(), "scripts/generate-configuration.mjs", "--check"],
        cwd=EXTENSION_DIR,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    package = json.loads((EXTENSION_DIR / "package.json").read_text())
    keys = {k for section in package["contributes"]["configuration"] for k in section["properties"]}
    for table in MagrayConfig.model_json_schema()["properties"]:
        assert any(k == f"magray.{table}" or k.startswith(f"magray.{table}.") for k in keys), table
    assert package["contributes"]["tomlValidation"][0] == {
        "fileMatch": ".magray.toml",
        "url": "./schemas/magray.schema.json",
    }


def test_unit_tests_pass_on_plain_node() -> None:
    node()
    if not (EXTENSION_DIR / "node_modules" / "typescript").exists():
        message = "editors/vscode/node_modules is missing: run `make editors`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    run = subprocess.run(
        ["npm", "test", "--silent"], cwd=EXTENSION_DIR, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"^ℹ fail 0$", run.stdout, re.M), run.stdout
    assert not re.search(r"^ℹ pass 0$", run.stdout, re.M), run.stdout
