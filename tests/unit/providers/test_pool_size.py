"""Every HTTP adapter sizes its connection pool from its section's `max_concurrency`.

Requests are sent straight to the adapters (no gateway, whose semaphore would hide the pool), all
at once, against fakes that hold each answer back a little; the fakes count the TCP connections
they were reached on.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import SecretStr
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import FakeServer, Reply
from tests.fakes.gemini import FakeGemini
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai import FakeOpenAI

from magray_lsp.config.models import ProviderConfig
from magray_lsp.providers import create_provider
from magray_lsp.providers._http import SPARE_CONNECTIONS
from magray_lsp.providers.base import ChatRequest, Message

# kind → (fake, how the section reaches it, a model it serves)
ADAPTERS: dict[str, tuple[type[FakeServer], str, str]] = {
    "openai": (FakeOpenAI, "base_url", "gpt-4o-mini"),
    "anthropic": (FakeAnthropic, "url", "claude-3-5-haiku-20241022"),
    "google": (FakeGemini, "url", "gemini-2.0-flash"),
    "ollama": (FakeOllama, "url", "llama3.1"),
}


async def burst(kind: str, max_concurrency: int, requests: int) -> int:
    """Send `requests` at once through a `kind` adapter; the connections its fake saw."""
    fake_class, url_attribute, model = ADAPTERS[kind]
    fake: Any = fake_class()
    with fake:
        fake.default = Reply(text="ok", delay=0.4)
        cfg = ProviderConfig(
            kind=kind,
            api_key=SecretStr("sk-pool"),
            base_url=getattr(fake, url_attribute),
            timeout_seconds=60,
            max_concurrency=max_concurrency,
        )
        provider = create_provider(kind, cfg)
        request = ChatRequest(model=model, messages=(Message("user", "hi"),), max_tokens=5)
        try:
            answers = await asyncio.gather(*(provider.complete(request) for _ in range(requests)))
        finally:
            await provider.aclose()
        assert [a.text for a in answers] == ["ok"] * requests  # all served, some waited
        return int(fake.connections)


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
async def test_a_small_max_concurrency_caps_the_connections(kind: str) -> None:
    assert await burst(kind, max_concurrency=3, requests=12) <= 3 + SPARE_CONNECTIONS


async def test_a_large_max_concurrency_is_not_capped_at_64() -> None:
    """The OpenAI adapter's pool used to stay at 64 whatever `max_concurrency` said."""
    assert await burst("openai", max_concurrency=100, requests=80) == 80
