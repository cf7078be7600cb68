"""Private answers never reach a shared Redis; ordinary ones do, and another process reads them.

End to end, as a user runs it: `magray-lsp explain|refactor FILE:LINE` in separate processes, two
workspaces that differ only in `[privacy] mode`, both answered by the same Ollama fake on loopback,
both configured with the same real redis-server as the shared cache tier. Each process has its own
disk cache, so a second process can only find an answer through Redis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from tests.fakes.base import Reply
from tests.fakes.ollama import FakeOllama
from tests.redis_server import RedisServer

from magray_lsp.cache import KEY_PREFIX

CODE = """def parse_header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()
"""
REFACTORED = '''```python
def parse_header(line: str) -> tuple[str, str]:
    """PRIVATE-REFACTOR-7731"""
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()
```'''


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


def workspace(tmp_path: Path, name: str, ollama: FakeOllama, redis_url: str, privacy: str) -> Path:
    root = tmp_path / name
    root.mkdir()
    (root / ".magray.toml").write_text(
        f"""
[llm.ollama]
base_url = "{ollama.url}"
[llm.ollama.models]
default = "llama3.1"
[llm.local]
enabled = false
[cache]
redis_url = "{redis_url}"
[privacy]
{privacy}
"""
    )
    (root / "headers.py").write_text(CODE.replace("parse_header", f"parse_{name}_header"))
    return root


def magray(action: str, root: Path, home: Path) -> dict[str, Any]:
    """One CLI process with its own config, data and (disk) cache directories."""
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "magray_lsp", action, f"{root / 'headers.py'}:2", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=root,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def stored(url: str) -> dict[str, str]:
    client = redis.Redis.from_url(url)
    try:
        found: dict[str, str] = {}
        for key in client.scan_iter(match=KEY_PREFIX + "*"):
            value = client.get(key) or b""
            assert isinstance(value, bytes)  # the client decodes nothing
            found[key.decode()] = value.decode()
        return found
    finally:
        client.close()


def chats(ollama: FakeOllama) -> int:
    return sum(1 for r in ollama.requests if r.path == "/api/chat")


def test_private_answers_leave_no_key_in_redis_and_ordinary_ones_are_shared(
    tmp_path: Path, redis_server: RedisServer, ollama: FakeOllama
) -> None:
    private = workspace(tmp_path, "private", ollama, redis_server.url, 'mode = "local"')
    ordinary = workspace(tmp_path, "ordinary", ollama, redis_server.url, 'mode = "auto"')
    ollama.script(
        Reply(text="PRIVATE-EXPLANATION-5521: it splits a header line."),
        Reply(text=REFACTORED.replace("parse_header", "parse_private_header")),
        Reply(text="An ordinary explanation: it splits a header line."),
    )
    first = magray("explain", private, tmp_path / "alice")
    assert "PRIVATE-EXPLANATION-5521" in first["text"] and not first["cached"]
    refactor = magray("refactor", private, tmp_path / "alice")
    assert refactor["diff"] and "PRIVATE-REFACTOR-7731" in refactor["diff"]
    assert stored(redis_server.url) == {}  # neither the explanation nor the rewritten code
    assert list((tmp_path / "alice" / "cache").rglob("*")), "cached on this machine's disk"

    shared = magray("explain", ordinary, tmp_path / "alice")
    assert not shared["cached"] and chats(ollama) == 3
    keys = stored(redis_server.url)
    assert len(keys) == 1
    [value] = keys.values()
    assert "An ordinary explanation" in value and "PRIVATE" not in value

    # a second process with an empty disk cache: the ordinary answer comes from Redis ...
    again = magray("explain", ordinary, tmp_path / "bob")
    assert again["cached"] and again["text"] == shared["text"] and chats(ollama) == 3
    # ... the private one was never shared, so the model is asked again
    ollama.default = Reply(text="PRIVATE-EXPLANATION-5521 again")
    fresh = magray("explain", private, tmp_path / "bob")
    assert not fresh["cached"] and chats(ollama) == 4
    assert len(stored(redis_server.url)) == 1
