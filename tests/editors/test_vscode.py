"""VS Code end to end: the packaged extension (editors/vscode → .vsix) installed into real VS Code
1.100 (code-server 4.100.3), driven in headless Chromium by keyboard, with the real magray-lsp
(its own process, isolated XDG home) answered by the loopback OpenAI fake.

Ctrl+. in a function → "Add docstring to `parse_header`" → codeAction/resolve calls the fake →
VS Code applies the edit → the status bar shows the cost and the month against the budget (the
budget comes from VS Code settings, so this also proves settings reach the server). The file is
checked after Ctrl+S. Then Ctrl+. → "Explain `parse_header`": the answer streams into the magray
panel (seen mid-stream), the server's final explanation replaces it, and the ledger rows match
what the status bar showed.

Setup is `make editors` (code-server in ~/.cache/magray-code-server, the .vsix, playwright-core).
The screenshot lands in artifacts/vscode-e2e.png.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from magray_lsp.cost.journal import take_over
from magray_lsp.cost.ledger import Ledger
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.helpers import openai_only_toml

REPO = Path(__file__).resolve().parents[2]
EXTENSION_DIR = REPO / "editors" / "vscode"
VSIX = EXTENSION_DIR / "magray-vscode.vsix"
DRIVER = REPO / "tests" / "editors" / "vscode" / "drive-vscode.mjs"
ARTIFACTS = REPO / "artifacts"
CODE_SERVER_VERSION = "4.100.3"
CODE_SERVER = (
    Path(os.environ.get("CODE_SERVER_HOME") or Path.home() / ".cache" / "magray-code-server")
    / CODE_SERVER_VERSION
    / "node_modules"
    / ".bin"
    / "code-server"
)
CHROMIUM = Path("/usr/bin/chromium")
MAGRAY_LSP = Path(sys.executable).with_name("magray-lsp")
# Hang guards, not performance limits: a loaded 2-core machine starts VS Code slowly.
STARTUP_TIMEOUT = 180.0
DRIVE_TIMEOUT_MS = 240_000

SAMPLE = """import json


def parse_header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()
"""
DOCSTRING = "Split a header line into a lower-case name and a value."
EXPLANATION = (
    "`parse_header` splits one HTTP header line at its **first colon**. The part before the colon "
    "is the header name, which it trims and lower-cases so later lookups do not depend on how "
    "the sender capitalised it; the part after the colon is the value, trimmed of surrounding "
    "whitespace. A line without a colon yields the whole line as the name and an empty value, "
    "which callers should treat as malformed input rather than a header."
)
# Priced by genai-prices for gpt-4o-mini ($0.15 / $0.60 per M tokens).
DOCUMENT_REPLY = Reply(text=f"```text\n{DOCSTRING}\n```", input_tokens=2000, output_tokens=1000)
DOCUMENT_USD = 0.0009
# Slow enough chunks that the panel is seen mid-stream.
EXPLAIN_REPLY = Reply(text=EXPLANATION, input_tokens=2000, output_tokens=500, chunk_delay=0.1)
EXPLAIN_USD = 0.0006


def require(path: Path, what: str) -> None:
    """Outside CI a missing tool skips; under CI it fails (CI must have run `make editors`)."""
    if path.exists():
        return
    message = f"{what} is missing ({path}): run `make editors`"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"code-server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"code-server did not answer {url}:\n{log.read_text()}"
        time.sleep(0.5)


@pytest.fixture
def openai_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def workspace(tmp_path: Path, openai_fake: FakeOpenAI) -> Path:
    root = tmp_path / "project"
    (root / ".vscode").mkdir(parents=True)
    (root / "http_headers.py").write_text(SAMPLE)
    (root / ".magray.toml").write_text(
        openai_only_toml(openai_fake.base_url, "sk-vscode-test", timeout=60)
    )
    server_home = tmp_path / "server-home"
    settings = {
        "magray.server.path": str(MAGRAY_LSP),
        "magray.server.env": {
            "XDG_CONFIG_HOME": str(server_home / "config"),
            "XDG_CACHE_HOME": str(server_home / "cache"),
            "XDG_DATA_HOME": str(server_home / "data"),
            "NO_PROXY": "127.0.0.1,localhost",
        },
        # Not in .magray.toml: only the editor setting can give the server this budget.
        "magray.budget.monthly_usd": 20,
    }
    (root / ".vscode" / "settings.json").write_text(json.dumps(settings, indent=2))
    return root


# VS Code's own first-run UI would cover the editor; none of it is under test.
USER_SETTINGS = {
    "security.workspace.trust.enabled": False,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.welcomePage.walkthroughs.openOnInstall": False,
    "workbench.enableExperiments": False,
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "update.mode": "none",
    "telemetry.telemetryLevel": "off",
    "chat.commandCenter.enabled": False,
    "git.enabled": False,
    "files.autoSave": "off",
    # typed text must be exactly what the test types
    "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
    "editor.suggestOnTriggerCharacters": False,
    "editor.acceptSuggestionOnEnter": "off",
}


@pytest.fixture
def code_server(tmp_path: Path, workspace: Path) -> Iterator[str]:
    for path, what in [
        (CODE_SERVER, f"code-server {CODE_SERVER_VERSION}"),
        (VSIX, "the extension's .vsix"),
        (EXTENSION_DIR / "node_modules" / "playwright-core", "playwright-core"),
        (CHROMIUM, "Debian chromium"),
    ]:
        require(path, what)
    user_data, extensions = tmp_path / "cs-user-data", tmp_path / "cs-extensions"
    (user_data / "User").mkdir(parents=True)
    (user_data / "User" / "settings.json").write_text(json.dumps(USER_SETTINGS, indent=2))
    config = tmp_path / "cs-config.yaml"
    config.write_text("auth: none\ncert: false\n")
    dirs = ["--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    installed = subprocess.run(
        [str(CODE_SERVER), "--config", str(config), *dirs, "--install-extension", str(VSIX)],
        capture_output=True,
        text=True,
        env=env,
        timeout=STARTUP_TIMEOUT,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert list(extensions.glob("magray.magray-vscode-*/package.json")), installed.stdout

    port = free_port()
    log = tmp_path / "code-server.log"
    command = [
        str(CODE_SERVER),
        "--config", str(config),
        "--auth", "none",
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        "--disable-getting-started-override",
        "--bind-addr", f"127.0.0.1:{port}",
        *dirs,
        str(workspace),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its extension host and magray-lsp go down with it
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process, log)
        yield f"http://127.0.0.1:{port}/?folder={workspace}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def drive(options: dict[str, Any]) -> dict[str, Any]:
    # Its own session, so a hung driver goes down together with its Chromium.
    driver = subprocess.Popen(
        ["node", str(DRIVER), json.dumps(options)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = driver.communicate(timeout=DRIVE_TIMEOUT_MS / 1000 * 3)
    except subprocess.TimeoutExpired:
        os.killpg(driver.pid, signal.SIGKILL)
        stdout, stderr = driver.communicate()
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert lines, f"the driver printed no result (rc {driver.returncode}):\n{stderr}"
    report: dict[str, Any] = json.loads(lines[-1])
    assert report["ok"] and driver.returncode == 0, (
        f"{report.get('error')}\nseen: {report.get('seen')}\ntimings: {report.get('timings')}\n"
        f"workbench: {report.get('workbench')}\nbrowser errors: {report.get('consoleErrors')}\n"
        f"driver log:\n{stderr[-3000:]}"
    )
    return report


def test_document_action_by_keyboard_edits_the_file_and_shows_the_cost(
    code_server: str, workspace: Path, tmp_path: Path, openai_fake: FakeOpenAI
) -> None:
    openai_fake.script(DOCUMENT_REPLY, EXPLAIN_REPLY)
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "vscode-e2e.png"
    screenshot.unlink(missing_ok=True)

    report = drive(
        {
            "url": code_server,
            "file": "http_headers.py",
            "line": 5,  # inside parse_header's body
            "column": 9,
            "pick": "Add docstring to `parse_header`",
            "expectText": DOCSTRING,
            "statusText": "gpt-4o-mini",
            "screenshot": str(screenshot),
            "failureScreenshot": str(ARTIFACTS / "vscode-e2e-failure.png"),
            "playwright": str(EXTENSION_DIR / "package.json"),
            "chromium": str(CHROMIUM),
            "timeoutMs": DRIVE_TIMEOUT_MS,
            "explain": {
                "pick": "Explain `parse_header`",
                # the server's final answer: the explanation and its cost footer
                "expectFinal": ["rather than a header.", "month $0.0015/$20"],
                "statusText": "month $0.0015",
                "screenshot": str(ARTIFACTS / "vscode-e2e-explain.png"),
                "usageText": "magray usage",
            },
        }
    )
    seen = report["seen"]
    print(f"vscode e2e timings (s since page load): {report['timings']}")

    # The Ctrl+. menu listed the server's actions with the routed model and an estimate.
    assert "Explain `parse_header` — gpt-4o-mini ≈ $" in seen["menu"]
    assert "Add docstring to `parse_header` — gpt-4o-mini ≈ $" in seen["picked"][0]

    # The edit, in the editor and on disk after Ctrl+S: a docstring right under the def.
    saved = (workspace / "http_headers.py").read_text()
    expected = SAMPLE.replace(
        "-> tuple[str, str]:\n", f'-> tuple[str, str]:\n    """{DOCSTRING}"""\n'
    )
    assert saved == expected
    assert f'"""{DOCSTRING}"""' in seen["editor"]

    # The status bar: this request's cost, the model, and the month against the budget that
    # only the VS Code setting magray.budget.monthly_usd set.
    assert seen["status"] == "$0.0009 · gpt-4o-mini · month $0.0009/$20"

    # Explain streamed into the magray panel: seen part-way (rendered markdown, no cursor
    # characters lost), then replaced by the server's final answer with its cost footer.
    partial = [t for t in seen["panelStreaming"] if "splits one HTTP header" in t]
    assert any("rather than a header." not in t for t in partial), seen["panelStreaming"]
    final = seen["panelFinal"]
    assert "parse_header" in final and "first colon" in final and "**" not in final
    assert "gpt-4o-mini" in final and "streaming…" not in final
    assert seen["explainStatus"] == "$0.0006 · gpt-4o-mini · month $0.0015/$20"

    # Clicking the status bar item showed the usage report (magray.showUsage) in the panel.
    assert "This month: $0.0015 of $20.00" in seen["usage"], seen["usage"]

    # Two requests reached the provider, for the model the menu promised, with the function.
    chats = [r for r in openai_fake.requests if r.path.endswith("/chat/completions")]
    assert [c.body["model"] for c in chats] == ["gpt-4o-mini", "gpt-4o-mini"]
    assert all("def parse_header" in json.dumps(c.body) for c in chats)
    assert chats[1].body.get("stream") is True

    # The server's ledger (in its isolated XDG home from magray.server.env) billed the same.
    ledger = tmp_path / "server-home" / "data" / "magray" / "ledger.sqlite3"
    book = Ledger(ledger)
    take_over(book)  # the rows a server that was stopped left in its row journal, if any
    try:
        rows = [(row.action, row.model, float(row.cost_usd or 0)) for row in book.recent()]
    finally:
        book.close()
    assert sorted(rows) == [
        ("document", "gpt-4o-mini", DOCUMENT_USD),
        ("explain", "gpt-4o-mini", EXPLAIN_USD),
    ]

    assert screenshot.stat().st_size > 10_000


def test_document_lands_right_although_lines_were_typed_above_meanwhile(
    code_server: str, workspace: Path, tmp_path: Path, openai_fake: FakeOpenAI
) -> None:
    """Ctrl+. → "Add docstring"; while the (slow) answer streams, three lines are typed at the
    top of the file. The edit VS Code applies was rebased onto the typed text: the docstring is
    under `def parse_header`, not three lines too high."""
    answer = f"```text\n{DOCSTRING}\n```"
    words = answer.split(" ")
    chunks = [w if i == 0 else " " + w for i, w in enumerate(words)]
    openai_fake.script(Reply(text=answer, chunks=chunks, chunk_delay=12.0 / len(chunks)))
    ARTIFACTS.mkdir(exist_ok=True)
    typed = ["import os", "import re  # 三 🎉", "LIMIT = 3"]
    report = drive(
        {
            "url": code_server,
            "file": "http_headers.py",
            "line": 5,
            "column": 9,
            "pick": "Add docstring to `parse_header`",
            "typeAbove": {"busyText": "magray: document", "lines": typed},
            "expectText": DOCSTRING,
            "statusText": "gpt-4o-mini",
            "screenshot": str(ARTIFACTS / "vscode-e2e-typing.png"),
            "failureScreenshot": str(ARTIFACTS / "vscode-e2e-typing-failure.png"),
            "playwright": str(EXTENSION_DIR / "package.json"),
            "chromium": str(CHROMIUM),
            "timeoutMs": DRIVE_TIMEOUT_MS,
        }
    )
    print(f"vscode typing e2e timings (s since page load): {report['timings']}")
    # the typing happened while the answer was still streaming (the spinner was still there)
    assert report["seen"]["typedWhileStreaming"] >= 1, report["seen"]
    saved = (workspace / "http_headers.py").read_text()
    # lines typed one above the other at the very top: the last one typed comes first
    expected = (
        "\n".join(reversed(typed))
        + "\n"
        + SAMPLE.replace("-> tuple[str, str]:\n", f'-> tuple[str, str]:\n    """{DOCSTRING}"""\n')
    )
    assert saved == expected


TS_SOURCE = """export function parseHeader(line: string): [string, string] {
  const [name, value] = line.split(":", 2);
  return [nme.trim().toLowerCase(), (value ?? "").trim()];
}
"""
TS_FIXED = TS_SOURCE.replace("[nme.trim()", "[name.trim()")
TS_SIMPLIFIED = """export function parseHeader(line: string): [string, string] {
  const at = line.indexOf(":");
  if (at < 0) return [line.trim().toLowerCase(), ""];
  return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()];
}
"""
SIMPLIFY_MD = """+++
title = "Simplify {unit}"
output = "replace"
+++
Simplify this {language} {kind} without changing behaviour:
{code}
"""


@pytest.fixture
def defined_workspace(workspace: Path) -> Path:
    """A TypeScript file with an error the built-in TypeScript server reports, and a custom
    action committed to the repository as a prompt file."""
    (workspace / "headers.ts").write_text(TS_SOURCE)
    (workspace / ".magray" / "actions").mkdir(parents=True)
    (workspace / ".magray" / "actions" / "simplify.md").write_text(SIMPLIFY_MD)
    return workspace


def test_fix_on_a_diagnostic_and_a_committed_custom_action_by_keyboard(
    defined_workspace: Path, code_server: str, tmp_path: Path, openai_fake: FakeOpenAI
) -> None:
    openai_fake.script(
        Reply(text=f"```typescript\n{TS_FIXED}```", input_tokens=1500, output_tokens=80),
        Reply(text=f"Simpler:\n\n```ts\n{TS_SIMPLIFIED}```", input_tokens=1200, output_tokens=90),
    )
    ARTIFACTS.mkdir(exist_ok=True)
    report = drive(
        {
            "url": code_server,
            "file": "headers.ts",
            "openText": "export function",
            "steps": [
                # Ctrl+. on the line TypeScript marks: "Fix `parseHeader`" is offered, then applied
                {
                    "line": 3,
                    "column": 12,
                    "pick": "Fix `parseHeader`",
                    "expectText": "[name.trim()",
                },
                # F1 → "magray: Run Action…" → the prompt file's action
                {
                    "line": 2,
                    "column": 5,
                    "palette": {"command": "magray: Run Action", "item": "simplify"},
                    "expectText": "line.indexOf",
                },
            ],
            "statusText": "gpt-4o-mini",
            "screenshot": str(ARTIFACTS / "vscode-e2e-defined.png"),
            "failureScreenshot": str(ARTIFACTS / "vscode-e2e-defined-failure.png"),
            "playwright": str(EXTENSION_DIR / "package.json"),
            "chromium": str(CHROMIUM),
            "timeoutMs": DRIVE_TIMEOUT_MS,
        }
    )
    seen = report["seen"]
    print(f"vscode e2e timings (s since page load): {report['timings']}")
    # Fix was in the quick-fix menu with the routed model and its estimate
    assert "Fix `parseHeader` — gpt-4o-mini ≈ $" in seen["picked"][0]
    assert "simplify" in seen["paletteItem"][0]
    assert (defined_workspace / "headers.ts").read_text() == TS_SIMPLIFIED

    chats = [r for r in openai_fake.requests if r.path.endswith("/chat/completions")]
    fix_prompt = chats[0].body["messages"][1]["content"]
    # the diagnostic came from VS Code's own TypeScript server, with its source and code
    assert "- line 3: error [ts 2552]: Cannot find name 'nme'" in fix_prompt, fix_prompt
    assert (
        chats[1]
        .body["messages"][1]["content"]
        .startswith(
            "Simplify this typescript function without changing behaviour:\nexport function"
        )
    )
    ledger = tmp_path / "server-home" / "data" / "magray" / "ledger.sqlite3"
    book = Ledger(ledger)
    take_over(book)  # the rows a server that was stopped left in its row journal, if any
    try:
        assert sorted(row.action for row in book.recent()) == ["fix", "simplify"]
    finally:
        book.close()
