"""Suite-wide isolation: no test reads the developer's own config, cache or API keys; and every
test runs on the event loop the server runs on."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from magray_lsp import event_loop
from magray_lsp.errors import MagrayError

try:
    #: what `magray-lsp` runs on here: uvloop, or asyncio's with MAGRAY_EVENT_LOOP=asyncio (the
    #: servers and CLIs the tests start inherit the variable, so one setting covers the suite)
    LOOP = event_loop.choose()
except MagrayError as exc:
    raise pytest.UsageError(str(exc)) from None


def pytest_report_header() -> str:
    return f"event loop: {LOOP.label} (set {event_loop.ENV_VAR}=asyncio|uvloop to choose)"


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """pytest-asyncio makes each async test's loop with this factory (one: no test id changes)."""
    return {LOOP.name: LOOP.factory}


_KEY_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "HF_TOKEN",
    "OPENAI_ORG_ID",
    "OLLAMA_HOST",
)


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    for var in _KEY_VARS:
        monkeypatch.delenv(var, raising=False)
    # Loopback fakes must never be reached through a proxy.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert os.environ["XDG_CONFIG_HOME"].startswith(str(home))
    yield home
