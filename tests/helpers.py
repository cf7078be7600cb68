"""Small helpers shared by the test modules."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable


async def wait_for(predicate: Callable[[], object], within: float = 10.0) -> None:
    """Poll `predicate` until it is truthy; fail after `within` seconds (a hang guard, not a
    performance assertion)."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def openai_only_toml(base_url: str, api_key: str, *, timeout: float = 30, extra: str = "") -> str:
    """A `.magray.toml` whose only provider is one OpenAI(-compatible) fake, local model off."""
    return f"""
[llm.openai]
api_key = "{api_key}"
base_url = "{base_url}"
timeout_seconds = {timeout:g}
[llm.openai.models]
default = "gpt-4o-mini"

[llm.local]
enabled = false

[routing]
default = "openai.default"

[retry]
max_attempts = 1
{extra}"""


def sample_module(functions: int, salt: str = "") -> str:
    """Python source of `functions` small distinct functions: stand-in code context whose size
    is easy to scale (each function is about 30 tokens)."""
    return "\n\n".join(
        f"def helper_{salt}{i}(value: int, scale: float = {i}.5) -> float:\n"
        f'    """Scale value by {i}."""\n'
        f"    return value * scale + {i}"
        for i in range(functions)
    )
