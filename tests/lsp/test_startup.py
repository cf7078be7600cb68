"""Start-up: `initialize` is answered before magray's runtime is built (`start_setup`); whatever
the client sends meanwhile waits for it, and a start-up that fails is reported, never a hang."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.helpers import wait_for
from tests.lsp.conftest import SAMPLE, SERVER_ENV, initialize_params

# The ledger's folder cannot be made under a regular file: opening the gateway fails.
BROKEN_HOME = Path(tempfile.mkdtemp(prefix="magray-broken-home-"))
(BROKEN_HOME / "data").write_text("a file where the data folder should be\n")


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "magray_lsp", "serve"],
        server_env={**SERVER_ENV, "XDG_DATA_HOME": str(BROKEN_HOME / "data")},
    ),
)
async def broken_client(lsp_client: LanguageClient) -> AsyncIterator[LanguageClient]:
    yield lsp_client


def listing(uri: str) -> lsp.CodeActionParams:
    return lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=lsp.Range(lsp.Position(3, 4), lsp.Position(3, 4)),
        context=lsp.CodeActionContext(diagnostics=[]),
    )


async def test_messages_sent_right_after_initialize_wait_for_the_runtime(
    raw_client: LanguageClient, workspace: Path
) -> None:
    result = await raw_client.initialize_session(initialize_params(workspace))
    assert result.capabilities.code_action_provider is not None
    # sent at once, while the server is still importing and building the folder's runtime
    uri = (workspace / "sample.py").as_uri()
    raw_client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "python", 1, SAMPLE))
    )
    actions = await raw_client.text_document_code_action_async(listing(uri))
    titles = [a.title for a in actions or [] if isinstance(a, lsp.CodeAction)]
    assert any("xplain" in t for t in titles), titles
    await raw_client.shutdown_session()


async def test_a_failed_start_up_is_shown_and_requests_fail_instead_of_waiting(
    broken_client: LanguageClient, workspace: Path
) -> None:
    await broken_client.initialize_session(initialize_params(workspace))
    uri = (workspace / "sample.py").as_uri()
    broken_client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "python", 1, SAMPLE))
    )
    with pytest.raises(JsonRpcException, match="could not start"):
        await broken_client.text_document_code_action_async(listing(uri))
    await wait_for(
        lambda: any(
            m.type == lsp.MessageType.Error
            and "start-up failed" in m.message
            and "ledger" in m.message
            for m in broken_client.messages
        )
    )
    await broken_client.shutdown_session()
