"""Custom actions, Fix and Write tests end to end over stdio: listed with their cost, resolved
through the same answer reading, checks and rebasing as the built-ins, applied as edits (a new
file as CreateFile + TextEdit), recorded in the ledger under the action's name."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcMethodNotFound
from pytest_lsp import LanguageClient
from pytest_lsp.client import captured_exception_key

from magray_lsp.context.document import Document
from magray_lsp.context.edits import TextEditSpec, apply_edits
from magray_lsp.cost.ledger import Ledger
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for
from tests.lsp.conftest import HOME, SAMPLE, Notes, _plain, initialize_params
from tests.lsp.test_actions import at, open_sample

ACTIONS_TOML = """
[actions.simplify]
title = "Simplify {unit}"
prompt = "Simplify this {language} {kind} without changing behaviour:\\n{code}"
output = "replace"
languages = ["python"]

[actions.review]
title = "Review {unit}"
prompt = "Review {code}"

[routing.rules]
review = ["anthropic.default"]

[actions.shout]
title = "Shout {unit}"
prompt = "Rewrite {unit} as the user asks: {input}\\n{code}"
output = "replace"
"""
NOTES_MD = """+++
title = "Usage notes for {unit}"
output = "new_file"
path = "notes/{module}_notes.py"
+++
Write usage examples for {unit} as Python functions:
{code}
"""
GO_SAMPLE = """package headers

import "strings"

// ParseHeader splits a header line.
func ParseHeader(line string) (string, string) {
\tname, value, _ := strings.Cut(line, ":")
\treturn strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
}
"""
NEW_FN = (
    "def parse_header(line: str) -> tuple[str, str]:\n"
    "    name, _, value = line.partition(':')\n"
    "    return name.strip().lower(), value.strip()\n"
)

Rich = tuple[LanguageClient, Notes, list[Any]]


@pytest.fixture
def workspace(workspace: Path) -> Path:
    """The shared workspace plus custom actions in `.magray.toml` and a prompt file."""
    config = workspace / ".magray.toml"
    config.write_text(config.read_text() + ACTIONS_TOML)
    (workspace / ".magray" / "actions").mkdir(parents=True)
    (workspace / ".magray" / "actions" / "notes.md").write_text(NOTES_MD)
    (workspace / "headers.go").write_text(GO_SAMPLE)
    return workspace


@pytest.fixture
async def rich(raw_client: LanguageClient, workspace: Path) -> AsyncIterator[Rich]:
    """A client that creates files through workspace edits and answers `magray/input` with
    the next of `answers` (None: the user cancelled)."""
    notes = Notes()
    asked: list[Any] = []

    @raw_client.feature("magray/status")
    def on_status(params: Any) -> None:
        notes.status.append(_plain(params))

    @raw_client.feature("magray/input")
    def on_input(params: Any) -> str | None:
        asked.append(_plain(params))
        return rich_answers.pop(0) if rich_answers else None

    params = initialize_params(workspace)
    assert params.capabilities.workspace is not None
    params.capabilities.workspace.workspace_edit = lsp.WorkspaceEditClientCapabilities(
        document_changes=True, resource_operations=[lsp.ResourceOperationKind.Create]
    )
    await raw_client.initialize_session(params)
    await raw_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.clearCache", [])
    )
    yield raw_client, notes, asked
    await raw_client.shutdown_session()


rich_answers: list[str | None] = []


async def listing(
    client: LanguageClient,
    uri: str,
    rng: lsp.Range,
    diagnostics: list[lsp.Diagnostic] | None = None,
) -> list[lsp.CodeAction]:
    result = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri), rng, lsp.CodeActionContext(diagnostics or [])
        )
    )
    assert result is not None
    return [a for a in result if isinstance(a, lsp.CodeAction)]


def text_edits(change: Any) -> list[TextEditSpec]:
    assert isinstance(change, lsp.TextDocumentEdit)
    return [
        TextEditSpec(
            e.range.start.line, e.range.start.character, e.range.end.line, e.range.end.character,
            e.new_text,
        )
        for e in change.edits
        if isinstance(e, lsp.TextEdit)
    ]  # fmt: skip


def last_prompt(fake: FakeOpenAI) -> str:
    body = next(r.body for r in reversed(fake.requests) if r.method == "POST")
    return str(body["messages"][-1]["content"])


def ledger_actions() -> list[str]:
    ledger = Ledger(HOME / "data" / "magray" / "ledger.sqlite3")
    try:
        return [row.action for row in ledger.recent(50)]
    finally:
        ledger.close()


async def in_ledger(check: Callable[[list[str]], bool]) -> None:
    """Until the ledger's newest actions pass ``check``: the server commits a row to its row
    journal before it answers, and its writer thread puts it into the ledger right after."""
    await wait_for(lambda: check(ledger_actions()))


async def test_custom_replace_action_is_listed_with_its_cost_and_resolves_to_a_checked_edit(
    rich: Rich, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    client, notes, _ = rich
    openai_fake.default = Reply(text=f"Here you go:\n\n```python\n{NEW_FN}```", output_tokens=40)
    uri = open_sample(client, workspace)
    listed = await listing(client, uri, at(4))
    simplify = next(a for a in listed if a.title.startswith("Simplify parse_header"))
    assert "gpt-4o-mini ≈ $0.0" in simplify.title
    assert simplify.kind == "refactor.rewrite.magray.simplify"
    assert not any(a.kind == "quickfix.magray.fix" for a in listed)  # no diagnostics here
    resolved = await client.code_action_resolve_async(simplify)
    assert resolved.edit is not None and resolved.edit.document_changes
    [change] = resolved.edit.document_changes
    assert isinstance(change, lsp.TextDocumentEdit) and change.text_document.version == 1
    old_fn = SAMPLE[SAMPLE.index("def parse_header") : SAMPLE.index("\n\n\nclass") + 1]
    assert apply_edits(SAMPLE, text_edits(change)) == SAMPLE.replace(old_fn, NEW_FN)
    prompt = last_prompt(openai_fake)
    assert prompt.startswith("Simplify this python function without changing behaviour:\ndef ")
    await wait_for(lambda: notes.status)
    assert notes.status[-1]["action"] == "simplify"
    await in_ledger(lambda actions: "simplify" in actions)


async def test_a_custom_replace_whose_answer_renames_the_unit_is_refused_by_name(
    rich: Rich, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    client, _, _ = rich
    openai_fake.default = Reply(text=f"```python\n{NEW_FN.replace('parse_header', 'parse')}```")
    uri = open_sample(client, workspace)
    simplify = next(a for a in await listing(client, uri, at(4)) if "Simplify" in a.title)
    resolved = await client.code_action_resolve_async(simplify)
    assert resolved.edit is None
    await wait_for(lambda: client.messages)
    assert "simplify: keeps-name" in client.messages[-1].message


async def test_a_routing_rule_by_action_name_picks_its_model_in_the_title_and_the_run(
    rich: Rich, workspace: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic
) -> None:
    client, notes, _ = rich
    anthropic_fake.default = Reply(text="Reads well; `value` may be empty.")
    uri = open_sample(client, workspace)
    titles = [a.title for a in await listing(client, uri, at(4))]
    assert any(t.startswith("Review parse_header — claude-3-5-haiku-latest ≈ $") for t in titles)
    assert any(t.startswith("Simplify parse_header — gpt-4o-mini ≈ $") for t in titles)
    result = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(
            "magray.run", [{"action": "review", "uri": uri, "range": _json(at(4))}]
        )
    )
    assert result is not None
    assert result["ok"] and result["markdown"] == "Reads well; `value` may be empty."
    await wait_for(lambda: notes.status)
    assert notes.status[-1]["provider"] == "anthropic"
    assert notes.status[-1]["route"] == "[routing.rules] review"
    assert not [r for r in openai_fake.requests if r.method == "POST"]


async def test_new_file_action_creates_the_file_then_appends_to_it(
    rich: Rich, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    client, _, _ = rich
    example = "def example_parse() -> None:\n    print(parse_header('A: b'))\n"
    openai_fake.default = Reply(text=f"```python\n{example}```")
    uri = open_sample(client, workspace)
    notes_action = next(
        a for a in await listing(client, uri, at(4)) if a.title.startswith("Usage notes")
    )
    assert notes_action.kind == "refactor.magray.notes"
    resolved = await client.code_action_resolve_async(notes_action)
    assert resolved.edit is not None and resolved.edit.document_changes
    create, change = resolved.edit.document_changes
    target = workspace / "notes" / "sample_notes.py"
    assert isinstance(create, lsp.CreateFile) and create.uri == target.as_uri()
    assert isinstance(change, lsp.TextDocumentEdit) and change.text_document.version is None
    content = apply_edits("", text_edits(change))
    assert content == example and Document.from_text(content, language_id="python").tree
    # the client applies it (the file now exists on disk): the next run appends
    target.parent.mkdir()
    target.write_text(content)
    openai_fake.default = Reply(text=f"```python\n{example.replace('example_parse', 'ex2')}```")
    again = await client.code_action_resolve_async(
        next(a for a in await listing(client, uri, at(4)) if a.title.startswith("Usage notes"))
    )
    assert again.edit is not None and again.edit.document_changes
    [append] = again.edit.document_changes  # no CreateFile: it exists
    grown = apply_edits(content, text_edits(append))
    assert grown.startswith(content) and "def ex2() -> None:" in grown
    tree = Document.from_text(grown, language_id="python").tree
    assert tree is not None and not tree.root_node.has_error
    await in_ledger(lambda actions: actions[:2] == ["notes", "notes"])


async def test_input_action_asks_the_client_and_sends_its_answer(
    rich: Rich, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    client, _, asked = rich
    openai_fake.default = Reply(text=f"```python\n{NEW_FN}```")
    uri = open_sample(client, workspace)
    rich_answers[:] = ["use partition, keep it short"]
    shout = next(a for a in await listing(client, uri, at(4)) if a.title.startswith("Shout"))
    resolved = await client.code_action_resolve_async(shout)
    assert resolved.edit is not None
    assert asked and asked[-1]["action"] == "shout"
    assert "as the user asks: use partition, keep it short\ndef parse_header" in last_prompt(
        openai_fake
    )
    # the user dismisses the box: nothing is asked of any model
    posts = sum(1 for r in openai_fake.requests if r.method == "POST")
    rich_answers[:] = [None]
    cancelled = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(
            "magray.run", [{"action": "shout", "uri": uri, "range": _json(at(4))}]
        )
    )
    assert cancelled == {"ok": False, "cancelled": True}
    assert sum(1 for r in openai_fake.requests if r.method == "POST") == posts


async def test_input_action_in_a_client_without_magray_input_fails_clearly(
    client: tuple[LanguageClient, Notes],
    workspace: Path,
    openai_fake: FakeOpenAI,
    request: pytest.FixtureRequest,
) -> None:
    lsp_client, _ = client
    uri = open_sample(lsp_client, workspace)
    result = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(
            "magray.run", [{"action": "shout", "uri": uri, "range": _json(at(4))}]
        )
    )
    assert result is not None
    assert result["ok"] is False
    assert "does not answer magray/input" in result["error"] and "`shout`" in result["error"]
    assert not [r for r in openai_fake.requests if r.method == "POST"]
    # pytest-lsp fails a test whose client could not handle a server request; here that is
    # the point: the client answered "method not found"
    unhandled = request.node.stash.get(captured_exception_key, None)
    assert unhandled is not None and unhandled.type is JsonRpcMethodNotFound
    request.node.stash[captured_exception_key] = None
    # given in the arguments, the input needs no request
    openai_fake.default = Reply(text=f"```python\n{NEW_FN}```")

    @lsp_client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def on_apply(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        return lsp.ApplyWorkspaceEditResult(applied=True)

    given = await lsp_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(
            "magray.run",
            [{"action": "shout", "uri": uri, "range": _json(at(4)), "input": "LOUDER"}],
        )
    )
    assert given is not None
    assert given["ok"] is True and given["edits"] >= 1
    assert "as the user asks: LOUDER" in last_prompt(openai_fake)


def diagnostic(line: int, severity: lsp.DiagnosticSeverity, message: str) -> lsp.Diagnostic:
    return lsp.Diagnostic(
        range=lsp.Range(lsp.Position(line, 4), lsp.Position(line, 20)),
        message=message,
        severity=severity,
        code="F821",
        source="ruff",
    )


async def test_fix_is_offered_only_with_a_warning_or_error_in_range_and_sends_them(
    rich: Rich, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    client, _, _ = rich
    uri = open_sample(client, workspace)
    error = diagnostic(4, lsp.DiagnosticSeverity.Error, "Undefined name `valu`")

    def fixes(listed: list[lsp.CodeAction]) -> list[lsp.CodeAction]:
        return [a for a in listed if a.kind == "quickfix.magray.fix"]

    assert fixes(await listing(client, uri, at(4))) == []  # no diagnostics
    assert fixes(await listing(client, uri, at(10, 8), [error])) == []  # not in range
    hint = diagnostic(4, lsp.DiagnosticSeverity.Hint, "could be a one-liner")
    assert fixes(await listing(client, uri, at(4), [hint])) == []  # a hint is not a problem
    [fix] = fixes(await listing(client, uri, at(4), [error, hint]))
    assert fix.title.startswith("Fix `parse_header` — gpt-4o-mini ≈ $0.0")
    # only-quickfix requests (VS Code's quick-fix menu) still get it
    only = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri),
            at(4),
            lsp.CodeActionContext([error], only=[lsp.CodeActionKind.QuickFix]),
        )
    )
    assert only and [a.title for a in only if isinstance(a, lsp.CodeAction)] == [fix.title]

    openai_fake.default = Reply(text=f"```python\n{NEW_FN}```")
    resolved = await client.code_action_resolve_async(fix)
    assert resolved.edit is not None and resolved.edit.document_changes
    prompt = last_prompt(openai_fake)
    assert "- line 5: error [ruff F821]: Undefined name `valu`" in prompt
    assert "could be a one-liner" not in prompt
    await in_ledger(lambda actions: "fix" in actions)


async def test_write_tests_for_python_creates_a_pytest_file_that_parses(
    rich: Rich, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    client, _, _ = rich
    tests = (
        "import pytest\n\nfrom sample import parse_header\n\n\n"
        "def test_splits_at_the_first_colon() -> None:\n"
        "    assert parse_header('Host: a:b') == ('host', 'a:b')\n"
    )
    openai_fake.default = Reply(text=f"Tests:\n```python\n{tests}```\nRun `pytest`.")
    uri = open_sample(client, workspace)
    write = next(
        a for a in await listing(client, uri, at(4)) if a.title.startswith("Write tests for")
    )
    assert write.title.startswith("Write tests for `parse_header` — ")
    resolved = await client.code_action_resolve_async(write)
    assert resolved.edit is not None and resolved.edit.document_changes
    create, change = resolved.edit.document_changes
    assert isinstance(create, lsp.CreateFile)
    assert create.uri == (workspace / "tests" / "test_sample.py").as_uri()
    content = apply_edits("", text_edits(change))
    assert content == tests
    tree = Document.from_text(content, language_id="python").tree
    assert tree is not None and not tree.root_node.has_error
    assert (
        "from sample import parse_header" in openai_fake.requests[-1].body["messages"][0]["content"]
    )


async def test_write_tests_for_go_creates_a_test_file_in_the_same_package(
    rich: Rich, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    client, _, _ = rich
    go_tests = (
        'import "testing"\n\n'  # the model left out the package clause
        "func TestParseHeader(t *testing.T) {\n"
        '\tname, value := ParseHeader("Host: a")\n'
        '\tif name != "host" || value != "a" {\n'
        '\t\tt.Fatalf("got %q %q", name, value)\n'
        "\t}\n}\n"
    )
    openai_fake.default = Reply(text=f"```go\n{go_tests}```")
    uri = (workspace / "headers.go").as_uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "go", 1, GO_SAMPLE))
    )
    write = next(
        a for a in await listing(client, uri, at(6, 2)) if a.title.startswith("Write tests")
    )
    resolved = await client.code_action_resolve_async(write)
    assert resolved.edit is not None and resolved.edit.document_changes
    create, change = resolved.edit.document_changes
    assert isinstance(create, lsp.CreateFile)
    assert create.uri == (workspace / "headers_test.go").as_uri()
    content = apply_edits("", text_edits(change))
    assert content.startswith('package headers\n\nimport "testing"\n')
    tree = Document.from_text(content, language_id="go").tree
    assert tree is not None and not tree.root_node.has_error
    assert "`package headers`" in openai_fake.requests[-1].body["messages"][0]["content"]


BROKEN_TOML = """
[actions.typo]
prompt = "Simplify {cod}"

[actions.wrongout]
prompt = "Simplify {code}"
output = "replce"

[actions.empty]
title = "Nothing to say"

[actions.ghost]
prompt = "Review {code}"
model = "anthropic.nonexistent"
"""


async def test_bad_definitions_are_located_diagnostics_and_the_other_actions_keep_working(
    rich: Rich, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    client, _, _ = rich
    config = workspace / ".magray.toml"
    text = config.read_text() + BROKEN_TOML
    config.write_text(text)
    (workspace / ".magray" / "actions" / "bad.md").write_text("+++\noutput = 3\n+++\nx {code}\n")
    client.workspace_did_change_watched_files(
        lsp.DidChangeWatchedFilesParams(
            [lsp.FileEvent(config.as_uri(), lsp.FileChangeType.Changed)]
        )
    )
    bad_md = (workspace / ".magray" / "actions" / "bad.md").as_uri()
    await wait_for(
        lambda: (
            len(client.diagnostics.get(config.as_uri(), [])) == 4 and bad_md in client.diagnostics
        ),
        within=30,
    )
    lines = text.splitlines()
    found = {
        (d.range.start.line, d.message.split(":", 1)[0])
        for d in client.diagnostics[config.as_uri()]
    }
    assert found == {
        (lines.index('prompt = "Simplify {cod}"'), "actions.typo.prompt"),
        (lines.index('output = "replce"'), "actions.wrongout.output"),
        (lines.index("[actions.empty]"), "actions.empty.prompt"),
        (lines.index('model = "anthropic.nonexistent"'), "actions.ghost.model"),
    }
    messages = " | ".join(d.message for d in client.diagnostics[config.as_uri()])
    assert "unknown variable {cod}" in messages and "no model alias 'nonexistent'" in messages
    [md_problem] = client.diagnostics[bad_md]
    assert md_problem.range.start.line == 1 and "actions.bad.output" in md_problem.message
    # the good ones are still there and run
    uri = open_sample(client, workspace)
    titles = [a.title for a in await listing(client, uri, at(4))]
    assert any(t.startswith("Simplify parse_header") for t in titles)
    assert any(t.startswith("Usage notes for parse_header") for t in titles)
    assert not any(t.startswith(("Typo", "Wrongout", "Empty", "Ghost")) for t in titles)
    # fixed: the diagnostics go away
    config.write_text(text.replace(BROKEN_TOML, ""))
    (workspace / ".magray" / "actions" / "bad.md").unlink()
    client.workspace_did_change_watched_files(
        lsp.DidChangeWatchedFilesParams([lsp.FileEvent(bad_md, lsp.FileChangeType.Deleted)])
    )
    await wait_for(lambda: list(client.diagnostics.get(bad_md, [None])) == [], within=30)
    assert list(client.diagnostics[config.as_uri()]) == []


def _json(rng: lsp.Range) -> dict[str, Any]:
    return {
        "start": {"line": rng.start.line, "character": rng.start.character},
        "end": {"line": rng.end.line, "character": rng.end.character},
    }
