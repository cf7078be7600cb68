"""Benchmark the language server end to end over stdio, with a hand-written JSON-RPC client.

    python bench/bench_lsp.py [--starts N] [--lines L] [--edits E] [--hits H]

a) process start → `initialize` result of `python -m magray_lsp serve` (median of N starts),
   against `python -c pass` and a process that only imports the server modules;
b) `textDocument/codeAction` listing on a generated L-line Python file, each after a one-character
   incremental `didChange` (and, for comparison, with no edit in between);
c) a cache-hit `workspace/executeCommand magray.explain` round trip (the same call again), with
   the loopback OpenAI fake behind the server.
Every request time is measured against the round trip of a request the server does not know
(pygls answers "method not found"): the floor of one JSON-RPC round trip here.
Goals (issue): start < 1 s, listing p99 < 10 ms, cache-hit round trip < 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import pstats
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from _common import (
    ROOT,
    SERVER,
    add_loop_option,
    command_line,
    fake_openai,
    machine,
    median,
    ms,
    percentile,
    run_on_loop,
    table,
    use_loop,
    verdict,
)
from bench_context import generate

GOAL_START = 1.0
GOAL_LISTING_P99 = 0.010
GOAL_HIT = 0.005
SERVE = [sys.executable, "-m", "magray_lsp", "serve"]
# Import the server and leave without interpreter teardown (which the other rows do not pay).
IMPORT_ONLY = "import os, magray_lsp.cli, magray_lsp.lsp.server; os._exit(0)"

SAMPLE = """import json


def parse_header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()


class Registry:
    def add(self, key: str, value: int) -> None:
        self.items[key] = value
"""


def magray_toml(base_url: str) -> str:
    """As tests/lsp/conftest.py `magray_toml`, with OpenAI only."""
    return f"""
[llm.openai]
api_key = "sk-lsp-bench"
base_url = "{base_url}"
timeout_seconds = 5
[llm.openai.models]
default = "gpt-4o-mini"

[llm.local]
enabled = false

[routing]
default = "openai.default"

[retry]
max_attempts = 1
"""


def server_env(home: Path, *, bytecode: bool = True) -> dict[str, str]:
    """Isolated XDG dirs, no API keys, no proxies. With `bytecode`, compiled modules are cached
    under `home` (as any normal install does it) whatever PYTHONDONTWRITEBYTECODE says."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("API_KEY", "_TOKEN"))}
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(var, None)
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=os.pathsep.join([str(SERVER), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    return env


class RpcError(Exception):
    pass


class Client:
    """A minimal LSP client: Content-Length framing, ids, server→client requests answered null."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self._next = 0
        self._waiting: dict[int, asyncio.Future[tuple[Any, float]]] = {}
        self.notifications: list[dict[str, Any]] = []
        #: time.monotonic() when each notification was read (CLOCK_MONOTONIC: system-wide, so
        #: comparable with a timestamp another process took)
        self.notification_times: list[float] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def spawn(cls, env: dict[str, str], log: Path, command: list[str] = SERVE) -> Client:
        with log.open("ab") as err:
            proc = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                env=env,
                cwd=str(ROOT),
                limit=64 * 2**20,
            )
        return cls(proc)

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def send(self, method: str, params: Any) -> asyncio.Future[tuple[Any, float]]:
        """Write a request now; the future gets (result, perf_counter when it was read)."""
        self._next += 1
        future: asyncio.Future[tuple[Any, float]] = asyncio.get_running_loop().create_future()
        self._waiting[self._next] = future
        self._write({"id": self._next, "method": method, "params": params})
        return future

    async def request(self, method: str, params: Any) -> tuple[Any, float]:
        """(result, seconds from write to the response being read)."""
        start = time.perf_counter()
        result, received = await self.send(method, params)
        return result, received - start

    def notify(self, method: str, params: Any) -> None:
        self._write({"method": method, "params": params})

    def open_document(self, uri: str, text: str, version: int = 1) -> None:
        item = {"uri": uri, "languageId": "python", "version": version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": item})

    async def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while True:
                line = await out.readline()
                if not line:
                    for future in self._waiting.values():
                        if not future.done():
                            future.set_exception(RpcError("the server exited"))
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            message = json.loads(await out.readexactly(length))
            received = time.perf_counter()
            if "method" in message:
                if "id" in message:  # a request from the server: accept, answer null
                    self._write({"id": message["id"], "result": None})
                else:
                    self.notifications.append(message)
                    self.notification_times.append(time.monotonic())
                continue
            future = self._waiting.pop(message.get("id"), None)
            if future is None or future.done():
                continue
            if "error" in message:
                future.set_result((RpcError(message["error"].get("message", "")), received))
            else:
                future.set_result((message.get("result"), received))

    async def close(self) -> None:
        with contextlib.suppress(RpcError, ConnectionError, TimeoutError):
            async with asyncio.timeout(10):
                await self.request("shutdown", None)
                self.notify("exit", None)
                await self.proc.wait()
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def initialize_params(workspace: Path) -> dict[str, Any]:
    return {
        "processId": os.getpid(),
        "rootUri": workspace.as_uri(),
        "workspaceFolders": [{"uri": workspace.as_uri(), "name": "ws"}],
        "capabilities": {
            "textDocument": {
                "synchronization": {"didSave": True},
                "codeAction": {
                    "dataSupport": True,
                    "resolveSupport": {"properties": ["edit"]},
                },
            },
            "workspace": {"applyEdit": True},
        },
    }


@contextlib.asynccontextmanager
async def session(
    env: dict[str, str], workspace: Path, log: Path, command: list[str] = SERVE
) -> AsyncIterator[Client]:
    client = await Client.spawn(env, log, command)
    try:
        result, _ = await client.request("initialize", initialize_params(workspace))
        if isinstance(result, RpcError):
            raise result
        client.notify("initialized", {})
        yield client
    finally:
        await client.close()


async def run_process(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*args, env=env, cwd=str(ROOT))
    if await proc.wait() != 0:
        raise RuntimeError(f"{args} failed")
    return time.perf_counter() - start


async def startup(
    env: dict[str, str], as_is: dict[str, str], workspace: Path, log: Path, n: int
) -> dict[str, list[float]]:
    """Interleaved: python -c pass, a process importing the server, serve → initialize result
    with bytecode cached (`env`), and serve → initialize in the environment as it came."""
    await run_process([sys.executable, "-c", IMPORT_ONLY], env)  # fill the bytecode cache
    out: dict[str, list[float]] = {"pass": [], "import": [], "initialize": [], "as_is": []}
    for _ in range(n):
        out["pass"].append(await run_process([sys.executable, "-c", "pass"], env))
        out["import"].append(await run_process([sys.executable, "-c", IMPORT_ONLY], env))
        for key, environ in (("initialize", env), ("as_is", as_is)):
            start = time.perf_counter()
            client = await Client.spawn(environ, log)
            try:
                result, received = await client.send("initialize", initialize_params(workspace))
                if isinstance(result, RpcError):
                    raise result
                out[key].append(received - start)
                client.notify("initialized", {})
            finally:
                await client.close()
    return out


async def import_profile(env: dict[str, str]) -> tuple[list[tuple[str, float]], float]:
    """Import time of the server module by top-level package (sum of `-X importtime` self
    times, which partition the total), largest first, and the total."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-X",
        "importtime",
        "-c",
        "import magray_lsp.lsp.server",
        env=env,
        cwd=str(ROOT),
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    by_package: dict[str, float] = {}
    for line in err.decode().splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if not own.isdigit():
            continue
        top = name.split(".")[0]
        by_package[top] = by_package.get(top, 0.0) + int(own) / 1e6
    rows = sorted(by_package.items(), key=lambda r: r[1], reverse=True)
    return rows[:10], sum(by_package.values())


def code_action_params(uri: str, line: int, char: int) -> dict[str, Any]:
    pos = {"line": line, "character": char}
    return {
        "textDocument": {"uri": uri},
        "range": {"start": pos, "end": pos},
        "context": {"diagnostics": []},
    }


async def ping(client: Client, n: int) -> list[float]:
    """Round trip of a request the server does not implement (answered with an error)."""
    out = []
    for _ in range(n):
        result, elapsed = await client.request("magray/benchPing", {})
        assert isinstance(result, RpcError), result
        out.append(elapsed)
    return out


def titles(result: Any) -> list[str]:
    return [a["title"] for a in result or [] if isinstance(a, dict)]


class BigFile:
    """The generated file, open in the server; `line` is a `return y` line in the middle."""

    def __init__(self, workspace: Path, lines: int, name: str = "big.py") -> None:
        self.text = generate(lines)
        path = workspace / name
        path.write_text(self.text)
        self.uri = path.as_uri()
        rows = self.text.split("\n")
        self.line = lines // 2
        while not rows[self.line].startswith("        return y"):
            self.line += 1
        self.version = 1
        self.typed = False  # whether the 'x' is in the text right now

    async def open(self, client: Client) -> tuple[float, list[str]]:
        """didOpen, then wait until a listing names the unit (the tree was parsed in a worker
        thread); the time that took and those titles."""
        client.open_document(self.uri, self.text, self.version)
        start = time.perf_counter()
        first: list[str] = []
        for _ in range(1000):
            params = code_action_params(self.uri, self.line, 10)
            result, _ = await client.request("textDocument/codeAction", params)
            first = titles(result)
            if first and "`Widget" in first[0]:
                break
            await asyncio.sleep(0.01)
        return time.perf_counter() - start, first

    async def still(self, client: Client, n: int) -> list[float]:
        """Listings with the tree current: the cursor moves, nothing is typed."""
        out = []
        for i in range(n):
            params = code_action_params(self.uri, self.line - 6 * (i % 40), 10)
            _, elapsed = await client.request("textDocument/codeAction", params)
            out.append(elapsed)
        return out

    async def edit_and_list(self, client: Client, n: int) -> dict[str, Any]:
        """n × (type or delete one character at the cursor, then list): from the codeAction
        write and from the didChange write to the answer."""
        after_edit: list[float] = []
        edit_to_answer: list[float] = []
        seen: list[str] = []
        for _ in range(n):
            self.version += 1
            end = 9 if self.typed else 8
            change = {
                "range": {
                    "start": {"line": self.line, "character": 8},
                    "end": {"line": self.line, "character": end},
                },
                "text": "" if self.typed else "x",
            }
            self.typed = not self.typed
            changed = time.perf_counter()
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": self.uri, "version": self.version},
                    "contentChanges": [change],
                },
            )
            asked = time.perf_counter()
            result, received = await client.send(
                "textDocument/codeAction", code_action_params(self.uri, self.line, 10)
            )
            after_edit.append(received - asked)
            edit_to_answer.append(received - changed)
            seen = titles(result)
        return {"after_edit": after_edit, "edit_to_answer": edit_to_answer, "titles": seen}


async def listing(client: Client, big: BigFile, n: int) -> dict[str, Any]:
    parsed_after, first = await big.open(client)
    still = await big.still(client, n)
    edited = await big.edit_and_list(client, n)
    return {
        "uri": big.uri,
        "line": big.line,
        "parsed_after": parsed_after,
        "still": still,
        "after_edit": edited["after_edit"],
        "edit_to_answer": edited["edit_to_answer"],
        "titles_still": first,
        "titles_after_edit": edited["titles"],
        "bytes": len(big.text.encode()),
    }


async def explain_hits(client: Client, uri: str, line: int, char: int, n: int) -> dict[str, Any]:
    params = {
        "command": "magray.explain",
        "arguments": [
            {
                "uri": uri,
                "range": {
                    "start": {"line": line, "character": char},
                    "end": {"line": line, "character": char},
                },
            }
        ],
    }
    first, miss = await client.request("workspace/executeCommand", params)
    if isinstance(first, RpcError) or not (isinstance(first, dict) and first.get("ok")):
        raise RuntimeError(f"explain failed: {first}")
    hits: list[float] = []
    for _ in range(n):
        result, elapsed = await client.request("workspace/executeCommand", params)
        assert isinstance(result, dict) and result.get("ok"), result
        hits.append(elapsed)
    return {"miss": miss, "hits": hits}


# Where a profile looks: our code and the pygls code that runs for every document change.
_PROFILED = ("/magray_lsp/", "/pygls/workspace/", "/pygls/protocol/language_server.py")
_NOT_WORK = {"<module>", "main", "start_io", "_start_io_async"}


def profile_tables(path: Path, ops: int) -> str:
    stats = pstats.Stats(str(path), stream=io.StringIO())
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]

    def name(key: Any) -> str:
        filename, line, func = key
        short = filename.rsplit("site-packages/", 1)[-1].rsplit("/server/", 1)[-1]
        return f"`{short}:{line}({func})`"

    ours = [
        (k, v)
        for k, v in raw.items()
        if any(p in k[0] for p in _PROFILED) and k[2] not in _NOT_WORK
    ]
    ours.sort(key=lambda kv: kv[1][3], reverse=True)
    cum_rows = [
        (name(k), f"{v[1] / ops:.3g}", ms(v[2] / ops), ms(v[3] / ops)) for k, v in ours[:12]
    ]
    own = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:8]
    self_rows = [(name(k), f"{v[1] / ops:.3g}", ms(v[2] / ops)) for k, v in own]
    return "\n".join(
        [
            table(["function", "calls/op", "self ms/op", "cum ms/op"], cum_rows, "lrrr"),
            "",
            "Top self time, any module:",
            "",
            table(["function", "calls/op", "self ms/op"], self_rows, "lrr"),
        ]
    )


# The server with a profiler that SIGUSR1 switches on and SIGUSR2 off (then dumps to argv[1]),
# so a profile covers only the requests being measured, not start-up and imports.
_PROFILED_SERVER = """
import cProfile, runpy, signal, sys
out, profiles = sys.argv[1], []

def start(*_):
    profiles.append(cProfile.Profile())
    profiles[-1].enable()

def stop(*_):
    profiles[-1].disable()
    profiles[-1].dump_stats(out)

signal.signal(signal.SIGUSR1, start)
signal.signal(signal.SIGUSR2, stop)
sys.argv = ["magray-lsp", "serve"]
runpy.run_module("magray_lsp", run_name="__main__", alter_sys=True)
"""


async def profiled(
    env: dict[str, str], workspace: Path, log: Path, tmp: Path, args: argparse.Namespace
) -> tuple[str, str]:
    """The server under cProfile for exactly the measured requests: edits + listings on the big
    file, then cache-hit explains on it. Per operation."""
    path = tmp / "server.prof"
    command = [sys.executable, "-c", _PROFILED_SERVER, str(path)]
    big = BigFile(workspace, args.lines)
    out = []
    async with session(env, workspace, log, command) as client:
        await big.open(client)
        await big.edit_and_list(client, 40)  # warm-up
        await explain_hits(client, big.uri, big.line, 10, 5)
        for what in ("listing", "explain"):
            path.unlink(missing_ok=True)
            client.proc.send_signal(signal.SIGUSR1)
            await ping(client, 1)  # the handler has run once a later request is answered
            if what == "listing":
                await big.edit_and_list(client, args.edits)
                ops = args.edits
            else:
                await explain_hits(client, big.uri, big.line, 10, args.hits // 2)
                ops = args.hits // 2 + 1
            client.proc.send_signal(signal.SIGUSR2)
            await ping(client, 1)  # ... and has written the profile
            out.append(profile_tables(path, ops))
    return out[0], out[1]


async def cached_flag(client: Client) -> bool | None:
    """Whether the last magray/status said `cached`."""
    for note in reversed(client.notifications):
        if note.get("method") == "magray/status":
            return bool(note["params"].get("cached"))
    return None


async def main_async(args: argparse.Namespace) -> str:
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="magray-bench-lsp-") as tmpdir,
        fake_openai(20) as url,
    ):
        home = Path(tmpdir) / "home"
        workspace = Path(tmpdir) / "ws"
        workspace.mkdir()
        (workspace / ".magray.toml").write_text(magray_toml(url))
        (workspace / "sample.py").write_text(SAMPLE)
        env = server_env(home)
        log = Path(tmpdir) / "server.log"

        as_is = server_env(home, bytecode=False)
        start = await startup(env, as_is, workspace, log, args.starts)
        imports = await import_profile(env)
        async with session(env, workspace, log) as client:
            await ping(client, 20)  # warm-up
            sample_uri = (workspace / "sample.py").as_uri()
            client.open_document(sample_uri, SAMPLE)
            hits = await explain_hits(client, sample_uri, 4, 4, args.hits)
            hit_cached = await cached_flag(client)
            floor1 = await ping(client, args.hits)
            lst = await listing(client, BigFile(workspace, args.lines), args.edits)
            floor2 = await ping(client, args.hits)
            big_hits = await explain_hits(client, lst["uri"], lst["line"], 10, args.hits // 2)
            big_cached = await cached_flag(client)
            floor3 = await ping(client, args.hits)
        profiles = await profiled(env, workspace, log, Path(tmpdir), args) if args.profile else None
        server_log = log.read_text(errors="replace")[-2000:]
    elapsed = time.perf_counter() - started
    return report(
        args,
        start,
        imports,
        lst,
        hits,
        big_hits,
        [*floor1, *floor2, *floor3],
        (hit_cached, big_cached),
        profiles,
        elapsed,
        server_log,
    )


def report(
    args: argparse.Namespace,
    start: dict[str, list[float]],
    imports: tuple[list[tuple[str, float]], float],
    lst: dict[str, Any],
    hits: dict[str, Any],
    big_hits: dict[str, Any],
    floor: list[float],
    cached: tuple[bool | None, bool | None],
    profiles: tuple[str, str] | None,
    elapsed: float,
    server_log: str,
) -> str:
    base = median(start["pass"])
    dont_write = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    init = median(start["initialize"])
    start_rows = [
        ("`python -c pass`", ms(base), ms(max(start["pass"])), "1.00×"),
        (
            "`python -c 'import magray_lsp.cli, magray_lsp.lsp.server; os._exit(0)'`",
            ms(median(start["import"])),
            ms(max(start["import"])),
            f"{median(start['import']) / base:.1f}×",
        ),
        (
            "**`python -m magray_lsp serve` → `initialize` result**",
            ms(init),
            ms(max(start["initialize"])),
            f"{init / base:.1f}×",
        ),
        (
            f"same, environment as is (PYTHONDONTWRITEBYTECODE={dont_write or 'unset'})",
            ms(median(start["as_is"])),
            ms(max(start["as_is"])),
            f"{median(start['as_is']) / base:.1f}×",
        ),
    ]
    floor_p50 = median(floor)
    import_rows = [(f"`{n}`", ms(t), f"{t / imports[1]:.0%}") for n, t in imports[0]]

    def req_row(label: str, samples: list[float], goal: str = "", ok: str = "") -> list[str]:
        p50 = median(samples)
        return [
            label,
            ms(p50),
            ms(percentile(samples, 99)),
            ms(max(samples)),
            f"{p50 / floor_p50:.1f}×",
            goal,
            ok,
        ]

    p99_edit = percentile(lst["after_edit"], 99)
    p99_still = percentile(lst["still"], 99)
    hit_p50 = median(hits["hits"])
    big_p50 = median(big_hits["hits"])
    lines = args.lines
    req_rows = [
        req_row("JSON-RPC floor: unknown method → error", floor),
        req_row(
            f"**codeAction listing, {lines}-line file, after a 1-char didChange**",
            lst["after_edit"],
            "p99 < 10 ms",
            verdict(p99_edit, GOAL_LISTING_P99),
        ),
        req_row("  same, timed from the didChange write", lst["edit_to_answer"]),
        req_row(
            f"codeAction listing, {lines}-line file, no edit (tree current)",
            lst["still"],
            "p99 < 10 ms",
            verdict(p99_still, GOAL_LISTING_P99),
        ),
        req_row(
            "**explain, cache hit, 11-line file** (executeCommand round trip)",
            hits["hits"],
            "< 5 ms",
            verdict(hit_p50, GOAL_HIT),
        ),
        req_row(
            f"explain, cache hit, {lines}-line file after the listing edits",
            big_hits["hits"],
            "< 5 ms",
            verdict(big_p50, GOAL_HIT),
        ),
    ]
    out = [
        f"Machine: {machine()}",
        "",
        f"Command: `{command_line()}` (took {elapsed:.0f} s)",
        "",
        f"Start ({args.starts} starts each, interleaved; workspace with a `.magray.toml`; "
        "bytecode cached under a temporary PYTHONPYCACHEPREFIX unless noted):",
        "",
        table(["process", "median ms", "max ms", "× `python -c pass`"], start_rows, "lrrr"),
        "",
        f"Start goal < 1 s: {verdict(init, GOAL_START)} ({ms(init)} ms median with bytecode "
        f"cached; {ms(median(start['as_is']))} ms in the environment as is).",
        "",
        "Import time of `magray_lsp.lsp.server` by top-level package (sum of `-X importtime` "
        f"self times, one run; total {ms(imports[1])} ms, inflated by `-X importtime`):",
        "",
        table(["package", "ms", "share"], import_rows, "lrr"),
        "",
        f"Requests over stdio ({args.edits} listings each; {args.hits} explain hits on the small "
        f"file, {args.hits // 2} on the big one; goal verdicts on p99 for listings, p50 for "
        "explain):",
        "",
        table(
            ["request", "p50 ms", "p99 ms", "max ms", "× floor", "goal", ""],
            req_rows,
            "lrrrrll",
        ),
        "",
        f"- File: {lst['bytes'] / 1e6:.2f} MB; the first listing naming the unit came "
        f"{ms(lst['parsed_after'])} ms after `didOpen` (worker-thread parse).",
        f"- Titles with the tree current: {lst['titles_still']}",
        f"- Titles after a `didChange`: {lst['titles_after_edit']}",
        "- First explain (cache miss, through the fake; the session's first action also pays "
        f"for lazy imports): {ms(hits['miss'])} ms on the small file, "
        f"{ms(big_hits['miss'])} ms on the big one; `magray/status` said cached = "
        f"{cached[0]} / {cached[1]} for the last hits.",
    ]
    if profiles is not None:
        out += [
            "",
            f"cProfile of the server, {args.edits} × (1-char `didChange` + `codeAction`) on the "
            f"{lines}-line file, per operation (profiler overhead inflates small calls):",
            "",
            profiles[0],
            "",
            f"cProfile of the server, {args.hits // 2} cache-hit explains on the {lines}-line "
            "file, per operation:",
            "",
            profiles[1],
        ]
    if args.show_log:
        out += ["", "Server log tail:", "", "```", server_log, "```"]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=10, help="server starts to time")
    parser.add_argument("--lines", type=int, default=20_000, help="lines of the generated file")
    parser.add_argument("--edits", type=int, default=300, help="listings per measurement")
    parser.add_argument("--hits", type=int, default=100, help="cache-hit explain calls")
    parser.add_argument(
        "--no-profile", dest="profile", action="store_false", help="skip the cProfile sessions"
    )
    parser.add_argument("--show-log", action="store_true", help="print the server log tail")
    add_loop_option(parser)
    args = parser.parse_args()
    use_loop(args.loop)
    print(run_on_loop(main_async(args)))


if __name__ == "__main__":
    main()
