"""API keys are secret strings: never in errors, reprs, config dumps or `doctor` output, even when a
provider echoes the key back in its error message."""

from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import FakeServer, Status
from tests.fakes.gemini import FakeGemini
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai import FakeOpenAI

from magray_lsp.config.loader import load_config
from magray_lsp.config.models import ProviderConfig
from magray_lsp.errors import ProviderError
from magray_lsp.providers import ChatRequest, Message, create_provider

KEY = "sk-hygiene-3f9a7c1e5b2d4f608a1b"
MODELS = {
    "openai": "gpt-4o-mini",
    "huggingface": "meta-llama/Llama-3.1-8B-Instruct",
    "anthropic": "claude-3-5-haiku-latest",
    "google": "gemini-2.0-flash",
    "ollama": "llama3.1",
}


def _fake(kind: str) -> FakeServer:
    fakes: dict[str, type[FakeServer]] = {
        "openai": FakeOpenAI,
        "huggingface": FakeOpenAI,
        "anthropic": FakeAnthropic,
        "google": FakeGemini,
        "ollama": FakeOllama,
    }
    return fakes[kind]()


def _url(server: FakeServer) -> str:
    return server.base_url if isinstance(server, FakeOpenAI) else server.url


@pytest.mark.parametrize("kind", ["openai", "huggingface", "anthropic", "google", "ollama"])
@pytest.mark.parametrize("status", [401, 400, 500])
async def test_a_key_echoed_by_the_provider_never_reaches_an_error(kind: str, status: int) -> None:
    with _fake(kind) as server:
        server.default = Status(status, f"Incorrect API key provided: {KEY}. Check {KEY}")
        provider = create_provider(
            kind, ProviderConfig(api_key=SecretStr(KEY), base_url=_url(server), timeout_seconds=5)
        )
        try:
            with pytest.raises(ProviderError) as info:
                await provider.complete(ChatRequest(MODELS[kind], (Message("user", "hi"),)))
        finally:
            await provider.aclose()
        assert server.requests, "the fake was not reached"
    # the provider's message did come through (so the key really was in it, and was scrubbed)
    assert "Incorrect API key provided" in str(info.value)
    error = info.value
    assert KEY not in str(error) and KEY not in repr(error)
    assert all(KEY not in str(arg) for arg in error.args)
    assert KEY not in repr(provider)


def test_config_reprs_and_dumps_hide_the_key() -> None:
    loaded = load_config(
        settings={"llm": {"openai": {"api_key": "${OPENAI_API_KEY}"}}},
        env={"OPENAI_API_KEY": KEY},
        include_user=False,
    )
    cfg = loaded.config.llm["openai"]
    assert cfg.api_key is not None and cfg.api_key.get_secret_value() == KEY
    assert KEY not in repr(loaded.config) and KEY not in str(cfg)
    assert KEY not in loaded.config.model_dump_json()


async def test_doctor_reports_the_key_as_present_and_never_prints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from magray_lsp.doctor import run_doctor

    with FakeOpenAI() as server:
        server.default = Status(401, f"Incorrect API key provided: {KEY}")
        (tmp_path / ".magray.toml").write_text(
            f'[llm.openai]\napi_key = "${{OPENAI_API_KEY}}"\nbase_url = "{server.base_url}"\n'
            "[llm.local]\nenabled = false\n"
        )
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        out = io.StringIO()
        args = argparse.Namespace(workspace=tmp_path, config=[], json=True)
        with redirect_stdout(out):
            await run_doctor(args)
    text = out.getvalue()
    report = json.loads(text)
    [row] = [r for r in report["providers"] if r["provider"] == "openai"]
    assert row["apiKey"] == "present" and row["status"] == "error"
    assert KEY not in text
