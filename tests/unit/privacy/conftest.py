"""A gateway over loopback fakes where `remote = true` makes a fake count as a cloud provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.unit.gateway.conftest import (  # the fake servers are shared with the gateway tests
    anthropic_server,  # noqa: F401
    openai_server,  # noqa: F401
    settings,
)

from magray_lsp.cache import ResponseCache
from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import load_config
from magray_lsp.config.models import CacheConfig
from magray_lsp.cost.ledger import Ledger
from magray_lsp.gateway import Gateway


async def _no_sleep(delay: float) -> None:
    return None


@pytest.fixture
def cloud(openai_server: FakeOpenAI) -> FakeOpenAI:  # noqa: F811 (the imported fixture)
    """The OpenAI fake of the gateway tests, here playing a cloud provider."""
    openai_server.reset()
    return openai_server


@pytest.fixture
def second(anthropic_server: FakeAnthropic) -> FakeAnthropic:  # noqa: F811
    anthropic_server.reset()
    return anthropic_server


@pytest.fixture
async def make_gateway(
    tmp_path: Path, cloud: FakeOpenAI, second: FakeAnthropic
) -> AsyncIterator[Callable[..., Gateway]]:
    """``make_gateway(cache=..., **config)``: OpenAI fake primary, Anthropic fake secondary."""
    made: list[Gateway] = []

    def make(*, cache: bool = False, **extra: Any) -> Gateway:
        loaded = load_config(settings=settings(cloud, second, **extra), env={}, include_user=False)
        tier = ResponseCache(CacheConfig(dir=str(tmp_path / "cache"))) if cache else None
        gw = Gateway(
            Catalog(loaded),
            ledger=Ledger(tmp_path / "ledger.sqlite3"),
            cache=tier,
            workspace=str(tmp_path),
            sleep=_no_sleep,
        )
        made.append(gw)
        return gw

    yield make
    for gw in made:
        await gw.aclose()
