"""Raw JSON-RPC over the server's stdio: malformed frames and bodies must not take it down."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.lsp.conftest import SERVER_ENV


def frame(payload: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(payload) + payload


def message(obj: dict[str, Any]) -> bytes:
    return frame(json.dumps(obj).encode())


def read_messages(stdout: bytes) -> list[dict[str, Any]]:
    out = []
    while stdout:
        head, _, rest = stdout.partition(b"\r\n\r\n")
        headers = dict(line.split(b":", 1) for line in head.split(b"\r\n"))
        length = int(headers[b"Content-Length"])
        out.append(json.loads(rest[:length]))
        stdout = rest[length:]
    return out


def test_malformed_messages_get_errors_and_the_server_keeps_answering(tmp_path: Any) -> None:
    stream = b"".join(
        [
            frame(b"{this is not json"),
            message(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}},
                }
            ),
            message({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
            message({"jsonrpc": "2.0", "id": 2, "method": "magray/unknownMethod", "params": {}}),
            message(
                {
                    "jsonrpc": "2.0",
                    "id": 3,
                    "method": "textDocument/codeAction",
                    "params": {"textDocument": {"uri": 42}},
                }
            ),
            message(
                {
                    "jsonrpc": "2.0",
                    "id": 4,
                    "method": "textDocument/hover",
                    "params": {
                        "textDocument": {"uri": "file:///never/opened.py"},
                        "position": {"line": 5, "character": 0},
                    },
                }
            ),
            message({"jsonrpc": "2.0", "id": 5, "method": "shutdown"}),
            message({"jsonrpc": "2.0", "method": "exit"}),
        ]
    )
    proc = subprocess.run(
        [sys.executable, "-m", "magray_lsp", "serve"],
        input=stream,
        capture_output=True,
        timeout=60,
        env=SERVER_ENV,
    )
    replies = {m["id"]: m for m in read_messages(proc.stdout) if "id" in m and "method" not in m}
    assert "capabilities" in replies[1]["result"]
    assert replies[1]["result"]["capabilities"]["codeActionProvider"]["resolveProvider"] is True
    assert replies[2]["error"]["code"] == -32601  # method not found
    assert replies[3]["error"]["code"] == -32602  # invalid params, answered, not dropped
    assert replies[4]["result"] is None  # nothing known about a document never opened
    assert replies[5]["result"] is None  # clean shutdown after all of that
    assert proc.returncode == 0
