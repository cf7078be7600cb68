"""The locality guard in the HTTP layer: private content never leaves over a non-local transport,
whatever the router and the gateway decided."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pydantic import SecretStr
from tests.elsewhere import Tripwire, non_loopback_address
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.unit.gateway.conftest import task
from yarl import URL

from magray_lsp.config.models import ProviderConfig
from magray_lsp.errors import MagrayError, PrivacyViolation
from magray_lsp.gateway import Gateway, Outcome
from magray_lsp.providers import ChatRequest, Message, create_provider
from magray_lsp.providers.locality import (
    check_destination,
    is_local_url,
    is_loopback_host,
    private_content,
    private_in_flight,
)
from magray_lsp.routing.router import Plan

MakeGateway = Callable[..., Gateway]
REQUEST = ChatRequest("gpt-4o-mini", (Message("user", "private code"),))


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("127.0.0.1.nip.io", False),  # a DNS name that merely starts like loopback
        ("localhost.example.com", False),
        ("10.0.0.5", False),
        ("192.168.1.10", False),
        ("api.openai.com", False),
        ("::ffff:8.8.8.8", False),
        ("", False),
    ],
)
def test_loopback_hosts(host: str, local: bool) -> None:
    assert is_loopback_host(host) is local


def test_local_urls() -> None:
    assert is_local_url("http://127.0.0.1:11434")
    assert is_local_url("unix:/run/ollama.sock")
    assert not is_local_url("https://127.0.0.1.nip.io/v1")
    assert not is_local_url("https://api.anthropic.com")
    assert not is_local_url("http://[not a url")


def test_the_flag_is_scoped() -> None:
    assert not private_in_flight()
    with private_content("x"):
        assert private_in_flight()
        with private_content(active=False):
            assert private_in_flight()  # an inner public span does not clear an outer private one
    assert not private_in_flight()
    url = URL("https://api.openai.com/v1/chat/completions")
    check_destination(url, provider="openai", remote=False)  # nothing private: allowed
    with private_content("private code"), pytest.raises(PrivacyViolation, match="not this machine"):
        check_destination(url, provider="openai", remote=False)


async def test_a_remote_marked_provider_is_refused_before_connecting(cloud: FakeOpenAI) -> None:
    provider = create_provider(
        "openai",
        ProviderConfig(api_key=SecretStr("sk-x"), base_url=cloud.base_url, remote=True),
    )
    try:
        with private_content("private code"), pytest.raises(PrivacyViolation, match="remote"):
            await provider.complete(REQUEST)
        assert cloud.requests == [] and cloud.connections == 0
        answer = await provider.complete(REQUEST)  # public content may go
        assert answer.text and len(cloud.requests) == 1
    finally:
        await provider.aclose()


async def test_a_provider_that_claims_to_be_local_is_still_stopped(
    cloud: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard looks at the URL and the section, never at the adapter's own `is_local`."""
    provider = create_provider("openai", ProviderConfig(base_url=cloud.base_url, remote=True))
    monkeypatch.setattr(type(provider), "is_local", property(lambda self: True))
    assert provider.is_local
    try:
        with private_content("private code"), pytest.raises(PrivacyViolation):
            await provider.complete(REQUEST)
        assert cloud.connections == 0
    finally:
        await provider.aclose()


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[Tripwire]:
    """A listener on a non-loopback address of this machine, counting connections: what the
    guard must not even open."""
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to listen on")
    with Tripwire(address) as tripwire:
        yield tripwire


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("kind", ["openai", "anthropic", "google", "ollama", "huggingface"])
async def test_every_http_adapter_is_guarded(kind: str, scheme: str, elsewhere: Tripwire) -> None:
    elsewhere.reset()
    base_url = f"{scheme}://{elsewhere.host}:{elsewhere.port}"
    if kind in ("openai", "huggingface"):
        base_url += "/v1"
    provider = create_provider(
        kind, ProviderConfig(api_key=SecretStr("k"), base_url=base_url, timeout_seconds=5)
    )
    try:
        with private_content("private code"), pytest.raises(PrivacyViolation, match="not this"):
            await provider.complete(REQUEST)
        assert elsewhere.accepted == 0  # refused before connecting
        # the same request without private content does connect there (the listener hangs up)
        with pytest.raises(MagrayError):
            await provider.complete(REQUEST)
        assert elsewhere.accepted >= 1
    finally:
        await provider.aclose()


async def test_router_and_gateway_bugs_cannot_leak(
    make_gateway: MakeGateway,
    cloud: FakeOpenAI,
    second: FakeAnthropic,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Force cloud candidates past the router, and make every adapter lie that it is local so
    the gateway's own check passes too: the transport still sends nothing."""
    gw = make_gateway(llm={"openai": {"remote": True}, "anthropic": {"remote": True}})
    plan = gw.plan(task())  # a plan for public code: both cloud models
    assert [c.ref.provider for c in plan.candidates] == ["openai", "anthropic"]
    for name in ("openai", "anthropic"):
        monkeypatch.setattr(
            type(gw.catalog.provider(name)), "is_local", property(lambda self: True)
        )
    with pytest.raises(PrivacyViolation, match="locality guard"):
        async for _ in gw.executor.execute(task(private=True), Plan(plan.candidates), None):
            pass
    assert cloud.connections == 0 and second.connections == 0
    assert cloud.requests == [] and second.requests == []
    # the same gateway still serves public code
    outcome = await gw.run(task())
    assert isinstance(outcome, Outcome) and len(cloud.requests) == 1


async def test_a_private_task_still_falls_back_between_local_models(
    make_gateway: MakeGateway, cloud: FakeOpenAI, second: FakeAnthropic
) -> None:
    from tests.fakes.base import Status

    cloud.default = Status(503, "overloaded")
    gw = make_gateway(routing={"rules": {"private": ["openai.default", "anthropic.default"]}})
    outcome = await gw.run(task(private=True))  # both fakes are loopback, so local
    assert outcome.ref.provider == "anthropic" and outcome.fallback_from == "openai.default"
    assert len(second.requests) == 1
