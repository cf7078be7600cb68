"""`magray-lsp run NAME` and `magray-lsp actions` as a user runs them: a real subprocess, a
loopback OpenAI fake as the provider, an isolated home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.helpers import openai_only_toml

from magray_lsp.cost.ledger import Ledger

SOURCE = """import json


def parse_header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()
"""
NEW_FN = (
    "def parse_header(line: str) -> tuple[str, str]:\n"
    "    name, _, value = line.partition(':')\n"
    "    return name.strip().casefold(), value.strip()\n"
)
ACTIONS = """
[actions.casefold]
title = "Casefold {unit}"
prompt = "Use casefold in {unit}. {input}\\n{code}"
output = "replace"

[actions.ghost]
prompt = "x {code}"
model = "openai.nonexistent"
"""


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, fake: FakeOpenAI) -> Path:
    fake.reset()
    root = tmp_path / "project"
    (root / ".magray" / "actions").mkdir(parents=True)
    (root / ".magray.toml").write_text(openai_only_toml(fake.base_url, "sk-cli") + ACTIONS)
    (root / ".magray" / "actions" / "examples.md").write_text(
        '+++\noutput = "new_file"\npath = "docs/{module}_examples.py"\n+++\nExamples for {code}\n'
    )
    (root / "headers.py").write_text(SOURCE)
    return root


def magray(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    home = root.parent / "home"
    env = {k: v for k, v in os.environ.items() if not k.endswith(("API_KEY", "_TOKEN"))}
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        NO_PROXY="127.0.0.1,localhost",
    )
    return subprocess.run(
        [sys.executable, "-m", "magray_lsp", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=root,
        env=env,
    )


def test_actions_lists_what_is_defined_where_and_what_is_broken(project: Path) -> None:
    proc = magray(project, "actions", "--json")
    assert proc.returncode == 1  # a broken definition is an error worth a non-zero exit
    out = json.loads(proc.stdout)
    origins = {a["name"]: a["origin"] for a in out["actions"]}
    assert origins == {
        "fix": "built in",
        "tests": "built in",
        "casefold": f"{project / '.magray.toml'}:{_line(project, '[actions.casefold]')}",
        "examples": f"{project / '.magray' / 'actions' / 'examples.md'}:1",
    }
    [problem] = out["problems"]
    assert problem.startswith(f"{project / '.magray.toml'}:{_line(project, 'model = ')}: ")
    assert "actions.ghost.model" in problem and "no model alias 'nonexistent'" in problem
    text = magray(project, "actions")
    assert "casefold  replace" in text.stdout and "error: " in text.stderr


def _line(root: Path, start: str) -> int:
    lines = (root / ".magray.toml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(start))


def test_run_a_custom_replace_action_with_input_and_apply(project: Path, fake: FakeOpenAI) -> None:
    fake.default = Reply(text=f"```python\n{NEW_FN}```", input_tokens=400, output_tokens=60)
    proc = magray(project, "run", "casefold", "headers.py:5", "-i", "Keep it short.", "--apply")
    assert proc.returncode == 0, proc.stderr
    assert "+    return name.strip().casefold(), value.strip()" in proc.stdout
    assert "── openai · gpt-4o-mini · 400→60 tokens" in proc.stdout
    assert (project / "headers.py").read_text() == SOURCE.replace(
        SOURCE[SOURCE.index("def ") :], NEW_FN
    )
    prompt = fake.requests[-1].body["messages"][-1]["content"]
    assert prompt.startswith("Use casefold in parse_header. Keep it short.\ndef parse_header")
    ledger = Ledger(project.parent / "home" / "data" / "magray" / "ledger.sqlite3")
    try:
        assert [row.action for row in ledger.recent(5)] == ["casefold"]
    finally:
        ledger.close()


def test_run_without_the_input_an_action_needs_says_so(project: Path, fake: FakeOpenAI) -> None:
    proc = magray(project, "run", "casefold", "headers.py:5")
    assert proc.returncode == 1
    assert "`casefold` asks for input: pass it with -i TEXT" in proc.stderr
    assert not fake.requests


def test_run_a_new_file_action_writes_the_file(project: Path, fake: FakeOpenAI) -> None:
    fake.default = Reply(text="```python\ndef example() -> None:\n    print(1)\n```")
    proc = magray(project, "run", "examples", "headers.py:5", "--apply", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    target = project / "docs" / "headers_examples.py"
    assert out["action"] == "examples" and out["file"] == str(target)
    assert target.read_text() == "def example() -> None:\n    print(1)\n"


def test_run_fix_sends_the_given_diagnostic(project: Path, fake: FakeOpenAI) -> None:
    fake.default = Reply(text=f"```python\n{NEW_FN}```")
    proc = magray(project, "run", "fix", "headers.py:5", "--diagnostic", "name is shadowed")
    assert proc.returncode == 0, proc.stderr
    assert (
        "- line 5: error [cli]: name is shadowed"
        in fake.requests[-1].body["messages"][-1]["content"]
    )
    nothing = magray(project, "run", "fix", "headers.py:5")
    assert nothing.returncode == 1 and "there is no warning or error here" in nothing.stderr


def test_run_dry_run_and_unknown_names(project: Path, fake: FakeOpenAI) -> None:
    proc = magray(project, "run", "tests", "headers.py:5", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("plan: [routing] default") and "openai.default" in proc.stdout
    ghost = magray(project, "run", "ghost", "headers.py:5")
    assert ghost.returncode == 1 and "actions.ghost.model" in ghost.stderr
    unknown = magray(project, "run", "nope", "headers.py:5")
    assert "no action named `nope` (defined: explain, document, refactor, fix" in unknown.stderr
    assert not fake.requests
