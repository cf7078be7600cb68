"""The canary: unique fake API keys and a fake secret that must not show up where they don't belong.

Every LSP end-to-end test runs with the canary API keys configured for the fake providers, and
``test_canary.py`` runs the actions on code that contains the canary secret with the providers
marked remote. Throughout the session this module records everything that could leak: every
JSON object the LSP client received from a server, every line a server wrote to stderr (its log),
and every request the fakes received. At the end of the session ``leaks()`` scans those, plus
every file under the servers' isolated home (cache, ledger, logs) as raw bytes:

* the API keys may appear only in the authentication header of a request to their own provider;
* the secret may appear nowhere: remote request bodies carry a placeholder instead.
"""

from __future__ import annotations

import json
import random
import string
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest_lsp.client
from pytest_lsp.protocol import LanguageClientProtocol

from tests.fakes.base import FakeServer, RecordedRequest

OPENAI_KEY = f"sk-canary-{uuid.uuid4().hex}"
ANTHROPIC_KEY = f"sk-ant-canary-{uuid.uuid4().hex}"
_rng = random.Random(uuid.uuid4().int)
#: an AWS access key id nobody has: "AKIA" + 16 upper-case letters and digits
SECRET = "AKIA" + "".join(_rng.choices(string.ascii_uppercase + string.digits, k=16))
KEYS = (OPENAI_KEY, ANTHROPIC_KEY)
AUTH_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key"})


@dataclass
class Recorder:
    stderr: list[bytes] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    requests: dict[int, RecordedRequest] = field(default_factory=dict)
    #: set by test_canary.py: the actions ran on code that holds the secret
    canary_ran: bool = False

    def archive(self, *servers: FakeServer) -> None:
        """Keep what the fakes saw before a test's `reset()` clears it."""
        for server in servers:
            for request in list(server.requests):
                self.requests[id(request)] = request


RECORDER = Recorder()


async def _forward_and_record_stderr(server: Any) -> None:
    if server.stderr is None:
        return
    while (line := await server.stderr.readline()) != b"":
        RECORDER.stderr.append(line)
        sys.stderr.buffer.write(line)


_structure = LanguageClientProtocol.structure_message


def _record_and_structure(self: LanguageClientProtocol, data: dict[str, Any]) -> Any:
    # called for every JSON object of every message the client reads, innermost first
    RECORDER.messages.append(json.dumps(data, default=repr))
    return _structure(self, data)


def install() -> None:
    """Start recording (idempotent): the client's incoming messages and the servers' stderr."""
    pytest_lsp.client.forward_stderr = _forward_and_record_stderr
    LanguageClientProtocol.structure_message = _record_and_structure  # type: ignore[method-assign, assignment]


def _request_leaks(request: RecordedRequest) -> list[str]:
    found: list[str] = []
    where = f"{request.method} {request.path}"
    visible = json.dumps([request.path, request.query, request.body], default=repr)
    for header, value in request.headers.items():
        if header not in AUTH_HEADERS:
            visible += f"\n{header}: {value}"
    for key in KEYS:
        if key in visible:
            found.append(f"API key in the request {where} (outside its auth header)")
    if SECRET in visible or any(SECRET in v for v in request.headers.values()):
        found.append(f"secret in the request {where}")
    return found


def leaks(home: Path) -> list[str]:
    """Every place a canary showed up where it must not."""
    found: list[str] = []
    needles = {
        name: value.encode()
        for name, value in zip(("key", "key", "secret"), (*KEYS, SECRET), strict=True)
    }
    for name, needle in needles.items():
        for i, line in enumerate(RECORDER.stderr):
            if needle in line:
                found.append(f"{name} in server stderr line {i}: {line[:120]!r}")
        for message in RECORDER.messages:
            if needle.decode() in message:
                found.append(f"{name} in an LSP message: {message[:200]}")
        for path in sorted(home.rglob("*")):
            if path.is_file() and needle in path.read_bytes():
                found.append(f"{name} in {path.relative_to(home)}")
    for request in RECORDER.requests.values():
        found.extend(_request_leaks(request))
    return found


def coverage() -> list[str]:
    """What the recording must have seen for the scan to mean anything."""
    missing: list[str] = []
    requests = list(RECORDER.requests.values())
    if requests and not any(OPENAI_KEY in r.headers.get("authorization", "") for r in requests):
        missing.append("no request carried the canary OpenAI key in its auth header")
    if RECORDER.canary_ran:
        if not RECORDER.messages:
            missing.append("no LSP message was recorded")
        if not any("<API_KEY_" in json.dumps(r.body) for r in requests):
            missing.append("no remote request body carried a redaction placeholder")
    return missing
