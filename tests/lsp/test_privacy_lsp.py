"""Privacy over stdio for documents the editor names oddly: an untitled buffer in a local-only
workspace, and a workspace folder opened through a symlink with `private_paths`.

The OpenAI fake is marked `remote = true` (a cloud provider, as far as magray may know); the
Ollama fake on loopback is the only local provider. A private document must be answered by
Ollama, and OpenAI must see nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.fakes.base import Reply
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai import FakeOpenAI
from tests.helpers import openai_only_toml
from tests.lsp import canary
from tests.lsp.conftest import SAMPLE, initialize_params
from tests.lsp.test_actions import actions, at


@pytest.fixture(scope="module")
def ollama_fake() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


def config(openai: FakeOpenAI, ollama: FakeOllama, privacy: str) -> str:
    """The OpenAI fake as a cloud provider (`remote = true`), Ollama on loopback, `privacy`."""
    extra = f"""
[llm.ollama]
base_url = "{ollama.url}"
timeout_seconds = 5
[llm.ollama.models]
default = "llama3.1"

[privacy]
{privacy}
"""
    toml = openai_only_toml(openai.base_url, canary.OPENAI_KEY, timeout=5, extra=extra)
    return toml.replace("timeout_seconds = 5\n", "timeout_seconds = 5\nremote = true\n", 1)


async def explain(client: LanguageClient, uri: str) -> dict[str, object]:
    pos = {"line": 4, "character": 4}
    result = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(
            "magray.explain", [{"uri": uri, "range": {"start": pos, "end": pos}}]
        )
    )
    assert isinstance(result, dict)
    return result


Start = Callable[[Path], Awaitable[LanguageClient]]


@pytest.fixture
async def start(raw_client: LanguageClient) -> AsyncIterator[Start]:
    """Initialize the server on a folder (with an empty cache); shut it down after the test."""
    started = False

    async def begin(folder: Path) -> LanguageClient:
        nonlocal started
        await raw_client.initialize_session(initialize_params(folder))
        started = True
        await raw_client.workspace_execute_command_async(
            lsp.ExecuteCommandParams("magray.clearCache", [])
        )
        return raw_client

    yield begin
    if started:
        await raw_client.shutdown_session()


async def test_an_untitled_buffer_in_a_local_only_workspace_stays_local(
    start: Start, tmp_path: Path, openai_fake: FakeOpenAI, ollama_fake: FakeOllama
) -> None:
    openai_fake.reset()
    ollama_fake.reset()
    ollama_fake.default = Reply(text="Answered on this machine.")
    (tmp_path / ".magray.toml").write_text(config(openai_fake, ollama_fake, 'mode = "local"'))
    raw_client = await start(tmp_path)
    uri = "untitled:Untitled-1"
    raw_client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "python", 1, SAMPLE))
    )
    title = (await actions(raw_client, uri, at(4)))[0].title
    # the workspace's .magray.toml applies (its Ollama section), and its privacy
    assert title == "Explain `parse_header` — llama3.1 ≈ $0 · local only"
    result = await explain(raw_client, uri)
    assert result["ok"] is True and "Answered on this machine." in str(result["markdown"])
    assert len([r for r in ollama_fake.requests if r.path == "/api/chat"]) == 1
    assert openai_fake.requests == []


async def test_private_paths_match_in_a_folder_opened_through_a_symlink(
    start: Start, tmp_path: Path, openai_fake: FakeOpenAI, ollama_fake: FakeOllama
) -> None:
    openai_fake.reset()
    ollama_fake.reset()
    openai_fake.default = Reply(text="From the cloud.")
    ollama_fake.default = Reply(text="From this machine.")
    real = tmp_path / "real"
    (real / "secret").mkdir(parents=True)
    (real / ".magray.toml").write_text(
        config(openai_fake, ollama_fake, 'private_paths = ["secret/**"]')
    )
    # different code in each: the same code would share one cached answer
    texts = {"secret/keys.py": SAMPLE, "open.py": SAMPLE.replace("lower()", "upper()")}
    for name, text in texts.items():
        (real / name).write_text(text)
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    # the editor opened the folder through the link, and a file by its real path
    raw_client = await start(tmp_path / "link")
    secret, public = (real / "secret" / "keys.py").as_uri(), (real / "open.py").as_uri()
    for uri, text in zip((secret, public), texts.values(), strict=True):
        raw_client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "python", 1, text))
        )
    assert (await actions(raw_client, secret, at(4)))[0].title.endswith(
        "llama3.1 ≈ $0 · local only"
    )
    assert "gpt-4o-mini" in (await actions(raw_client, public, at(4)))[0].title
    result = await explain(raw_client, secret)
    assert "From this machine." in str(result["markdown"])
    assert openai_fake.requests == []
    result = await explain(raw_client, public)
    assert "From the cloud." in str(result["markdown"])
    assert len(openai_fake.requests) == 1
