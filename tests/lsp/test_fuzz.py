"""JSON-RPC fuzzing over the real server's stdio.

A raw subprocess client (pytest-lsp's would never send a broken frame) sends thousands of
messages: random bytes, broken headers, invalid JSON, valid JSON of the wrong shape, unknown
methods, and requests and notifications with mutated params for every method the server
implements (random ranges; emoji, CJK, CRLF, NUL and lone surrogates in contents). After each
storm the server must still be running, must have answered every request that had an id with one
well-formed response (a JSON-RPC error where the spec asks for one), and must still answer a real
code action correctly. A second storm of the same size must not grow its memory unboundedly.

The generator is seeded: the seed is printed, and ``MAGRAY_FUZZ_SEED=<n>`` replays a run.
"""

from __future__ import annotations

import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from magray_lsp.providers.local import bundled_model_path
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.lsp.conftest import SAMPLE, SERVER_ENV, magray_toml

MESSAGES_PER_STORM = 2500
#: growth of the server's resident memory allowed during the second, equally sized storm
RSS_GROWTH_LIMIT_MB = 40
#: storms run at most, waiting for two in a row to end in the same embedded-model state
MAX_STORMS = 6
ANSWER_TIMEOUT = float(
    os.environ.get("MAGRAY_FUZZ_TIMEOUT", "180")
)  # a hang guard for a loaded machine, not a performance assertion

JSONRPC_CODES = {-32700, -32600, -32601, -32602, -32603, -32800, -32803}


# ------------------------------------------------------------------ the raw client


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def encode(obj: Any) -> bytes:
    return json.dumps(obj).encode()


class RawClient:
    """Writes bytes to the server, reads its framed replies on a thread, answers its requests."""

    def __init__(self, workspace: Path, log_path: Path, env: dict[str, str]) -> None:
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "magray_lsp", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=workspace,
        )
        # One writer thread: the reader thread answers the server's requests without ever
        # blocking on a full stdin pipe (which would stop it draining stdout: a deadlock).
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, daemon=True)
        self._cond = threading.Condition()
        self.responses: dict[Any, list[dict[str, Any]]] = {}
        self.null_id_errors: list[dict[str, Any]] = []
        self.bad_frames: list[bytes] = []
        self.notifications = 0
        trace = os.environ.get("MAGRAY_FUZZ_TRACE")  # a file to copy the server's output to
        self.trace = open(trace, "wb", buffering=0) if trace else None
        self.trace_in = open(trace + ".in", "wb", buffering=0) if trace else None
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self._writer.start()

    # -- writing ------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        self._outbox.put(data)

    def _write_loop(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        while (data := self._outbox.get()) is not None:
            try:
                if self.trace_in is not None:
                    self.trace_in.write(data)
                stdin.write(data)
                stdin.flush()
            except (BrokenPipeError, ValueError):
                return  # the server is gone; the test's checks will say so

    def send(self, obj: Any) -> None:
        self.send_bytes(frame(encode(obj)))

    def request(self, msg_id: Any, method: str, params: Any) -> dict[str, Any]:
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return self.wait_response(msg_id)

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    # -- reading ------------------------------------------------------------

    def _read_loop(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length is None:
                self.bad_frames.append(b"<no Content-Length>")
                continue
            body = out.read(length)
            if self.trace is not None:
                self.trace.write(body + b"\n")
            try:
                message = json.loads(body)
            except ValueError:
                self.bad_frames.append(body[:200])
                continue
            self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:  # the server asks the client something
            self.send(
                {"jsonrpc": "2.0", "id": message["id"], "result": client_answer(message["method"])}
            )
            return
        if "method" in message:
            self.notifications += 1
            return
        with self._cond:
            if "error" in message and message.get("id", "absent") is None:  # "id": null
                self.null_id_errors.append(message)
            else:
                self.responses.setdefault(_key(message.get("id")), []).append(message)
            self._cond.notify_all()

    def wait_until(
        self, predicate: Callable[[], bool], what: str, detail: Callable[[], object] = str
    ) -> None:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        with self._cond:
            while not predicate():
                assert self.proc.poll() is None, (
                    f"server exited ({self.proc.returncode}); its log ends with:\n{self.log_tail()}"
                )
                left = deadline - time.monotonic()
                assert left > 0, f"timed out waiting for {what}: {detail()}"
                self._cond.wait(min(left, 1.0))

    def wait_response(self, msg_id: Any) -> dict[str, Any]:
        self.wait_until(lambda: _key(msg_id) in self.responses, f"the answer to {msg_id!r}")
        return self.responses[_key(msg_id)][0]

    def log_tail(self) -> str:
        """The end of the server's stderr (faulthandler writes a native crash's stack there)."""
        self._log.flush()
        return Path(self._log.name).read_bytes()[-4000:].decode("utf-8", "replace")

    def rss_kb(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1])

    def embedded_model_loaded(self) -> bool:
        """llama.cpp maps the embedded model's GGUF file while it is loaded."""
        model = bundled_model_path()
        maps = Path(f"/proc/{self.proc.pid}/maps").read_text()
        return model is not None and str(model.resolve()) in maps

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.request("bye", "shutdown", None)
                self.notify("exit", None)
                self.proc.wait(30)
            except Exception:
                self.proc.kill()
                self.proc.wait(30)
        self._outbox.put(None)
        self._log.close()


def _key(msg_id: Any) -> str:
    return json.dumps(msg_id)  # 1 and "1" are different ids


def client_answer(method: str) -> Any:
    if method == "workspace/applyEdit":
        return {"applied": False}
    if method == "window/showDocument":
        return {"success": False}
    if method == "workspace/configuration":
        return [None]
    return None


def initialize(client: RawClient, workspace: Path, capabilities: Any = None) -> None:
    reply = client.request(
        "init",
        "initialize",
        {
            "processId": None,
            "rootUri": workspace.as_uri(),
            "capabilities": capabilities or {},
            "workspaceFolders": [{"uri": workspace.as_uri(), "name": "ws"}],
        },
    )
    assert "capabilities" in reply["result"]
    client.notify("initialized", {})


def open_real_document(client: RawClient, uri: str, version: int) -> None:
    doc = {"uri": uri, "languageId": "python", "version": version, "text": SAMPLE}
    client.notify("textDocument/didOpen", {"textDocument": doc})


def assert_real_code_action_works(client: RawClient, uri: str, msg_id: str) -> None:
    open_real_document(client, uri, 10_000)
    pos = {"line": 4, "character": 4}
    reply = client.request(
        msg_id,
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "range": {"start": pos, "end": pos},
            "context": {"diagnostics": []},
        },
    )
    titles = [a["title"] for a in reply["result"]]
    assert titles and titles[0].startswith("Explain `parse_header` — gpt-4o-mini"), reply


# ------------------------------------------------------------------ the generator

TEXT_PIECES = [
    "def f(x):\n    return x\n",
    "class 類:\n    名前 = '値'\r\n",
    "😀👍🏽 emoji 🇫🇷\n",
    "line with CRLF\r\n",
    "lone CR\r",
    "\x00\x01binary\x00",
    "\ud800 lone surrogate \udfff",
    "é" * 50,
    "\n" * 20,
    "    " * 30 + "deep\n",
    "",
]
INTS = [0, 1, 2, 3, -1, -(2**31), 2**31 - 1, 2**31, 2**32, 2**53, 2**63, 10**30, 7, 42]
METHODS_NOTIFY = [
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didClose",
    "textDocument/didSave",
    "workspace/didChangeConfiguration",
    "workspace/didChangeWatchedFiles",
    "workspace/didChangeWorkspaceFolders",
    "$/cancelRequest",
    "$/setTrace",
    "window/workDoneProgress/cancel",
    "initialized",
]
METHODS_REQUEST = [
    "textDocument/codeAction",
    "codeAction/resolve",
    "textDocument/hover",
    "workspace/executeCommand",
]
COMMANDS = [
    "magray.explain",
    "magray.document",
    "magray.refactor",
    "magray.showUsage",
    "magray.clearCache",
    "magray.noSuchCommand",
    "",
]


class Fuzzer:
    """Seeded message generator. ``expect`` collects what each frame must produce."""

    def __init__(self, seed: int, workspace: Path) -> None:
        self.rng = random.Random(seed)
        self.workspace = workspace
        self.real_uri = (workspace / "sample.py").as_uri()
        self.uris = [self.real_uri] + [
            (workspace / f"fuzz{i}{ext}").as_uri()
            for i, ext in enumerate([".py", ".ts", ".rs", ".go", ".txt", ".c", ".py", ".js"])
        ]
        self.uris += ["untitled:Untitled-1", "file:///", "file://host/%ZZ", "not a uri", ""]
        self.folders = [(workspace / f"folder{i}").as_uri() for i in range(3)]
        self.next_id = 0
        self.ids: list[Any] = []  # requests that must each get exactly one answer
        self.expected_codes: dict[str, int] = {}  # ids whose error code is certain
        self.sent: dict[str, str] = {}  # id → the request, shortened (for failure messages)
        self.parse_errors = 0  # bodies that are not JSON: each must get -32700 with id null

    # -- values -------------------------------------------------------------

    def choice(self, seq: list[Any]) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def text(self) -> str:
        return "".join(self.choice(TEXT_PIECES) for _ in range(self.rng.randrange(0, 12)))

    def json_value(self, depth: int = 0) -> Any:
        kind = self.rng.randrange(9 if depth < 3 else 6)
        if kind == 0:
            return None
        if kind == 1:
            return self.rng.random() < 0.5
        if kind == 2:
            return self.choice(INTS)
        if kind == 3:
            return self.rng.uniform(-1e9, 1e9)
        if kind in (4, 5):
            return self.text()[:200]
        if kind == 6:
            return [self.json_value(depth + 1) for _ in range(self.rng.randrange(4))]
        keys = ["uri", "range", "line", "character", "start", "end", "text", "data", "id", "x"]
        return {self.choice(keys): self.json_value(depth + 1) for _ in range(self.rng.randrange(4))}

    def number(self) -> Any:
        return self.choice(INTS) if self.rng.random() < 0.9 else self.json_value()

    def position(self) -> Any:
        if self.rng.random() < 0.7:
            return {"line": self.rng.randrange(0, 14), "character": self.rng.randrange(0, 40)}
        return {"line": self.number(), "character": self.number()}

    def range(self) -> Any:
        return {"start": self.position(), "end": self.position()}

    def uri(self) -> str:
        return str(self.choice(self.uris))

    def mutate(self, value: Any, rate: float = 0.08) -> Any:
        """Occasionally replace, drop or retype parts of a valid value."""
        if self.rng.random() < rate:
            return self.json_value()
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if self.rng.random() < rate / 2:
                    continue
                out[k] = self.mutate(v, rate)
            if self.rng.random() < rate / 2:
                out["extra"] = self.json_value()
            return out
        if isinstance(value, list):
            return [self.mutate(v, rate) for v in value]
        return value

    # -- params for each method --------------------------------------------

    def params(self, method: str) -> Any:
        uri = self.uri()
        doc = {"uri": uri}
        if method == "textDocument/didOpen":
            language = self.choice(["python", "typescript", "rust", "go", "plaintext", "c", "x"])
            item = {
                "uri": uri,
                "languageId": language,
                "version": self.number(),
                "text": self.text(),
            }
            valid: Any = {"textDocument": item}
        elif method == "textDocument/didChange":
            changes = [
                {"range": self.range(), "text": self.text()}
                if self.rng.random() < 0.8
                else {"text": self.text()}
                for _ in range(self.rng.randrange(1, 4))
            ]
            valid = {
                "textDocument": {"uri": uri, "version": self.number()},
                "contentChanges": changes,
            }
        elif method in ("textDocument/didClose", "textDocument/didSave"):
            valid = {"textDocument": doc}
        elif method == "workspace/didChangeConfiguration":
            valid = {
                "settings": self.choice([{"magray": self.json_value()}, self.json_value(), {}])
            }
        elif method == "workspace/didChangeWatchedFiles":
            changes = [{"uri": self.workspace.joinpath(".magray.toml").as_uri(), "type": 2}]
            valid = {"changes": changes}
        elif method == "workspace/didChangeWorkspaceFolders":
            pick = [{"uri": self.choice(self.folders), "name": "f"}]
            event = (
                {"added": pick, "removed": []}
                if self.rng.random() < 0.5
                else {"added": [], "removed": pick}
            )
            valid = {"event": event}
        elif method == "$/cancelRequest":
            valid = {"id": self.rng.randrange(self.next_id + 1)}
        elif method == "$/setTrace":
            valid = {"value": self.choice(["off", "messages", "verbose", "loud"])}
        elif method == "window/workDoneProgress/cancel":
            valid = {"token": self.choice(["magray-1", 5, None])}
        elif method == "initialized":
            valid = {}
        elif method == "textDocument/codeAction":
            valid = {
                "textDocument": doc,
                "range": self.range(),
                "context": {
                    "diagnostics": [],
                    "only": self.choice([None, ["refactor"], ["x"], []]),
                },
            }
        elif method == "codeAction/resolve":
            valid = {
                "title": self.text()[:40],
                "data": {
                    "uri": uri,
                    "range": self.range(),
                    "action": self.choice(["explain", "document", "refactor", "nope"]),
                    "version": self.number(),
                },
            }
        elif method == "textDocument/hover":
            valid = {"textDocument": doc, "position": self.position()}
        elif method == "workspace/executeCommand":
            args = [{"uri": uri, "range": self.range(), "instruction": self.text()[:30]}]
            valid = {"command": self.choice(COMMANDS), "arguments": self.choice([args, [], None])}
        else:
            valid = self.json_value()
        return self.mutate(valid)

    # -- frames ---------------------------------------------------------------

    def new_id(self) -> Any:
        self.next_id += 1
        return self.next_id if self.rng.random() < 0.5 else f"fz-{self.next_id}"

    def expect_answer(self, msg_id: Any, code: int | None = None) -> None:
        self.ids.append(msg_id)
        if code is not None:
            self.expected_codes[_key(msg_id)] = code

    def framed(self, body: bytes) -> bytes:
        try:
            json.loads(body)
        except (ValueError, RecursionError):
            self.parse_errors += 1
        return frame(body)

    def request(self, method: str, params: Any, code: int | None = None) -> bytes:
        msg_id = self.new_id()
        self.expect_answer(msg_id, code)
        body = encode({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        self.sent[_key(msg_id)] = body[:300].decode()
        return frame(body)

    def message(self) -> bytes:
        r = self.rng.random()
        if r < 0.30:
            method = self.choice(METHODS_NOTIFY)
            return frame(
                encode({"jsonrpc": "2.0", "method": method, "params": self.params(method)})
            )
        if r < 0.55:
            method = self.choice(METHODS_REQUEST)
            return self.request(method, self.params(method))
        if r < 0.60:
            params = self.json_value()
            code = -32601 if params is None or isinstance(params, dict | list) else -32602
            return self.request(f"magray/{self.text()[:10]}nothing", params, code)
        if r < 0.63:
            return frame(
                encode({"jsonrpc": "2.0", "method": "x/unknownNotification", "params": {}})
            )
        if r < 0.72:
            return self.wrong_shape()
        if r < 0.82:
            return self.invalid_json()
        if r < 0.88:
            return self.framed(self.rng.randbytes(self.rng.randrange(0, 300)))
        return self.broken_header()

    def wrong_shape(self) -> bytes:
        k = self.rng.randrange(9)
        if k == 0:
            return self.framed(
                encode(self.choice([[], [1, 2], 5, "x", None, True, [{"jsonrpc": "2.0"}]]))
            )
        if k == 1:
            return self.framed(encode({"id": "no-jsonrpc", "method": "textDocument/hover"}))
        if k == 2:
            return self.framed(encode({"jsonrpc": "1.0", "id": "v1", "method": "x"}))
        if k == 3:
            bad_id = self.choice([1.5, True, {"a": 1}, [1], None])
            return self.framed(
                encode({"jsonrpc": "2.0", "id": bad_id, "method": "textDocument/hover"})
            )
        if k == 4:
            return self.framed(encode({"jsonrpc": "2.0", "method": self.choice([1, None, [], {}])}))
        if k == 5:
            return self.request("textDocument/hover", self.choice(["string", 5, True]), -32602)
        if k == 6:
            doc = {"uri": self.real_uri, "languageId": "python", "version": 1, "text": "x"}
            return self.request("textDocument/didOpen", {"textDocument": doc}, -32600)
        if k == 7:  # a response to a request the server never sent: ignored, never answered
            return frame(encode({"jsonrpc": "2.0", "id": 99_999, "result": self.json_value()}))
        msg_id = self.new_id()  # a request with no params where they are required
        self.expect_answer(msg_id, -32602)
        self.sent[_key(msg_id)] = "codeAction without params"
        return frame(encode({"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/codeAction"}))

    def invalid_json(self) -> bytes:
        valid = encode({"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": {}})
        k = self.rng.randrange(6)
        if k == 0:
            body = valid[: self.rng.randrange(1, len(valid))]
        elif k == 1:
            body = b'{"jsonrpc": "2.0", "id": 1,}'
        elif k == 2:
            body = b"[" * self.rng.randrange(1000, 100_000)
        elif k == 3:
            body = b'{"jsonrpc": "2.0", "method": "x", "params": NaN'
        elif k == 4:
            body = b'{"a": "\xff\xfe invalid utf-8"}'
        else:
            body = b""
        return self.framed(body)

    def broken_header(self) -> bytes:
        body = encode({"jsonrpc": "2.0", "method": "x/lost", "params": {}})
        k = self.rng.randrange(8)
        if k == 0:
            return b"Content-Length: -5\r\n\r\n" + body
        if k == 1:
            return b"Content-Length: abc\r\n\r\n" + body
        if k == 2:
            return b"Content-Type: application/json\r\n\r\n" + body  # no length at all
        if k == 3:  # declared shorter than the body: the rest is junk before the next header
            cut = self.rng.randrange(1, len(body))
            self.framed(body[:cut])
            return b"Content-Length: %d\r\n\r\n" % cut + body
        if k == 4:  # junk with no newline glued to the next header
            return self.rng.randbytes(50).replace(b"\n", b"").replace(b"\r", b"")
        if k == 5:  # a big but allowed body of junk (2-3 MB): read and answered -32700
            return self.framed(b"x" * self.rng.randrange(2_000_000, 3_000_000))
        if k == 6:  # an overlong header line
            return b"X-Junk: " + b"a" * self.rng.randrange(9_000, 40_000) + b"\r\n"
        return b"Content-Length: 5\r\nContent-Length: %d\r\n\r\n" % len(body) + body  # last wins

    def storm(self, n: int) -> Iterator[bytes]:
        for _ in range(n):
            yield self.message()


# ------------------------------------------------------------------ the test


def check_answers(client: RawClient, fuzz: Fuzzer) -> None:
    # Frames are handled in order and refusals are answered at once: when a request sent after
    # the storm is answered, so is every frame before it (junk at the end of the storm too).
    position = {"line": 0, "character": 0}
    never = {"textDocument": {"uri": "file:///never-opened.py"}, "position": position}
    assert client.request(f"sync-{fuzz.next_id}", "textDocument/hover", never)["result"] is None

    def missing() -> list[str]:
        return [fuzz.sent[_key(i)] for i in fuzz.ids if _key(i) not in client.responses]

    client.wait_until(
        lambda: not missing(),
        "every request to be answered",
        lambda: f"{missing()}; frames the client could not read: {client.bad_frames[:5]}",
    )
    internal = []
    for msg_id in fuzz.ids:
        [reply] = client.responses[_key(msg_id)]  # exactly one answer each
        assert reply.get("jsonrpc") == "2.0", reply
        assert ("result" in reply) != ("error" in reply), reply
        if "error" in reply:
            code = reply["error"]["code"]
            assert code in JSONRPC_CODES and isinstance(reply["error"]["message"], str), reply
            if code == -32603:
                internal.append(reply)
        expected = fuzz.expected_codes.get(_key(msg_id))
        if expected is not None:
            assert "error" in reply and reply["error"]["code"] == expected, (msg_id, reply)
    kinds = {(r["error"]["message"][:80], _where(r)) for r in internal}
    assert internal == [], f"{len(internal)} internal errors: {sorted(kinds)}"
    for reply in client.null_id_errors:
        assert reply["error"]["code"] in (-32700, -32600, -32602), reply
    parse_errors = [r for r in client.null_id_errors if r["error"]["code"] == -32700]
    assert len(parse_errors) == fuzz.parse_errors
    assert client.bad_frames == []


def _where(reply: dict[str, Any]) -> str:
    """The last magray frame of an internal error's traceback (for the failure message)."""
    frames = (reply["error"].get("data") or {}).get("traceback") or []
    ours = [f.strip().splitlines()[0] for f in frames if "magray_lsp" in f]
    return ours[-1] if ours else "?"


def start_server(
    workspace: Path, tmp_path: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic
) -> RawClient:
    # Every runtime the storm creates (extra folders, files outside the workspace) reads the user
    # config: it names the fakes and disables the in-process model (minutes of CPU per answer).
    user_config = tmp_path / "config" / "magray" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text(magray_toml(openai_fake, anthropic_fake))
    # faulthandler: a native crash (tree-sitter, llama.cpp) leaves its stack in server.log
    env = {**SERVER_ENV, "XDG_CONFIG_HOME": str(tmp_path / "config"), "PYTHONFAULTHANDLER": "1"}
    return RawClient(workspace, tmp_path / "server.log", env)


@pytest.fixture
def raw_server(
    workspace: Path, tmp_path: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic
) -> Iterator[RawClient]:
    client = start_server(workspace, tmp_path, openai_fake, anthropic_fake)
    try:
        initialize(client, workspace)
        yield client
    finally:
        client.close()


def test_json_rpc_storm_leaves_the_server_answering_with_bounded_memory(
    raw_server: RawClient, workspace: Path
) -> None:
    seed = int(os.environ.get("MAGRAY_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
    print(f"fuzz seed: {seed} (MAGRAY_FUZZ_SEED={seed} replays it)")
    client = raw_server
    real_uri = (workspace / "sample.py").as_uri()
    assert_real_code_action_works(client, real_uri, "before")
    started = time.monotonic()

    # (VmRSS, whether the embedded model is loaded) after each storm. A folder the storm adds
    # while its random settings are broken runs on the built-in defaults — the embedded local
    # model (a broken configuration must not send code anywhere the user did not choose) — and
    # loading it costs ~200 MB once; a config reload frees it again. Growth is only compared
    # between two storms that ended in the same model state, storming on until two do.
    after: list[tuple[int, bool]] = []
    round_ = 0
    while len(after) < 2 or after[-1][1] != after[-2][1]:
        assert round_ < MAX_STORMS, f"the model state never settled: {after}"
        fuzz = Fuzzer(seed + round_, workspace)
        fuzz.next_id = round_ * 1_000_000
        for data in fuzz.storm(MESSAGES_PER_STORM):
            client.send_bytes(data)
        check_answers(client, fuzz)
        client.null_id_errors.clear()
        assert client.proc.poll() is None
        assert_real_code_action_works(client, real_uri, f"after-{round_}")
        after.append((client.rss_kb(), client.embedded_model_loaded()))
        print(
            f"storm {round_ + 1}: {len(fuzz.ids)} requests answered, VmRSS "
            f"{after[-1][0] // 1024} MB, embedded model loaded: {after[-1][1]}"
        )
        round_ += 1
    print(f"{round_} storms of {MESSAGES_PER_STORM} messages in {time.monotonic() - started:.1f}s")
    growth_mb = (after[-1][0] - after[-2][0]) / 1024
    assert growth_mb < RSS_GROWTH_LIMIT_MB, f"the last storm grew VmRSS by {growth_mb:.0f} MB"


def test_an_oversized_message_is_skipped_with_an_error_in_bounded_memory(
    raw_server: RawClient, workspace: Path
) -> None:
    client = raw_server
    real_uri = (workspace / "sample.py").as_uri()
    assert_real_code_action_works(client, real_uri, "before")
    before = client.rss_kb()
    size = 80 * 2**20  # over the 64 MiB message limit
    client.send_bytes(b"Content-Length: %d\r\n\r\n" % size)
    chunk = b"x" * 2**20
    for _ in range(size // len(chunk)):
        client.send_bytes(chunk)
    client.wait_until(lambda: bool(client.null_id_errors), "the error for the oversized message")
    [error] = client.null_id_errors
    assert error["error"]["code"] == -32600
    assert "83886080 bytes is over the 67108864-byte limit" in error["error"]["message"]
    assert_real_code_action_works(client, real_uri, "after")  # still in step with the stream
    growth_mb = (client.rss_kb() - before) / 1024
    assert growth_mb < 32, f"skipping 80 MB grew VmRSS by {growth_mb:.0f} MB"


def test_documents_over_the_limit_stay_in_sync_but_get_only_a_note(
    workspace: Path, tmp_path: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic
) -> None:
    config = workspace / ".magray.toml"
    config.write_text(config.read_text() + "\n[limits]\nmax_document_bytes = 4096\n")
    client = start_server(workspace, tmp_path, openai_fake, anthropic_fake)
    try:
        caps = {"textDocument": {"codeAction": {"disabledSupport": True}}}
        initialize(client, workspace, caps)
        big_uri = (workspace / "big.py").as_uri()
        big = "def f(x):\n    return x\n" * 400  # ~10 KB
        doc = {"uri": big_uri, "languageId": "python", "version": 1, "text": big}
        client.notify("textDocument/didOpen", {"textDocument": doc})
        pos = {"line": 1, "character": 4}
        params = {
            "textDocument": {"uri": big_uri},
            "range": {"start": pos, "end": pos},
            "context": {"diagnostics": []},
        }
        [note] = client.request("big-1", "textDocument/codeAction", params)["result"]
        assert "too large for magray" in note["disabled"]["reason"]
        assert "command" not in note and "edit" not in note
        args = [{"uri": big_uri, "range": {"start": pos, "end": pos}}]
        ran = client.request(
            "big-2", "workspace/executeCommand", {"command": "magray.explain", "arguments": args}
        )
        assert ran["result"]["ok"] is False and "too large" in ran["result"]["error"]
        assert openai_fake.requests == []  # nothing was sent for it
        # an edit that shrinks it under the limit brings the actions back: it stayed in sync
        change = {
            "range": {"start": {"line": 2, "character": 0}, "end": {"line": 800, "character": 0}},
            "text": "",
        }
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": big_uri, "version": 2}, "contentChanges": [change]},
        )
        titles = [
            a["title"] for a in client.request("big-3", "textDocument/codeAction", params)["result"]
        ]
        assert titles and titles[0].startswith("Explain `f`"), titles
    finally:
        client.close()
