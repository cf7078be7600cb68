"""kill -9 of the language server during 100 concurrent cached requests.

Afterwards the ledger and the disk cache reopen cleanly in a fresh process, every request whose
answer reached the client has its row in the ledger once that process took the dead server's
row journal over, as the next server or `stats` does (the server answers only after the row is
committed: appended to its journal, or in SQLite in WAL with synchronous=NORMAL; both survive
the process dying, the data being in the OS page cache), and a restarted server answers again.

The client is a raw JSON-RPC one over stdio, so the test decides exactly when the server dies and
reads every response that had reached the pipe before it did.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.helpers import openai_only_toml

FUNCTIONS = 10
CONCURRENT = 100
KILL_AFTER = 30  # responses read before the server is killed


def sample() -> str:
    return "\n".join(
        f"def step_{i}(value: int) -> int:\n    return value * {i} + {i}\n"
        for i in range(FUNCTIONS)
    )


def line_of(index: int) -> int:
    return index * 3  # each function: def, return, blank


class RawClient:
    """A JSON-RPC client over the server's stdio; answers server→client requests with null."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.responses: list[tuple[int, Any]] = []
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            header = await stdout.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in header.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            message = json.loads(await stdout.readexactly(length))
            if "method" in message and "id" in message:  # a request to the client
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            elif "id" in message and "method" not in message:
                self.responses.append((message["id"], message))
                future = self.pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def request(self, method: str, params: Any) -> asyncio.Future[Any]:
        self.next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        self._send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return future

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def call(self, method: str, params: Any) -> Any:
        message = await asyncio.wait_for(self.request(method, params), 60)
        assert "error" not in message, message
        return message["result"]

    def explain(self, uri: str, index: int) -> asyncio.Future[Any]:
        pos = {"line": line_of(index), "character": 4}
        args = [{"uri": uri, "range": {"start": pos, "end": pos}}]
        return self.request(
            "workspace/executeCommand", {"command": "magray.explain", "arguments": args}
        )


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        server.default = Reply(text="It scales the value and adds its index.")
        yield server


@pytest.fixture
def home(tmp_path: Path, fake: FakeOpenAI) -> Path:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "steps.py").write_text(sample())
    (tmp_path / "ws" / ".magray.toml").write_text(
        openai_only_toml(fake.base_url, "sk-crash-test", timeout=10)
    )
    return tmp_path


def server_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("API_KEY", "_TOKEN"))}
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


async def start(home: Path) -> tuple[RawClient, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "magray_lsp",
        "serve",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=server_env(home),
        cwd=home / "ws",
        limit=2**24,
    )
    client = RawClient(proc)
    ws = home / "ws"
    await client.call(
        "initialize",
        {"processId": os.getpid(), "rootUri": ws.as_uri(), "capabilities": {}},
    )
    client.notify("initialized", {})
    uri = (ws / "steps.py").as_uri()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": sample()}},
    )
    return client, uri


@pytest.fixture
async def servers() -> AsyncIterator[list[RawClient]]:
    started: list[RawClient] = []
    yield started
    for client in started:
        if client.proc.returncode is None:
            client.proc.kill()
            await client.proc.wait()
        client.reader.cancel()


def reopen(home: Path) -> dict[str, Any]:
    """In a fresh process: open the ledger (magray's Ledger), take the dead server's journal
    over, open the disk cache (diskcache), check both files, list the ledger's request ids."""
    script = textwrap.dedent(f"""
        import json, sqlite3, diskcache
        from pathlib import Path
        from magray_lsp.cost.journal import take_over
        from magray_lsp.cost.ledger import Ledger
        from magray_lsp.cache.disk import responses_dir
        path = Path({str(home / "data" / "magray" / "ledger.sqlite3")!r})
        ledger = Ledger(path)
        take_over(ledger)  # the dead server's journaled rows, as the next server would
        ids = [r[0] for r in ledger.read("SELECT id FROM requests")]
        check = ledger.read("PRAGMA integrity_check")[0][0]
        ledger.close()
        cache = diskcache.Cache(str(responses_dir({str(home / "cache" / "magray")!r})))
        keys = len(list(cache.iterkeys()))
        cache.close()
        db = sqlite3.connect(str(responses_dir({str(home / "cache" / "magray")!r}) / "cache.db"))
        cache_check = db.execute("PRAGMA integrity_check").fetchone()[0]
        print(json.dumps({{"ids": ids, "ledger_check": check, "cache_check": cache_check,
                          "cache_keys": keys, "warnings": ledger.warnings}}))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_kill_9_during_cached_requests_loses_no_acknowledged_row(
    home: Path, fake: FakeOpenAI, servers: list[RawClient]
) -> None:
    client, uri = await start(home)
    servers.append(client)
    for index in range(FUNCTIONS):  # warm the cache: one paid answer per function
        warm = await asyncio.wait_for(client.explain(uri, index), 60)
        assert warm["result"]["ok"], warm
    paid = len(fake.requests)
    assert paid == FUNCTIONS

    # Another process holds the ledger's write lock for a moment: the answers' rows are
    # committed to the server's row journal meanwhile (no SQLite on their path), and reach the
    # ledger after it, or after the kill through the take-over.
    blocker = sqlite3.connect(home / "data" / "magray" / "ledger.sqlite3", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    sent = [client.explain(uri, i % FUNCTIONS) for i in range(CONCURRENT)]
    await asyncio.sleep(1.0)
    blocker.execute("ROLLBACK")
    blocker.close()
    # wait until some answers are in, then kill the server mid-way
    enough = asyncio.Event()
    for future in sent:
        future.add_done_callback(
            lambda _: enough.set() if sum(f.done() for f in sent) >= KILL_AFTER else None
        )
    await asyncio.wait_for(enough.wait(), 60)
    client.proc.send_signal(signal.SIGKILL)
    await client.proc.wait()
    with pytest.raises(asyncio.IncompleteReadError):
        await asyncio.wait_for(client.reader, 30)  # every byte that reached the pipe is read

    answered = [message for _, message in client.responses[FUNCTIONS + 1 :]]
    acknowledged = [m["result"]["requestId"] for m in answered if m.get("result", {}).get("ok")]
    assert len(acknowledged) >= KILL_AFTER
    assert len(fake.requests) == paid  # they were all cache hits

    after = reopen(home)
    assert after["ledger_check"] == "ok" and after["cache_check"] == "ok"
    assert after["warnings"] == []  # not recovered from corruption: clean
    assert after["cache_keys"] >= FUNCTIONS
    missing = set(acknowledged) - set(after["ids"])
    assert not missing, f"{len(missing)} acknowledged requests have no ledger row"

    restarted, uri = await start(home)  # and the server comes back
    servers.append(restarted)
    again = await asyncio.wait_for(restarted.explain(uri, 0), 60)
    assert again["result"]["ok"] and again["result"]["requestId"]
    assert len(fake.requests) == paid  # still answered from the disk cache
