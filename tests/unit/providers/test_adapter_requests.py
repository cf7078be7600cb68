"""What every HTTP adapter does per request, whatever its wire protocol.

Each one says who it is (the same User-Agent, the Anthropic adapter included: it used to send
aiohttp's), and builds its requests from per-provider constants: the section's ``defaults`` are
turned into body fields once, when the provider is made, not again for every request (a
pydantic dump costs about 20 µs), and still reach every request. Against each protocol's
loopback fake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import FakeServer
from tests.fakes.gemini import FakeGemini
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai import FakeOpenAI

from magray_lsp.config.models import GenerationDefaults, ProviderConfig
from magray_lsp.providers import _http, create_provider
from magray_lsp.providers.base import ChatRequest, Completion, Message


@dataclass(frozen=True)
class Adapter:
    kind: str
    fake: Callable[[], FakeServer]
    model: str
    base_path: str = ""


ADAPTERS = [
    Adapter("openai", FakeOpenAI, "gpt-4o-mini", "/v1"),
    Adapter("huggingface", FakeOpenAI, "gpt-4o-mini", "/v1"),
    Adapter("anthropic", FakeAnthropic, "claude-3-5-haiku-20241022"),
    Adapter("google", FakeGemini, "gemini-2.0-flash"),
    Adapter("ollama", FakeOllama, "llama3.1"),
]


@pytest.fixture(params=ADAPTERS, ids=[a.kind for a in ADAPTERS])
def adapter(request: pytest.FixtureRequest) -> Iterator[tuple[Adapter, FakeServer]]:
    spec: Adapter = request.param
    with spec.fake() as fake:
        yield spec, fake


def request_to(spec: Adapter) -> ChatRequest:
    return ChatRequest(spec.model, (Message("system", "Be brief."), Message("user", "hi")))


async def ask(spec: Adapter, fake: FakeServer, cfg: dict[str, Any], times: int) -> None:
    provider = create_provider(
        spec.kind,
        ProviderConfig(
            kind=spec.kind,
            api_key=SecretStr("sk-test"),
            base_url=fake.url + spec.base_path,
            timeout_seconds=10,
            **cfg,
        ),
    )
    try:
        for i in range(times):
            events = [e async for e in provider.generate(request_to(spec), stream=i % 2 == 0)]
            assert isinstance(events[-1], Completion)
    finally:
        await provider.aclose()


async def test_every_adapter_sends_our_user_agent(adapter: tuple[Adapter, FakeServer]) -> None:
    spec, fake = adapter
    await ask(spec, fake, {}, times=2)
    agents = {v for r in fake.requests for k, v in r.headers.items() if k.lower() == "user-agent"}
    assert agents == {_http.USER_AGENT}


async def test_defaults_are_read_once_per_provider_and_reach_every_request(
    adapter: tuple[Adapter, FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, fake = adapter
    dumps: list[object] = []
    dump = GenerationDefaults.model_dump

    def counted(self: GenerationDefaults, *args: Any, **kwargs: Any) -> dict[str, Any]:
        dumps.append(self)
        return dump(self, *args, **kwargs)

    monkeypatch.setattr(GenerationDefaults, "model_dump", counted)
    await ask(spec, fake, {"defaults": {"temperature": 0.25, "seed": 7}}, times=4)
    assert len(dumps) <= 1  # when the provider was made, not per request
    assert len(fake.requests) == 4
    for recorded in fake.requests:
        assert "0.25" in str(recorded.body) and "7" in str(recorded.body), recorded.body
