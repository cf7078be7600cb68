"""The stdio framing and the JSON-RPC envelope checks, without a server process."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import threading
from typing import Any

import pytest

from magray_lsp.lsp.protocol import check_envelope
from magray_lsp.lsp.stdio import _BlockingReader, content_length, read_messages


class Recorder:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.oversized: list[int] = []

    def handle_body(self, body: bytes) -> None:
        self.bodies.append(body)

    def reject_oversized(self, size: int, limit: int) -> None:
        self.oversized.append(size)


def frames(data: bytes, max_message_bytes: int = 1000) -> Recorder:
    recorder = Recorder()
    reader = _BlockingReader(io.BytesIO(data))
    asyncio.run(
        read_messages(reader, recorder, threading.Event(), max_message_bytes=max_message_bytes)  # type: ignore[arg-type]
    )
    return recorder


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


@pytest.mark.parametrize(
    ("line", "length"),
    [
        (b"Content-Length: 12\r\n", 12),
        (b"content-length:12\n", 12),
        (b"junk without newline}Content-Length: 7\r\n", 7),
        (b"Content-Length: -5\r\n", None),
        (b"Content-Length: abc\r\n", None),
        (b"Content-Length: 99999999999999999999999\r\n", None),
        (b"Content-Type: application/json\r\n", None),
    ],
)
def test_content_length_header(line: bytes, length: int | None) -> None:
    assert content_length(line) == length


def test_junk_between_messages_does_not_lose_the_next_one() -> None:
    good = [b'{"n": %d}' % i for i in range(4)]
    stream = (
        frame(good[0])
        + b"\x00\xffjunk with no newline"  # glued to the next header
        + frame(good[1])
        + b"Content-Length: -5\r\n\r\n{lost}"  # a bad length: its body is junk too
        + frame(good[2])
        + b"X-Long: "
        + b"a" * 50_000
        + b"\r\n"  # an overlong header line
        + frame(good[3])
    )
    assert frames(stream).bodies == good


def test_an_oversized_message_is_skipped_in_bounded_memory_and_reported() -> None:
    after = b'{"after": true}'
    stream = frame(b"x" * 5000) + frame(after)
    recorder = frames(stream, max_message_bytes=1000)
    assert recorder.oversized == [5000]
    assert recorder.bodies == [after]


def test_eof_inside_a_body_ends_the_loop_quietly() -> None:
    assert frames(b"Content-Length: 50\r\n\r\n{short").bodies == []


@pytest.mark.parametrize(
    ("message", "code", "reply_to", "answer"),
    [
        ([1, 2], -32600, None, True),
        ("text", -32600, None, True),
        ({"id": 1, "method": "x"}, -32600, 1, True),  # no "jsonrpc"
        ({"jsonrpc": "1.0", "id": "a", "method": "x"}, -32600, "a", True),
        ({"jsonrpc": "2.0", "id": 1.5, "method": "x"}, -32600, None, True),
        ({"jsonrpc": "2.0", "id": True, "method": "x"}, -32600, None, True),
        ({"jsonrpc": "2.0", "id": None, "method": "x"}, -32600, None, True),
        ({"jsonrpc": "2.0", "method": 5}, -32600, None, True),
        ({"jsonrpc": "2.0", "id": 2, "method": "x", "params": "s"}, -32602, 2, True),
        ({"jsonrpc": "2.0", "method": "x", "params": 5}, -32602, None, False),  # notification
        (
            {"jsonrpc": "2.0", "id": 3, "method": "textDocument/didOpen", "params": {}},
            -32600,
            3,
            True,
        ),
        ({"jsonrpc": "2.0", "id": 4, "method": "x", "result": 1}, -32600, 4, True),
        ({"jsonrpc": "2.0", "id": {"a": 1}, "result": 1}, -32600, None, False),  # a bad response
        ({"jsonrpc": "2.0"}, -32600, None, True),
    ],
)
def test_envelope_refusals(message: Any, code: int, reply_to: Any, answer: bool) -> None:
    refusal = check_envelope(message)
    assert refusal is not None
    assert (refusal.error.code, refusal.reply_to, refusal.answer) == (code, reply_to, answer)


@pytest.mark.parametrize(
    "message",
    [
        {"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": {}},
        {"jsonrpc": "2.0", "id": "s", "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {}},
        {"jsonrpc": "2.0", "id": 7, "result": None},
        {"jsonrpc": "2.0", "id": None, "error": {"code": -1, "message": "m"}},
    ],
)
def test_well_formed_messages_pass(message: Any) -> None:
    assert check_envelope(message) is None


def test_the_protocol_channel_survives_fd_1_being_redirected() -> None:
    """llama.cpp points fds 1 and 2 at /dev/null while it loads a model; a stray print or C
    library may write to fd 1. Neither may touch what the protocol writes."""
    script = """
import os, sys
from magray_lsp.lsp.stdio import private_stdout
from llama_cpp._utils import suppress_stdout_stderr
channel = private_stdout()
print("stray print")
os.write(1, b"stray C write\\n")
with suppress_stdout_stderr(disable=False):
    channel.write(b'{"protocol": "kept"}'); channel.flush()
channel.write(b'{"protocol": "after"}'); channel.flush()
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=120, check=True
    )
    assert done.stdout == b'{"protocol": "kept"}{"protocol": "after"}'
    assert b"stray print" in done.stderr and b"stray C write" in done.stderr
    json.loads(done.stdout.split(b"}{")[0] + b"}")
