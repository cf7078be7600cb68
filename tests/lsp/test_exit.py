"""Leaving, over raw stdio: `shutdown` and `exit` sent back to back (one write, no waiting for the
`shutdown` answer) while requests stream, and a client that keeps stdin open afterwards. The
process must end promptly with the LSP exit code, and the ledger must hold a row for every
request: the one that finished, and those `shutdown` (or an `exit` without it) cancelled."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.lsp.conftest import SAMPLE, SERVER_ENV, magray_toml
from tests.lsp.test_fuzz import RawClient, frame, initialize

#: hang guards on a loaded machine, not performance limits
EXIT_TIMEOUT = 60.0
IN_FLIGHT_TIMEOUT = 120.0
STREAMING = 3  # requests still streaming when the client leaves
# long enough that nothing still streaming can finish before the client leaves (about 30 s)
SLOW = Reply(text=" ".join(["word"] * 300), chunk_delay=0.1)


def start(workspace: Path, tmp_path: Path) -> tuple[RawClient, Path]:
    # this test's own ledger, and a cache without the other tests' answers
    env = {**SERVER_ENV, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path)}
    client = RawClient(workspace, tmp_path / "server.log", env)
    initialize(client, workspace)
    return client, tmp_path / "data" / "magray" / "ledger.sqlite3"


def explain(client: RawClient, msg_id: str, uri: str) -> None:
    """Open a file of its own, its function named after it (so no two requests share a cache
    key, or one provider call), and ask for an explanation, without waiting for the answer."""
    text = SAMPLE.replace("parse_header", f"parse_{msg_id.replace('-', '_')}")
    doc = {"uri": uri, "languageId": "python", "version": 1, "text": text}
    client.notify("textDocument/didOpen", {"textDocument": doc})
    at = {"line": 4, "character": 4}
    args = [{"uri": uri, "range": {"start": at, "end": at}}]
    client.send(
        {
            "jsonrpc": "2.0",
            "id": msg_id,
            "method": "workspace/executeCommand",
            "params": {"command": "magray.explain", "arguments": args},
        }
    )


def leave_while_streaming(
    client: RawClient, workspace: Path, openai_fake: FakeOpenAI, goodbye: bytes
) -> int:
    """One request answered, STREAMING more in flight at the provider, then ``goodbye`` in one
    write; stdin stays open. The exit code, once the process ended by itself."""
    explain(client, "done", (workspace / "done.py").as_uri())
    assert client.wait_response("done")["result"]["ok"]
    openai_fake.default = SLOW
    for i in range(STREAMING):
        explain(client, f"slow-{i}", (workspace / f"slow_{i}.py").as_uri())
    deadline = time.monotonic() + IN_FLIGHT_TIMEOUT
    while sum(r.method == "POST" for r in openai_fake.requests) < 1 + STREAMING:
        assert time.monotonic() < deadline, "the requests never reached the provider"
        time.sleep(0.05)
    client.send_bytes(goodbye)
    try:
        return client.proc.wait(EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not exit; its log ends with:\n{client.log_tail()}")


def rows(ledger: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(ledger) as conn:
        found = conn.execute("SELECT provider, model, outcome FROM requests ORDER BY ts").fetchall()
    return [(p, m, o) for p, m, o in found]


@pytest.fixture
def workspace(tmp_path: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic) -> Path:
    openai_fake.reset()
    anthropic_fake.reset()
    root = tmp_path / "project"
    root.mkdir()
    (root / ".magray.toml").write_text(magray_toml(openai_fake, anthropic_fake))
    return root


def test_shutdown_and_exit_back_to_back_keep_every_row_and_exit_0(
    workspace: Path, tmp_path: Path, openai_fake: FakeOpenAI
) -> None:
    client, ledger = start(workspace, tmp_path)
    try:
        shutdown = frame(b'{"jsonrpc": "2.0", "id": "bye", "method": "shutdown"}')
        exit_ = frame(b'{"jsonrpc": "2.0", "method": "exit"}')
        code = leave_while_streaming(client, workspace, openai_fake, shutdown + exit_)
        assert code == 0, client.log_tail()
        assert client.responses['"bye"'][0]["result"] is None
        assert "Traceback" not in client.log_tail()  # nothing failed on the way out
    finally:
        client.close()
    model = ("openai", "gpt-4o-mini")
    assert rows(ledger) == [(*model, "ok")] + [(*model, "cancelled")] * STREAMING


def test_exit_without_shutdown_exits_1_and_still_keeps_every_row(
    workspace: Path, tmp_path: Path, openai_fake: FakeOpenAI
) -> None:
    client, ledger = start(workspace, tmp_path)
    try:
        code = leave_while_streaming(
            client, workspace, openai_fake, frame(b'{"jsonrpc": "2.0", "method": "exit"}')
        )
        assert code == 1, client.log_tail()
        assert "Traceback" not in client.log_tail()
    finally:
        client.close()
    model = ("openai", "gpt-4o-mini")
    assert rows(ledger) == [(*model, "ok")] + [(*model, "cancelled")] * STREAMING
