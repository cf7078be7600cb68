"""`magray-lsp dashboard` as a user runs it: prints its URL, serves until stopped, refuses to
listen anywhere but loopback."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest
from tests.dashboard import seed
from tests.lsp.test_event_loop import default_sigint

from magray_lsp.event_loop import ENV_VAR


async def test_prints_its_url_and_serves_the_ledger(tmp_path: Path, seeded: Path) -> None:
    (tmp_path / ".magray.toml").write_text("[budget]\nmonthly_usd = 7.5\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "magray_lsp", "dashboard", "--no-browser", "--port", "0",
        "--ledger", str(seeded), "--workspace", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            data = (await http.get(found.group(0) + "api/dashboard?range=all")).json()
        assert data["ledger"] == str(seeded)
        assert data["totals"]["requests"] == len(seed.SEED)
        assert data["budget"]["limit_usd"] == "7.5"  # the workspace's budget
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 60)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.0.2"])
async def test_refuses_a_non_loopback_host(host: str, tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "magray_lsp", "dashboard", "--no-browser", "--host", host,
        "--workspace", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1 and out == b""
    assert f"only listens on loopback (127.0.0.1 or ::1), not {host}" in err.decode()


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
async def test_ctrl_c_stops_it_with_130_and_no_traceback(
    loop: str, tmp_path: Path, seeded: Path
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "magray_lsp", "dashboard", "--no-browser", "--port", "0",
        "--ledger", str(seeded), "--workspace", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, ENV_VAR: loop}, preexec_fn=default_sigint,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert "http://127.0.0.1:" in line  # serving
        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 60)
        stderr = (await proc.stderr.read()).decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 130, stderr
    assert "Traceback" not in stderr, stderr
