"""Cancellation, config reload and diagnostics, privacy, and bad input over stdio."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for
from tests.lsp.conftest import Notes, magray_toml
from tests.lsp.test_actions import actions, at, open_sample

Client = tuple[LanguageClient, Notes]


def explain_args(uri: str, line: int = 4) -> list[object]:
    pos = {"line": line, "character": 4}
    return [{"uri": uri, "range": {"start": pos, "end": pos}}]


async def test_cancel_request_closes_the_provider_stream(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    lsp_client, notes = client
    openai_fake.default = Reply(text=" ".join(["token"] * 400), chunk_delay=0.02)
    uri = open_sample(lsp_client, workspace)
    msg_id = "cancel-me"
    future = asyncio.ensure_future(
        lsp_client.protocol.send_request_async(  # type: ignore[no-untyped-call]
            "workspace/executeCommand",
            lsp.ExecuteCommandParams("magray.explain", explain_args(uri)),
            msg_id=msg_id,
        )
    )
    await wait_for(lambda: len(notes.stream) > 3)
    lsp_client.protocol.notify("$/cancelRequest", lsp.CancelParams(id=msg_id))
    # the server answers the cancelled request with an error (a result would mean it ran on)
    with pytest.raises(Exception, match=r"(?i)cancel"):
        await asyncio.wait_for(future, 10)
    await wait_for(lambda: openai_fake.requests[-1].stream_outcome == "disconnected")
    # the server is still healthy
    assert await actions(lsp_client, uri, at(4))


async def test_broken_config_keeps_last_good_and_publishes_a_diagnostic(
    client: Client, workspace: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic
) -> None:
    lsp_client, _ = client
    config = workspace / ".magray.toml"
    uri = open_sample(lsp_client, workspace)
    config.write_text(magray_toml(openai_fake, anthropic_fake) + "\n[budget]\nmonthly_usd = -5\n")
    lsp_client.workspace_did_change_watched_files(
        lsp.DidChangeWatchedFilesParams(
            [lsp.FileEvent(config.as_uri(), lsp.FileChangeType.Changed)]
        )
    )
    await wait_for(lambda: lsp_client.diagnostics.get(config.as_uri()))
    [diag] = lsp_client.diagnostics[config.as_uri()]
    assert diag.range.start.line == len(
        (magray_toml(openai_fake, anthropic_fake) + "\n[budget]\n").splitlines()
    )
    assert "budget.monthly_usd" in diag.message
    # the last good config still runs
    assert "gpt-4o-mini" in (await actions(lsp_client, uri, at(4)))[0].title
    # a fixed config takes effect and clears the diagnostic; here it changes the routing
    config.write_text(
        magray_toml(openai_fake, anthropic_fake).replace(
            'default = "openai.default"', 'default = "anthropic.default"'
        )
    )
    lsp_client.workspace_did_change_watched_files(
        lsp.DidChangeWatchedFilesParams(
            [lsp.FileEvent(config.as_uri(), lsp.FileChangeType.Changed)]
        )
    )
    await wait_for(lambda: len(lsp_client.diagnostics.get(config.as_uri(), [None])) == 0)
    await wait_for(lambda: asyncio.ensure_future(asyncio.sleep(0)) is not None)
    titles = [a.title for a in await actions(lsp_client, uri, at(4))]
    assert "claude-3-5-haiku-latest" in titles[0]


async def test_private_workspace_never_reaches_a_cloud_provider(
    client: Client, workspace: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic
) -> None:
    lsp_client, notes = client
    # The fakes listen on loopback; `remote = true` makes them count as cloud providers, as a
    # tunnel to another machine would. No local model is enabled: nothing may take the task.
    remote = magray_toml(openai_fake, anthropic_fake).replace(
        "timeout_seconds = 5", "timeout_seconds = 5\nremote = true"
    )
    config = workspace / ".magray.toml"
    config.write_text(remote + '\n[privacy]\nmode = "local"\n')
    lsp_client.workspace_did_change_watched_files(
        lsp.DidChangeWatchedFilesParams(
            [lsp.FileEvent(config.as_uri(), lsp.FileChangeType.Changed)]
        )
    )
    uri = open_sample(lsp_client, workspace)

    async def title() -> str:
        return (await actions(lsp_client, uri, at(4)))[0].title

    for _ in range(100):
        if "local only" in await title():
            break
        await asyncio.sleep(0.05)
    assert (await title()).endswith("no model available · local only")
    result = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.explain", explain_args(uri))
    )
    assert result is not None
    assert result["ok"] is False and "private content: local providers only" in result["error"]
    assert openai_fake.requests == [] and anthropic_fake.requests == []
    assert notes.status == []


BAD_RANGE = {"start": {"line": 999, "character": 99}, "end": {"line": 1200, "character": 0}}


async def test_bad_input_gets_errors_and_the_server_keeps_answering(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    lsp_client, _ = client
    uri = open_sample(lsp_client, workspace)
    # a document that was never opened
    never = (workspace / "never.py").as_uri()
    assert await actions(lsp_client, never, at(0)) == []
    result = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.explain", explain_args(never))
    )
    assert result is not None
    assert result["ok"] is False and "not open" in result["error"]
    # a range past the end is clamped, not a crash
    listed = await lsp_client.text_document_code_action_async(
        lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri),
            lsp_client.protocol._converter.structure(BAD_RANGE, lsp.Range),
            lsp.CodeActionContext([]),
        )
    )
    assert listed is not None
    # malformed command arguments
    result = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.refactor", ["not a dict"])
    )
    assert result is not None
    assert result["ok"] is False and "expected arguments" in result["error"]
    # an unknown method is a JSON-RPC error, not a crash
    with pytest.raises(Exception, match=r"(?i)noSuchMethod|not found"):
        await lsp_client.protocol.send_request_async("magray/noSuchMethod", {})  # type: ignore[no-untyped-call]
    # binary content and a 10 MB document
    binary_uri = (workspace / "blob.bin").as_uri()
    lsp_client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(binary_uri, "plaintext", 1, "\x00\x01ELF\x00" * 100)
        )
    )
    big_uri = (workspace / "big.py").as_uri()
    big = "def f(x):\n    return x\n" * (10 * 2**20 // 24)
    lsp_client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(big_uri, "python", 1, big))
    )
    assert isinstance(await actions(lsp_client, binary_uri, at(0, 0)), list)
    assert isinstance(await actions(lsp_client, big_uri, at(1)), list)
    # and the server still works normally
    openai_fake.default = Reply(text="Still alive.")
    result = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.explain", explain_args(uri))
    )
    assert result is not None
    assert result["ok"] and "Still alive." in result["markdown"]


async def test_reload_while_an_action_runs_lets_it_finish(
    client: Client, workspace: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic
) -> None:
    """A config change mid-request: the running explain finishes on the gateway it started on
    (closed only afterwards), and the next request runs on the new configuration."""
    lsp_client, notes = client
    uri = open_sample(lsp_client, workspace)
    openai_fake.default = Reply(text="Slow but complete answer.", chunk_delay=0.1)
    running = asyncio.ensure_future(
        lsp_client.workspace_execute_command_async(
            lsp.ExecuteCommandParams("magray.explain", explain_args(uri))
        )
    )
    await wait_for(lambda: any(not s["done"] for s in notes.stream))  # streaming has begun
    config = workspace / ".magray.toml"
    config.write_text(
        magray_toml(openai_fake, anthropic_fake).replace(
            'default = "openai.default"', 'default = "anthropic.default"'
        )
    )
    lsp_client.workspace_did_change_watched_files(
        lsp.DidChangeWatchedFilesParams(
            [lsp.FileEvent(config.as_uri(), lsp.FileChangeType.Changed)]
        )
    )
    await wait_for(lambda: any("reloaded" in m.message for m in lsp_client.log_messages))
    result = await running
    assert result is not None
    assert result["ok"] and "Slow but complete answer." in result["markdown"]
    assert notes.status[-1]["model"] == "gpt-4o-mini"
    titles = [a.title for a in await actions(lsp_client, uri, at(4))]
    assert "claude-3-5-haiku-latest" in titles[0]
