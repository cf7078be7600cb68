"""Defined actions go through the same rebasing as the built-ins: the user keeps typing while
the model answers (a slow loopback fake), and Fix, an inserting custom action and Write tests
land exactly right on the text the client has now — or are refused when the typing touched
the unit. A destination file open in the editor is edited at its newest version too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for
from tests.lsp.conftest import magray_toml
from tests.lsp.test_stale_edits import (
    ABOVE,
    BELOW,
    NEW_FN,
    OLD_FN,
    SOURCE,
    STALE,
    Client,
    Editor,
    slow,
    type_above,
    type_around,
    type_inside,
)

ACTIONS = """
[actions.variant]
title = "Variant of {unit}"
prompt = "Write a variant of {unit} that takes bytes:\\n{code}"
output = "insert_below"
"""
VARIANT = (
    "def parse_header_bytes(line: bytes) -> tuple[str, str]:\n"
    "    return parse_header(line.decode())\n"
)
TESTS = "def test_parse_header() -> None:\n    assert parse_header('A: b') == ('a', 'b')\n"


@pytest.fixture
def workspace(workspace: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic) -> Path:
    config = magray_toml(openai_fake, anthropic_fake).replace(
        "timeout_seconds = 5", "timeout_seconds = 120"
    )
    (workspace / ".magray.toml").write_text(config + ACTIONS)
    return workspace


def error_at(editor: Editor, anchor: str) -> lsp.Diagnostic:
    rng = editor.cursor(anchor)
    return lsp.Diagnostic(
        range=rng,
        message="`value` may be empty",
        severity=lsp.DiagnosticSeverity.Error,
        source="lint",
    )


async def fix_listed(editor: Editor) -> lsp.CodeAction:
    rng = editor.cursor("name, _, value")
    found = await editor.client.text_document_code_action_async(
        lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(editor.uri),
            rng,
            lsp.CodeActionContext([error_at(editor, "name, _, value")]),
        )
    )
    assert found is not None
    return next(a for a in found if isinstance(a, lsp.CodeAction) and a.title.startswith("Fix"))


@pytest.mark.parametrize("typing", [type_above, type_around], ids=["above", "around"])
async def test_fix_is_rebased_over_typing_outside_the_unit(
    client: Client, workspace: Path, openai_fake: FakeOpenAI, typing: Any
) -> None:
    editor = Editor(client, workspace, SOURCE)
    openai_fake.default = slow(f"```python\n{NEW_FN}```")
    fix = await fix_listed(editor)
    resolved = await editor.while_answering(
        editor.client.code_action_resolve_async(fix), lambda: typing(editor.buffer)
    )
    assert resolved.edit is not None, editor.messages()
    [change] = resolved.edit.document_changes or []
    assert isinstance(change, lsp.TextDocumentEdit)
    assert change.text_document.version == editor.buffer.version
    typed = editor.buffer.text
    assert editor.buffer.apply(resolved.edit)
    assert editor.buffer.text == typed.replace(OLD_FN, NEW_FN)


async def test_fix_is_refused_when_the_unit_was_edited(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    editor = Editor(client, workspace, SOURCE)
    openai_fake.default = slow(f"```python\n{NEW_FN}```")
    fix = await fix_listed(editor)
    resolved = await editor.while_answering(
        editor.client.code_action_resolve_async(fix), lambda: type_inside(editor.buffer)
    )
    assert resolved.edit is None
    await wait_for(lambda: any(STALE in m for m in editor.messages()))


@pytest.mark.parametrize("where", ["above", "below", "inside"])
async def test_an_inserting_custom_action_lands_after_the_moved_unit_or_is_refused(
    client: Client, workspace: Path, openai_fake: FakeOpenAI, where: str
) -> None:
    editor = Editor(client, workspace, SOURCE)
    openai_fake.default = slow(f"```python\n{VARIANT}```")
    args = [{"action": "variant", "uri": editor.uri, "range": editor.protocol_range("name, _")}]
    typing = {
        "above": lambda: type_above(editor.buffer),
        "below": lambda: editor.buffer.insert(len(editor.buffer.text), BELOW),
        "inside": lambda: type_inside(editor.buffer),
    }[where]
    result = await editor.while_answering(
        editor.client.workspace_execute_command_async(lsp.ExecuteCommandParams("magray.run", args)),
        typing,
    )
    assert result is not None
    if where == "inside":
        assert result["ok"] is False and STALE in result["error"] and editor.applied == []
        return
    assert result["ok"] is True and editor.applied == [True], result
    expected = SOURCE.replace(OLD_FN, OLD_FN + "\n\n" + VARIANT)
    expected = "\n".join(ABOVE) + "\n" + expected if where == "above" else expected + BELOW
    assert editor.buffer.text == expected


async def test_write_tests_appends_to_the_open_test_file_at_its_newest_version(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    """The test file is open with unsaved text: the tests are appended to that text, not to
    the file on disk, and carried over what the user types in it meanwhile."""
    source = Editor(client, workspace, SOURCE)
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_sample.py").write_text("# on disk, stale\n")
    opened = "from sample import parse_header\n\n\ndef test_old() -> None:\n    pass\n"
    tests = Editor(client, workspace, opened, name="tests/test_sample.py")
    openai_fake.default = slow(f"```python\nfrom sample import parse_header\n\n\n{TESTS}```")
    listed = await source.listed("Write tests for")
    resolved = await source.while_answering(
        source.client.code_action_resolve_async(listed),
        lambda: tests.buffer.type_lines_at("from sample", ["import pytest", ""]),
    )
    assert resolved.edit is not None, source.messages()
    [change] = resolved.edit.document_changes or []
    assert isinstance(change, lsp.TextDocumentEdit)  # no CreateFile: it is open
    assert change.text_document.uri == tests.uri
    assert change.text_document.version == tests.buffer.version
    typed = tests.buffer.text
    assert tests.buffer.apply(resolved.edit)
    assert tests.buffer.text == typed + "\n\n" + TESTS
    assert source.buffer.text == SOURCE
