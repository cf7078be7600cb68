"""Secrets in the code under action, cloud providers behind the server: what leaves is redacted,
what comes back is restored, and (checked by the session-end canary scan in conftest.py) the
canary key and secret appear in no log, cache file, ledger row, LSP message or request body."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import Reply, Status
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for
from tests.lsp import canary
from tests.lsp.conftest import HOME, Notes, magray_toml
from tests.lsp.test_actions import actions, at

Client = tuple[LanguageClient, Notes]


def code_with(secret: str) -> str:
    return (
        "import boto3\n"
        "\n"
        f'AWS_ACCESS_KEY_ID = "{secret}"\n'
        "\n"
        "\n"
        "def make_client(region: str):\n"
        '    return boto3.client("s3", region_name=region, aws_access_key_id=AWS_ACCESS_KEY_ID)\n'
    )


CODE = code_with(canary.SECRET)
FUNCTION_LINE = 5


@pytest.fixture
def workspace(tmp_path: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic) -> Path:
    """The fakes count as cloud providers (`remote = true`): everything sent to them is redacted."""
    openai_fake.reset()
    anthropic_fake.reset()
    remote = magray_toml(openai_fake, anthropic_fake).replace(
        "timeout_seconds = 5", "timeout_seconds = 5\nremote = true"
    )
    (tmp_path / ".magray.toml").write_text(remote)
    (tmp_path / "aws.py").write_text(CODE)
    return tmp_path


def open_code(client: LanguageClient, workspace: Path, text: str = CODE) -> str:
    uri = (workspace / "aws.py").as_uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "python", 1, text))
    )
    return uri


def explain_args(uri: str) -> list[object]:
    pos = {"line": FUNCTION_LINE, "character": 4}
    return [{"uri": uri, "range": {"start": pos, "end": pos}}]


def bodies(*servers: FakeOpenAI | FakeAnthropic) -> str:
    return json.dumps([r.body for s in servers for r in s.requests if r.method == "POST"])


async def test_every_action_on_code_with_a_secret_sends_only_placeholders(
    client: Client, workspace: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic
) -> None:
    canary.RECORDER.canary_ran = True
    lsp_client, notes = client
    uri = open_code(lsp_client, workspace)

    # explain, streamed
    openai_fake.default = Reply(text="It builds an S3 client from the configured key.")
    result = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.explain", explain_args(uri))
    )
    assert result is not None
    assert result["ok"], result
    # the same again: a cache hit
    again = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.explain", explain_args(uri))
    )
    assert again is not None
    assert again["ok"]
    await wait_for(lambda: len(notes.status) == 2)
    assert notes.status[-1]["cached"] is True

    # document and refactor, resolved lazily into edits
    listed = await actions(lsp_client, uri, at(FUNCTION_LINE))
    openai_fake.default = Reply(text="```text\nCreate an S3 client for a region.\n```")
    document = next(a for a in listed if "docstring" in a.title)
    assert (await lsp_client.code_action_resolve_async(document)).edit is not None
    new_fn = (
        "def make_client(region: str):\n"
        '    return boto3.client("s3", aws_access_key_id=AWS_ACCESS_KEY_ID, region_name=region)\n'
    )
    openai_fake.default = Reply(text=f"```python\n{new_fn}```")
    refactor = next(a for a in listed if a.title.startswith("Refactor"))
    assert (await lsp_client.code_action_resolve_async(refactor)).edit is not None

    # an outage: the fallback model gets the same redacted request
    openai_fake.default = Status(503, "overloaded")
    anthropic_fake.default = Reply(text="It makes a client.")
    args = explain_args(uri)
    args[0]["instruction"] = "different request, so no cache hit"  # type: ignore[index]
    fell_back = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.explain", [{**args[0], "range": _range(6)}])  # type: ignore[dict-item]
    )
    assert fell_back is not None
    assert fell_back["ok"], fell_back

    sent = bodies(openai_fake, anthropic_fake)
    assert canary.SECRET not in sent
    assert (
        sent.count('AWS_ACCESS_KEY_ID = \\"<API_KEY_1>\\"') >= 4
    )  # explain, doc, refactor, fallback
    assert anthropic_fake.requests and "<API_KEY_1>" in bodies(anthropic_fake)


def _range(line: int) -> dict[str, object]:
    pos = {"line": line, "character": 4}
    return {"start": pos, "end": pos}


async def test_placeholders_in_the_answer_come_back_as_the_users_values(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    """A cloud model that quotes the (redacted) key answers with a placeholder; the editor gets
    the real value back — in the streamed text and the final answer — while the request, the
    cache and the ledger only ever hold the placeholder. (Its own secret, not the canary: the
    editor legitimately receives it.)"""
    lsp_client, notes = client
    own = "AKIA" + "".join(random.choices(string.ascii_uppercase + string.digits, k=16))
    uri = open_code(lsp_client, workspace, code_with(own))
    openai_fake.default = Reply(
        chunks=["It passes ", "<API_K", "EY_1> as the ", "access key."], output_tokens=9
    )
    result = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.explain", explain_args(uri))
    )
    assert result is not None
    assert result["ok"] and f"It passes {own} as the access key." in result["markdown"]
    await wait_for(lambda: any(s.get("done") for s in notes.stream))
    streamed = "".join(s["delta"] for s in notes.stream if not s["done"])
    assert streamed == f"It passes {own} as the access key."
    assert own not in bodies(openai_fake) and "<API_KEY_1>" in bodies(openai_fake)
    stored = b"".join(p.read_bytes() for p in HOME.rglob("*") if p.is_file())
    assert own.encode() not in stored
