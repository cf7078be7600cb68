"""The language server runs on the loop `magray_lsp.event_loop` picks, over stdio and TCP: a real
`magray-lsp serve` answers initialize → shutdown → exit, and says which loop served it (a probe
wrapped around the coroutine the loop runs prints the loop's type to stderr)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from magray_lsp.event_loop import ENV_VAR
from tests.lsp.conftest import SERVER_ENV
from tests.lsp.test_wire import message, read_messages
from tests.redis_server import free_port

# `serve` with a probe around `module.name`, the coroutine the loop runs: it prints the loop's
# module, then runs the real one.
PROBE = """
import asyncio, sys
import {module} as where
real = where.{name}
async def probe(*args):
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    print("loop:", loop, file=sys.stderr, flush=True)
    return await real(*args)
where.{name} = probe
from magray_lsp.cli import main
raise SystemExit(main(sys.argv[1:]))
"""
STDIO = PROBE.format(module="magray_lsp.lsp.stdio", name="_serve")
TCP = PROBE.format(module="magray_lsp.lsp.tcp", name="serve_tcp")


def session(root: Path) -> bytes:
    init: dict[str, Any] = {"processId": None, "rootUri": root.as_uri(), "capabilities": {}}
    return b"".join(
        [
            message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}),
            message({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
            message({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
            message({"jsonrpc": "2.0", "method": "exit"}),
        ]
    )


def env(loop: str | None) -> dict[str, str]:
    out = {k: v for k, v in SERVER_ENV.items() if k != ENV_VAR}
    return out if loop is None else {**out, ENV_VAR: loop}


def answered(stdout: bytes) -> dict[Any, Any]:
    return {m["id"]: m for m in read_messages(stdout) if "id" in m and "method" not in m}


def serve_stdio(
    root: Path, environment: dict[str, str]
) -> tuple[subprocess.CompletedProcess[bytes], str]:
    """A whole session with the probed stdio server; the process and its stderr."""
    done = subprocess.run(
        [sys.executable, "-c", STDIO, "serve"],
        input=session(root),
        capture_output=True,
        timeout=120,
        env=environment,
        check=False,
    )
    return done, done.stderr.decode()


def broken_uvloop(tmp_path: Path) -> str:
    """A PYTHONPATH on which `import uvloop` fails, as with a broken build."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "uvloop.py").write_text("raise ImportError('broken build')\n")
    return str(shadow)


@pytest.mark.parametrize(("loop", "module"), [(None, "uvloop"), ("asyncio", "asyncio")])
def test_the_stdio_server_runs_on_the_chosen_loop(
    tmp_path: Path, loop: str | None, module: str
) -> None:
    done, stderr = serve_stdio(tmp_path, env(loop))
    assert f"loop: {module}" in stderr.splitlines(), stderr
    replies = answered(done.stdout)
    assert "capabilities" in replies[1]["result"]
    assert replies[2]["result"] is None
    assert done.returncode == 0, stderr


def test_the_stdio_server_refuses_to_start_on_a_missing_uvloop_it_was_asked_for(
    tmp_path: Path,
) -> None:
    done, stderr = serve_stdio(tmp_path, {**env("uvloop"), "PYTHONPATH": broken_uvloop(tmp_path)})
    assert done.returncode == 1
    assert done.stdout == b""  # not a byte of protocol: the client sees the server end
    assert "loop:" not in stderr
    assert (
        f"magray-lsp: {ENV_VAR}=uvloop, but uvloop could not be imported "
        "(ImportError: broken build)"
    ) in stderr


def test_the_stdio_server_falls_back_to_asyncio_and_logs_why(tmp_path: Path) -> None:
    done, stderr = serve_stdio(tmp_path, {**env(None), "PYTHONPATH": broken_uvloop(tmp_path)})
    assert "loop: asyncio" in stderr.splitlines(), stderr
    assert (
        "WARNING magray_lsp.event_loop: running on asyncio's event loop: uvloop could not be "
        "imported (ImportError: broken build)"
    ) in stderr
    assert "capabilities" in answered(done.stdout)[1]["result"]
    assert done.returncode == 0, stderr


@pytest.mark.parametrize(("loop", "module"), [(None, "uvloop"), ("asyncio", "asyncio")])
def test_the_tcp_server_runs_on_the_chosen_loop_and_ends_on_exit(
    tmp_path: Path, loop: str | None, module: str
) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", TCP, "serve", "--tcp", f"127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env(loop),
    )
    try:
        conn = connect(port, proc)
        with conn:
            conn.sendall(session(tmp_path))
            received = b""
            while chunk := conn.recv(65536):  # the server closes the connection after `exit`
                received += chunk
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
        assert proc.stderr is not None
        stderr = proc.stderr.read().decode()
        proc.stderr.close()
    assert f"loop: {module}" in stderr.splitlines(), stderr
    replies = answered(received)
    assert "capabilities" in replies[1]["result"]
    assert replies[2]["result"] is None
    assert code == 0, stderr
    # left on its own, promptly: not by the hard limit (uvloop's serve_forever never ends)
    assert "ERROR" not in stderr and "Traceback" not in stderr, stderr


def connect(port: int, proc: subprocess.Popen[bytes]) -> socket.socket:
    deadline = time.monotonic() + 60
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=60)
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "never listened"
            time.sleep(0.1)


def default_sigint() -> None:
    """In the child before exec: Ctrl-C does what it does in a terminal. A job started in the
    background of a non-interactive shell (as CI may be) inherits SIGINT ignored, and Python
    then never turns it into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupted(proc: subprocess.Popen[bytes], ready: str) -> tuple[int, str]:
    """Ctrl-C (SIGINT) once ``ready`` is on the process's stderr: its exit code and stderr."""
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 60
    while ready not in seen:
        line = proc.stderr.readline().decode()
        assert line or proc.poll() is None, f"ended before {ready!r}: {seen}"
        assert time.monotonic() < deadline, seen
        seen += line
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    seen += proc.stderr.read().decode()
    proc.stderr.close()
    return code, seen


@pytest.mark.parametrize(("loop", "module"), [(None, "uvloop"), ("asyncio", "asyncio")])
@pytest.mark.parametrize("transport", ["stdio", "tcp"])
def test_ctrl_c_ends_the_server_with_130_and_no_traceback(
    tmp_path: Path, loop: str | None, module: str, transport: str
) -> None:
    port = free_port()
    tcp = ["--tcp", f"127.0.0.1:{port}"] if transport == "tcp" else []
    proc = subprocess.Popen(
        [sys.executable, "-c", TCP if tcp else STDIO, "serve", *tcp],
        stdin=subprocess.PIPE,  # left open: the stdio server is mid-session
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env(loop),
        preexec_fn=default_sigint,
    )
    # a client connected, mid-session (a TCP server whose client leaves ends by itself)
    client = connect(port, proc) if tcp else None
    code, stderr = interrupted(proc, f"loop: {module}")
    assert proc.stdin is not None
    proc.stdin.close()
    if client is not None:
        client.close()
    assert code == 130, stderr
    assert "Traceback" not in stderr and "ERROR" not in stderr, stderr
