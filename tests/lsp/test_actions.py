"""Code actions end to end over stdio: list → resolve → edit, explain → status → hover."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from magray_lsp.context.edits import TextEditSpec, apply_edits
from magray_lsp.context.syntax_check import error_count
from magray_lsp.cost.ledger import Ledger
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for
from tests.lsp.conftest import HOME, SAMPLE, Notes, magray_toml

Client = tuple[LanguageClient, Notes]


def open_sample(client: LanguageClient, workspace: Path, text: str = SAMPLE) -> str:
    uri = (workspace / "sample.py").as_uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "python", 1, text))
    )
    return uri


def at(line: int, char: int = 4) -> lsp.Range:
    return lsp.Range(lsp.Position(line, char), lsp.Position(line, char))


async def actions(client: LanguageClient, uri: str, rng: lsp.Range) -> list[lsp.CodeAction]:
    result = await client.text_document_code_action_async(
        lsp.CodeActionParams(lsp.TextDocumentIdentifier(uri), rng, lsp.CodeActionContext([]))
    )
    assert result is not None
    assert all(isinstance(a, lsp.CodeAction) for a in result), result
    return [a for a in result if isinstance(a, lsp.CodeAction)]


async def test_listing_titles_carry_model_and_estimate(client: Client, workspace: Path) -> None:
    lsp_client, _ = client
    uri = open_sample(lsp_client, workspace)
    listed = await actions(lsp_client, uri, at(4))
    titles = [a.title for a in listed]
    assert titles[0].startswith("Explain `parse_header` — gpt-4o-mini ≈ $0.0")
    assert titles[1].startswith("Add docstring to `parse_header` — ")
    assert titles[2].startswith("Refactor `parse_header` — ")
    assert [a.kind for a in listed] == [
        "refactor.magray.explain",
        "refactor.rewrite.magray.document",
        "refactor.rewrite.magray.refactor",
        "refactor.magray.tests",  # Write tests (no diagnostics here: no Fix)
    ]
    method = await actions(lsp_client, uri, at(10, 8))
    assert "`Registry.add`" in method[0].title


async def test_document_resolves_to_an_edit_that_parses(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    lsp_client, notes = client
    openai_fake.default = Reply(
        text="```text\nSplit a header line into a lower-case name and a value.\n```",
        input_tokens=300,
        output_tokens=20,
    )
    uri = open_sample(lsp_client, workspace)
    document = next(a for a in await actions(lsp_client, uri, at(4)) if "docstring" in a.title)
    assert document.edit is None and document.data  # resolved lazily
    resolved = await lsp_client.code_action_resolve_async(document)
    assert resolved.edit is not None and resolved.edit.document_changes
    change = resolved.edit.document_changes[0]
    assert isinstance(change, lsp.TextDocumentEdit)
    edits = [
        TextEditSpec(
            e.range.start.line,
            e.range.start.character,
            e.range.end.line,
            e.range.end.character,
            e.new_text,
        )
        for e in change.edits
        if isinstance(e, lsp.TextEdit)
    ]
    new_text = apply_edits(SAMPLE, edits)
    assert '    """Split a header line into a lower-case name and a value."""\n' in new_text
    assert new_text.index('"""Split') > new_text.index("def parse_header")
    assert error_count("python", new_text) == 0
    await wait_for(lambda: notes.status)
    status = notes.status[-1]
    assert status["model"] == "gpt-4o-mini" and status["provider"] == "openai"
    # $1… the fake's usage priced by genai-prices for gpt-4o-mini: 300 × 0.15 + 20 × 0.6 per M
    assert abs(status["costUsd"] - 0.000057) < 1e-9
    ledger = Ledger(HOME / "data" / "magray" / "ledger.sqlite3")
    # the answer's row was committed to the server's row journal; its writer thread puts it
    # into the ledger right after (another process sees it then)
    await wait_for(lambda: any(r.action == "document" for r in ledger.recent()))
    row = next(r for r in ledger.recent() if r.action == "document")
    assert float(row.cost_usd or 0) == status["costUsd"]
    assert status["monthUsd"] == float(ledger.month_spend())
    ledger.close()


async def test_explain_command_streams_reports_status_and_feeds_hover(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    lsp_client, notes = client
    openai_fake.default = Reply(text="It splits the line at the first colon.", output_tokens=9)
    uri = open_sample(lsp_client, workspace)
    explain = (await actions(lsp_client, uri, at(4)))[0]
    assert explain.data and explain.data["action"] == "explain"
    result = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.explain", [{"uri": uri, "range": explain.data["range"]}])
    )
    assert result is not None
    assert result["ok"] and "It splits the line at the first colon." in result["markdown"]
    await wait_for(lambda: notes.status and any(s.get("done") for s in notes.stream))
    deltas = [s["delta"] for s in notes.stream if not s["done"]]
    assert "".join(deltas) == "It splits the line at the first colon." and len(deltas) > 3
    assert notes.status[-1]["action"] == "explain" and notes.status[-1]["cached"] is False
    assert "gpt-4o-mini" in notes.status[-1]["text"]
    hover = await lsp_client.text_document_hover_async(
        lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(5, 10))
    )
    assert hover is not None and "first colon" in hover.contents.value  # type: ignore[union-attr]
    # progress: begin, report(s), end for the server-created token
    kinds = [
        getattr(v, "kind", None) for values in lsp_client.progress_reports.values() for v in values
    ]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds


async def test_second_identical_request_is_a_cache_hit(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    lsp_client, notes = client
    openai_fake.default = Reply(text="Cached explanation.")
    uri = open_sample(lsp_client, workspace)
    args = [
        {
            "uri": uri,
            "range": {"start": {"line": 4, "character": 4}, "end": {"line": 4, "character": 4}},
        }
    ]
    await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.explain", args)
    )
    await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.explain", args)
    )
    assert sum(1 for r in openai_fake.requests if r.method == "POST") == 1
    await wait_for(lambda: len(notes.status) == 2)
    assert notes.status[-1]["cached"] is True and notes.status[-1]["costUsd"] == 0


async def test_outage_falls_back_and_the_status_says_so(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    from tests.fakes.base import Status

    lsp_client, notes = client
    openai_fake.default = Status(503, "overloaded")
    uri = open_sample(lsp_client, workspace)
    args = [
        {
            "uri": uri,
            "range": {"start": {"line": 4, "character": 4}, "end": {"line": 4, "character": 4}},
        }
    ]
    result = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.explain", args)
    )
    assert result is not None
    assert result["ok"]
    await wait_for(lambda: notes.status)
    assert notes.status[-1]["provider"] == "anthropic"
    assert notes.status[-1]["fallbackFrom"] == "openai.default"
    await wait_for(
        lambda: any("answered by anthropic.default" in m.message for m in lsp_client.messages)
    )


async def test_show_usage_reports_spend_and_models(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    lsp_client, _ = client
    openai_fake.default = Reply(text="Explained.", input_tokens=1000, output_tokens=100)
    uri = open_sample(lsp_client, workspace)
    args = [
        {
            "uri": uri,
            "range": {"start": {"line": 4, "character": 4}, "end": {"line": 4, "character": 4}},
        }
    ]
    await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.explain", args)
    )
    report = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.showUsage", [])
    )
    assert report is not None
    markdown = report["markdown"]
    assert markdown.startswith("# magray usage")
    assert "**This month:** $" in markdown and "(no budget set)" in markdown
    assert "| openai/gpt-4o-mini |" in markdown
    assert "| openai.default | closed |" in markdown


async def test_refactor_resolves_to_a_minimal_edit_and_the_command_applies_it(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    lsp_client, _ = client
    new_fn = (
        "def parse_header(line: str) -> tuple[str, str]:\n"
        "    name, _, value = line.partition(':')\n"
        "    return name.strip().casefold(), value.strip()\n"
    )
    openai_fake.default = Reply(text=f"```python\n{new_fn}```")
    uri = open_sample(lsp_client, workspace)
    refactor = next(
        a for a in await actions(lsp_client, uri, at(4)) if a.title.startswith("Refactor")
    )
    resolved = await lsp_client.code_action_resolve_async(refactor)
    assert resolved.edit is not None and resolved.edit.document_changes
    change = resolved.edit.document_changes[0]
    assert isinstance(change, lsp.TextDocumentEdit) and change.text_document.version == 1
    edits = [e for e in change.edits if isinstance(e, lsp.TextEdit)]
    # only the lines that changed are touched, nothing of the class below
    assert all(3 <= e.range.start.line <= 5 and e.range.end.line <= 6 for e in edits)
    specs = [
        TextEditSpec(
            e.range.start.line,
            e.range.start.character,
            e.range.end.line,
            e.range.end.character,
            e.new_text,
        )
        for e in edits
    ]
    old_fn = SAMPLE[SAMPLE.index("def parse_header") : SAMPLE.index("\n\n\nclass") + 1]
    assert apply_edits(SAMPLE, specs) == SAMPLE.replace(old_fn, new_fn)

    applied: list[lsp.ApplyWorkspaceEditParams] = []

    @lsp_client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def on_apply(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        applied.append(params)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    args = [
        {
            "uri": uri,
            "range": {"start": {"line": 4, "character": 4}, "end": {"line": 4, "character": 4}},
            "instruction": "use casefold",
        }
    ]
    result = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.refactor", args)
    )
    assert result == {"ok": True, "edits": len(edits)}
    assert applied and applied[0].label == "magray: refactor"
    prompt = next(r.body for r in reversed(openai_fake.requests) if r.method == "POST")["messages"][
        -1
    ]["content"]
    assert "Instruction: use casefold" in prompt


async def test_big_file_listing_names_the_unit_again_after_edits(
    client: Client, workspace: Path
) -> None:
    lsp_client, _ = client
    big = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(8000))  # ~250 KB
    uri = (workspace / "big.py").as_uri()
    lsp_client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "python", 1, big))
    )
    for version in range(2, 6):
        lsp_client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [lsp.TextDocumentContentChangePartial(range=at(0, 0), text="#\n")],
            )
        )
    listed: list[lsp.CodeAction] = []

    async def names_unit() -> bool:
        listed[:] = await actions(lsp_client, uri, at(4 + 4 * 100 + 1))
        return bool(listed) and "`f100`" in listed[0].title

    for _ in range(250):
        if await names_unit():
            break
        await asyncio.sleep(0.02)
    assert "`f100`" in listed[0].title  # the tree caught up once typing paused


async def test_hover_spends_nothing_by_default_and_asks_a_cheap_model_when_enabled(
    client: Client, workspace: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic
) -> None:
    lsp_client, notes = client
    uri = open_sample(lsp_client, workspace)
    params = lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(5, 10))
    assert await lsp_client.text_document_hover_async(params) is None
    assert openai_fake.requests == []  # never spends money on hover by default
    config = workspace / ".magray.toml"
    config.write_text(magray_toml(openai_fake, anthropic_fake) + "\n[hover]\nauto = true\n")
    lsp_client.workspace_did_change_watched_files(
        lsp.DidChangeWatchedFilesParams(
            [lsp.FileEvent(config.as_uri(), lsp.FileChangeType.Changed)]
        )
    )
    openai_fake.default = Reply(text="Splits a header line.", input_tokens=80, output_tokens=5)
    hover = None
    for _ in range(50):  # the reload is asynchronous
        hover = await lsp_client.text_document_hover_async(params)
        if hover is not None:
            break
        await asyncio.sleep(0.05)
    assert hover is not None and "Splits a header line." in hover.contents.value  # type: ignore[union-attr]
    assert notes.status[-1]["action"] == "hover"
    body = next(r.body for r in openai_fake.requests if r.method == "POST")
    assert body["max_tokens"] == 120  # a short answer
