"""Two loopback providers behind one gateway: OpenAI primary, Anthropic secondary."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI

from magray_lsp.cache import ResponseCache
from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import load_config
from magray_lsp.config.models import CacheConfig
from magray_lsp.cost.ledger import Ledger, LedgerEntry
from magray_lsp.gateway import Gateway
from magray_lsp.task import Action, Task


@pytest.fixture(scope="session")
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="session")
def anthropic_server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def primary(openai_server: FakeOpenAI) -> FakeOpenAI:
    openai_server.reset()
    return openai_server


@pytest.fixture
def secondary(anthropic_server: FakeAnthropic) -> FakeAnthropic:
    anthropic_server.reset()
    return anthropic_server


def settings(primary: FakeOpenAI, secondary: FakeAnthropic, **extra: Any) -> dict[str, Any]:
    """Deterministic prices so money assertions are exact."""
    base: dict[str, Any] = {
        "llm": {
            "openai": {
                "api_key": "sk-primary",
                "base_url": primary.base_url,
                "timeout_seconds": 2,
                "models": {"default": "gpt-4o-mini"},
                "prices": {"gpt-4o-mini": {"input_per_mtok": "1", "output_per_mtok": "2"}},
                "max_concurrency": 64,
            },
            "anthropic": {
                "api_key": "sk-secondary",
                "base_url": secondary.url,
                "timeout_seconds": 2,
                "models": {"default": "claude-3-5-haiku-latest"},
                "prices": {
                    "claude-3-5-haiku-latest": {"input_per_mtok": "3", "output_per_mtok": "4"}
                },
                "max_concurrency": 64,
            },
            "local": {"enabled": False},
        },
        "routing": {"default": "openai.default"},
        "retry": {"max_attempts": 3, "base_delay_seconds": 0.001, "max_delay_seconds": 0.01},
    }
    return deep_merge(base, extra)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class Sleeps:
    """Records backoff delays instead of sleeping them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make_gateway(
    tmp_path: Path, primary: FakeOpenAI, secondary: FakeAnthropic, sleeps: Sleeps
) -> AsyncIterator[Callable[..., Gateway]]:
    made: list[Gateway] = []

    def make(*, cache: bool = False, **extra: Any) -> Gateway:
        loaded = load_config(
            settings=settings(primary, secondary, **extra), env={}, include_user=False
        )
        cache_tier = ResponseCache(CacheConfig(dir=str(tmp_path / "cache"))) if cache else None
        gw = Gateway(
            Catalog(loaded),
            ledger=Ledger(tmp_path / "ledger.sqlite3"),
            cache=cache_tier,
            workspace=str(tmp_path),
            sleep=sleeps,
        )
        made.append(gw)
        return gw

    yield make
    for gw in made:
        await gw.aclose()


def task(action: Action = "explain", key: str = "", **kw: Any) -> Task:
    return Task(
        action=action,
        system="You explain code.",
        prompt="def f(): pass",
        context_tokens=100,
        max_output_tokens=50,
        cache_key=key,
        **kw,
    )


ZERO = Decimal(0)


def ledger_rows(gw: Gateway) -> list[LedgerEntry]:
    """``gw``'s ledger, newest first, once every row it journaled is in it (the writer thread
    puts them there right after; a reader in this process waits for that, as `Gateway.flush`)."""
    assert gw.writer.flush(30), "the ledger writer did not catch up"
    return gw.ledger.recent()
