"""A real client over stdio (pytest-lsp) against `python -m magray_lsp serve`, with the
loopback OpenAI and Anthropic fakes as the providers behind it."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.lsp import canary

canary.install()  # record every LSP message and server stderr line for the session-end scan

# One home for the server processes of this module run: config, cache and ledger live here.
HOME = Path(tempfile.mkdtemp(prefix="magray-lsp-home-"))
SERVER_ENV = {
    **{k: v for k, v in os.environ.items() if not k.endswith(("API_KEY", "_TOKEN"))},
    "XDG_CONFIG_HOME": str(HOME / "config"),
    "XDG_CACHE_HOME": str(HOME / "cache"),
    "XDG_DATA_HOME": str(HOME / "data"),
    "NO_PROXY": "127.0.0.1,localhost",
}

SAMPLE = """import json


def parse_header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()


class Registry:
    def add(self, key: str, value: int) -> None:
        self.items[key] = value
"""


@pytest.fixture(scope="session")
def openai_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="session")
def anthropic_fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def magray_toml(openai: FakeOpenAI, anthropic: FakeAnthropic, extra: str = "") -> str:
    return f"""
[llm.openai]
api_key = "{canary.OPENAI_KEY}"
base_url = "{openai.base_url}"
timeout_seconds = 5
[llm.openai.models]
default = "gpt-4o-mini"

[llm.anthropic]
api_key = "{canary.ANTHROPIC_KEY}"
base_url = "{anthropic.url}"
timeout_seconds = 5
[llm.anthropic.models]
default = "claude-3-5-haiku-latest"

[llm.local]
enabled = false

[routing]
default = "openai.default"

[retry]
max_attempts = 1
{extra}
"""


@pytest.fixture(autouse=True)
def _canary_archive(openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic) -> Iterator[None]:
    """Keep each test's provider requests for the canary scan (the next test resets the fakes)."""
    yield
    canary.RECORDER.archive(openai_fake, anthropic_fake)


@pytest.fixture(scope="session", autouse=True)
def _canary_scan() -> Iterator[None]:
    """After the whole LSP suite: the canary keys and secret leaked nowhere (see canary.py)."""
    yield
    leaks = canary.leaks(HOME)
    assert not leaks, "canary leaked:\n" + "\n".join(leaks)
    missing = canary.coverage()
    assert not missing, "the canary scan saw too little to mean anything: " + "; ".join(missing)


@pytest.fixture
def workspace(tmp_path: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic) -> Path:
    openai_fake.reset()
    anthropic_fake.reset()
    (tmp_path / ".magray.toml").write_text(magray_toml(openai_fake, anthropic_fake))
    (tmp_path / "sample.py").write_text(SAMPLE)
    return tmp_path


class Notes:
    """Server → client notifications the tests look at."""

    def __init__(self) -> None:
        self.status: list[dict[str, Any]] = []
        self.stream: list[dict[str, Any]] = []


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "magray_lsp", "serve"], server_env=SERVER_ENV
    ),
)
async def raw_client(lsp_client: LanguageClient) -> AsyncIterator[LanguageClient]:
    yield lsp_client


@pytest.fixture
async def client(
    raw_client: LanguageClient, workspace: Path
) -> AsyncIterator[tuple[LanguageClient, Notes]]:
    notes = Notes()

    @raw_client.feature("magray/status")
    def on_status(params: Any) -> None:
        notes.status.append(_plain(params))

    @raw_client.feature("magray/stream")
    def on_stream(params: Any) -> None:
        notes.stream.append(_plain(params))

    await raw_client.initialize_session(initialize_params(workspace))
    # every test starts with an empty response cache (the server's home is shared)
    cleared = await raw_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.clearCache", [])
    )
    assert cleared is not None
    assert isinstance(cleared["removed"], int)
    yield raw_client, notes
    await raw_client.shutdown_session()


def _plain(params: Any) -> dict[str, Any]:
    if isinstance(params, dict):
        return params
    return {k: getattr(params, k) for k in dir(params) if not k.startswith("_")}


def initialize_params(workspace: Path, **options: Any) -> lsp.InitializeParams:
    return lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(
            window=lsp.WindowClientCapabilities(work_done_progress=True),
            text_document=lsp.TextDocumentClientCapabilities(
                code_action=lsp.CodeActionClientCapabilities(
                    resolve_support=lsp.ClientCodeActionResolveOptions(properties=["edit"]),
                    data_support=True,
                ),
            ),
            workspace=lsp.WorkspaceClientCapabilities(apply_edit=True),
        ),
        root_uri=workspace.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
        initialization_options=options or None,
    )
