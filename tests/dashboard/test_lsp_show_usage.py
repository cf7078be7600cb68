"""`magray.showUsage {"dashboard": true}` from a real LSP client: the server starts the dashboard
in-process on a free loopback port, asks the client to open it externally, and it answers."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

HOME = Path(tempfile.mkdtemp(prefix="magray-dashboard-lsp-"))
SERVER_ENV = {
    **{k: v for k, v in os.environ.items() if not k.endswith(("API_KEY", "_TOKEN"))},
    "XDG_CONFIG_HOME": str(HOME / "config"),
    "XDG_CACHE_HOME": str(HOME / "cache"),
    "XDG_DATA_HOME": str(HOME / "data"),
    "NO_PROXY": "127.0.0.1,localhost",
}


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "magray_lsp", "serve"], server_env=SERVER_ENV
    ),
)
async def client(lsp_client: LanguageClient, tmp_path: Path) -> AsyncIterator[LanguageClient]:
    (tmp_path / ".magray.toml").write_text(
        "[llm.local]\nenabled = false\n\n[budget]\nmonthly_usd = 12\n"
    )
    await lsp_client.initialize_session(
        lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(
                window=lsp.WindowClientCapabilities(
                    show_document=lsp.ShowDocumentClientCapabilities(support=True)
                )
            ),
            root_uri=tmp_path.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(uri=tmp_path.as_uri(), name="ws")],
        )
    )
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_show_usage_opens_the_dashboard_externally(client: LanguageClient) -> None:
    first = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.showUsage", [{"dashboard": True}])
    )
    assert first is not None
    assert first["markdown"].startswith("# magray usage")  # the summary is still returned
    url = first["url"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    shown = client.shown_documents[-1]
    assert (shown.uri, shown.external) == (url, True)

    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        data = (await http.get(url + "api/dashboard")).json()
    assert data["ledger"] == str(HOME / "data" / "magray" / "ledger.sqlite3")
    assert data["budget"]["limit_usd"] == "12"  # the workspace's budget, live

    again = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.showUsage", [{"dashboard": True}])
    )
    assert again is not None
    assert again["url"] == url  # one dashboard per server, reused

    plain = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.showUsage", [])
    )
    assert plain is not None
    assert "url" not in plain and client.shown_documents[-1].uri.startswith("file:")
