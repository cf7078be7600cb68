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
