"""The user keeps typing while the model answers (a slow loopback fake): over stdio, through
`codeAction/resolve` and through the `magray.*` commands, the edit lands exactly right on the
text the client has now when the typing did not touch the unit, is refused with a message when
it did, and is never applied at the offsets of the version it was computed on.

Each test applies the returned edit to the client's own copy of the text (tests/lsp/
editor_text.py, which reads LSP positions independently of the server) and compares the whole
document with the text expected."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for
from tests.lsp.conftest import Notes, initialize_params, magray_toml
from tests.lsp.editor_text import EditorBuffer, Encoding, position
from tests.lsp.test_actions import actions

Client = tuple[LanguageClient, Notes]
T = TypeVar("T")

#: emoji (UTF-16 surrogate pairs) and CJK around and inside the unit: a position computed in
#: bytes or code points instead of UTF-16 units lands visibly off
SOURCE = """import json
# 😀 设置 — parse HTTP headers 🎉

def parse_header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")  # 名前 😀
    return name.strip().lower(), value.strip()


class Registry:
    def add(self, key: str, value: int) -> None:
        self.items[key] = value
"""
DEF = "def parse_header(line: str) -> tuple[str, str]:\n"
DOC = "Split a header line into a lower-case name and a value 😀."
DOC_LINE = f'    """{DOC}"""\n'
NEW_FN = (
    "def parse_header(line: str) -> tuple[str, str]:\n"
    '    name, _, value = line.partition(":")  # 名前 😀\n'
    "    return name.strip().casefold(), value.strip()\n"
)
OLD_FN = SOURCE[SOURCE.index("def parse_header") : SOURCE.index("\n\n\nclass") + 1]
STALE = "changed while the model was answering"
ABOVE = ["import os", "import re  # 🎉 三", "LIMIT = 3"]
BELOW = "\n\ndef tail() -> str:\n    return '尾 🎉'\n"


def slow(text: str) -> Reply:
    """An answer that streams for a few seconds: time to type while it arrives."""
    words = text.split(" ")
    chunks = [w if i == 0 else " " + w for i, w in enumerate(words)]
    return Reply(text=text, chunks=chunks, chunk_delay=3.0 / max(len(chunks), 1))


DOCUMENT_ANSWER = f"```text\n{DOC}\n```"
REFACTOR_ANSWER = f"Here is a clearer version:\n\n```python\n{NEW_FN}```\n\nIt uses casefold."


@pytest.fixture
def workspace(workspace: Path, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic) -> Path:
    # a slow answer must not hit the provider timeout on a loaded machine
    (workspace / ".magray.toml").write_text(
        magray_toml(openai_fake, anthropic_fake).replace(
            "timeout_seconds = 5", "timeout_seconds = 120"
        )
    )
    return workspace


class Editor:
    """A client with a buffer, a workspace/applyEdit handler that applies like an editor, and
    the messages the server showed."""

    def __init__(self, client: Client, workspace: Path, text: str, name: str = "sample.py"):
        self.client, self.notes = client
        self.buffer = EditorBuffer(self.client, (workspace / name).as_uri(), text)
        self.applied: list[bool] = []
        editors: dict[str, Editor] | None = getattr(self.client, "magray_editors", None)
        if editors is None:  # one handler per client, dispatching on the document
            editors = {}
            self.client.magray_editors = editors  # type: ignore[attr-defined]

            @self.client.feature(lsp.WORKSPACE_APPLY_EDIT)
            def on_apply(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
                uris = [
                    c.text_document.uri
                    for c in params.edit.document_changes or []
                    if isinstance(c, lsp.TextDocumentEdit)
                ]
                editor = editors[uris[0]] if uris else None
                done = editor is not None and editor.buffer.apply(params.edit)
                if editor is not None:
                    editor.applied.append(done)
                return lsp.ApplyWorkspaceEditResult(applied=done)

        editors[self.uri] = self

    @property
    def uri(self) -> str:
        return self.buffer.uri

    def cursor(self, anchor: str, after: int = 4) -> lsp.Range:
        text = self.buffer.text
        at = position(text, text.index(anchor) + after, self.buffer.encoding)
        return lsp.Range(at, at)

    def protocol_range(self, anchor: str, after: int = 4) -> dict[str, Any]:
        rng = self.cursor(anchor, after)
        point = {"line": rng.start.line, "character": rng.start.character}
        return {"start": point, "end": point}

    async def listed(self, verb: str, anchor: str = "name, _, value") -> lsp.CodeAction:
        found = await actions(self.client, self.uri, self.cursor(anchor))
        return next(a for a in found if a.title.startswith(verb))

    async def while_answering(self, request: Awaitable[T], typing: Any) -> T:
        """Send `request`; once the answer has started streaming, run `typing()`."""
        seen = len(self.notes.stream)
        task: asyncio.Future[T] = asyncio.ensure_future(request)
        await wait_for(lambda: len(self.notes.stream) > seen or task.done(), within=60)
        assert not task.done(), "the answer ended before the user could type"
        typing()
        return await asyncio.wait_for(task, 120)

    def messages(self) -> list[str]:
        return [m.message for m in self.client.messages]


def type_above(buffer: EditorBuffer) -> None:
    buffer.type_lines_at("import json", ABOVE)  # three keystroke bursts at the top


def type_inside(buffer: EditorBuffer) -> None:
    at = buffer.text.index(".lower()")
    buffer.replace(at, at + len(".lower()"), ".lower().strip()")


def type_below(buffer: EditorBuffer) -> None:
    buffer.insert(len(buffer.text), BELOW)


def type_around(buffer: EditorBuffer) -> None:
    """Above and below, several bursts each, interleaved."""
    type_below(buffer)
    type_above(buffer)
    buffer.insert(buffer.text.index("class Registry"), "# 🎉 registry\n")


TYPING = {"above": type_above, "below": type_below, "around": type_around}


def documented(text: str) -> str:
    assert text.count(DEF) == 1
    return text.replace(DEF, DEF + DOC_LINE)


async def resolve_while_typing(editor: Editor, verb: str, typing: Any) -> lsp.CodeAction:
    action = await editor.listed(verb)
    return await editor.while_answering(
        editor.client.code_action_resolve_async(action), lambda: typing(editor.buffer)
    )


async def command_while_typing(editor: Editor, action: str, typing: Any) -> Any:
    """`magray.<action>` at the cursor in parse_header's body, `typing()` while it answers."""
    args = [{"uri": editor.uri, "range": editor.protocol_range("name, _, value")}]
    return await editor.while_answering(
        editor.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(f"magray.{action}", args)
        ),
        typing,
    )


@pytest.mark.parametrize("where", sorted(TYPING))
async def test_resolve_rebases_the_docstring_over_typing_outside_the_unit(
    client: Client, workspace: Path, openai_fake: FakeOpenAI, where: str
) -> None:
    editor = Editor(client, workspace, SOURCE)
    openai_fake.default = slow(DOCUMENT_ANSWER)
    resolved = await resolve_while_typing(editor, "Add docstring", TYPING[where])
    assert resolved.edit is not None, editor.messages()
    [change] = resolved.edit.document_changes or []
    assert isinstance(change, lsp.TextDocumentEdit)
    assert change.text_document.version == editor.buffer.version  # the version it fits
    typed = editor.buffer.text
    assert editor.buffer.apply(resolved.edit)
    assert editor.buffer.text == documented(typed)


async def test_resolve_refuses_when_the_unit_itself_was_edited(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    editor = Editor(client, workspace, SOURCE)
    openai_fake.default = slow(DOCUMENT_ANSWER)
    resolved = await resolve_while_typing(editor, "Add docstring", type_inside)
    assert resolved.edit is None
    await wait_for(lambda: any(STALE in m for m in editor.messages()))
    # paid for and reported all the same: the status still went out
    await wait_for(lambda: editor.notes.status and editor.notes.status[-1]["action"] == "document")


@pytest.mark.parametrize("where", ["above", "inside", "below"])
async def test_the_document_command_applies_rebased_or_refuses(
    client: Client, workspace: Path, openai_fake: FakeOpenAI, where: str
) -> None:
    editor = Editor(client, workspace, SOURCE)
    openai_fake.default = slow(DOCUMENT_ANSWER)
    typing = {"above": type_above, "inside": type_inside, "below": type_below}[where]
    result = await command_while_typing(editor, "document", lambda: typing(editor.buffer))
    if where == "inside":
        assert result["ok"] is False and STALE in result["error"]
        assert editor.applied == []  # nothing was even proposed
        assert ".lower().strip()" in editor.buffer.text and DOC not in editor.buffer.text
        return
    assert result["ok"] is True and editor.applied == [True], result
    expected = "\n".join(ABOVE) + "\n" + SOURCE if where == "above" else SOURCE + BELOW
    assert editor.buffer.text == documented(expected)


async def test_refactor_through_resolve_replaces_the_moved_unit(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    editor = Editor(client, workspace, SOURCE)
    openai_fake.default = slow(REFACTOR_ANSWER)
    resolved = await resolve_while_typing(editor, "Refactor", type_around)
    typed = editor.buffer.text
    assert editor.buffer.apply(resolved.edit), editor.messages()
    assert editor.buffer.text == typed.replace(OLD_FN, NEW_FN)
    assert "尾 🎉" in editor.buffer.text and "# 🎉 registry" in editor.buffer.text


async def test_refactor_command_refuses_when_a_line_is_glued_to_the_unit(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    """Text typed at the start of the unit's first line (no line break): the unit's line
    changed, so the rewrite is refused rather than merged with it."""
    editor = Editor(client, workspace, SOURCE)
    openai_fake.default = slow(REFACTOR_ANSWER)

    def glue() -> None:
        editor.buffer.insert(editor.buffer.text.index("def parse_header"), "async ")

    result = await command_while_typing(editor, "refactor", glue)
    assert result["ok"] is False and STALE in result["error"]
    assert editor.applied == []


async def test_crlf_document_rebased_through_resolve_and_refused_inside(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    crlf = SOURCE.replace("\n", "\r\n")
    editor = Editor(client, workspace, crlf)
    openai_fake.default = slow(DOCUMENT_ANSWER)
    resolved = await resolve_while_typing(
        editor, "Add docstring", lambda b: b.type_lines_at("import json", ABOVE, eol="\r\n")
    )
    typed = editor.buffer.text
    assert editor.buffer.apply(resolved.edit), editor.messages()
    assert editor.buffer.text == typed.replace(
        DEF.replace("\n", "\r\n"), DEF.replace("\n", "\r\n") + DOC_LINE.replace("\n", "\r\n")
    )
    assert "\n" not in editor.buffer.text.replace("\r\n", "")  # no bare LF slipped in

    # another document (another unit: an identical one would be a cache hit, not slow)
    other = Editor(client, workspace, crlf.replace("value.strip()", "value.strip(' ')"), "o.py")
    openai_fake.default = slow(DOCUMENT_ANSWER)
    resolved = await resolve_while_typing(other, "Add docstring", type_inside)
    assert resolved.edit is None
    await wait_for(lambda: any(STALE in m for m in other.messages()))


async def test_resolve_relocates_the_unit_listed_on_an_older_version(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    """Listed on version 1; three lines typed above before the user picks the action, more
    typed while the model answers: the docstring still goes on parse_header."""
    editor = Editor(client, workspace, SOURCE)
    action = await editor.listed("Add docstring")
    assert action.data is not None and action.data["version"] == 1
    type_above(editor.buffer)  # the listing's range now points three lines too high
    openai_fake.default = slow(DOCUMENT_ANSWER)
    resolved = await editor.while_answering(
        editor.client.code_action_resolve_async(action), lambda: type_below(editor.buffer)
    )
    typed = editor.buffer.text
    assert editor.buffer.apply(resolved.edit), editor.messages()
    assert editor.buffer.text == documented(typed)
    prompt = next(r.body for r in openai_fake.requests if r.method == "POST")
    assert "parse_header" in str(prompt["messages"])


async def test_resolve_acts_on_the_listed_unit_after_it_was_edited(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    editor = Editor(client, workspace, SOURCE)
    action = await editor.listed("Add docstring")
    type_inside(editor.buffer)  # the unit changed, the cursor's place in it did not
    openai_fake.default = slow(DOCUMENT_ANSWER)
    resolved = await editor.client.code_action_resolve_async(action)
    typed = editor.buffer.text
    assert editor.buffer.apply(resolved.edit), editor.messages()
    assert editor.buffer.text == documented(typed)
    assert ".lower().strip()" in str(
        next(r.body for r in openai_fake.requests if r.method == "POST")["messages"]
    )  # the model saw the code as it is now


async def test_resolve_refuses_when_the_listed_unit_is_gone(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    """parse_header replaced by another function where it was: the action is not run on
    whatever now sits at the old offsets."""
    editor = Editor(client, workspace, SOURCE)
    action = await editor.listed("Add docstring")
    start, end = (
        editor.buffer.text.index("def parse_header"),
        editor.buffer.text.index("\n\n\nclass"),
    )
    editor.buffer.replace(start, end, "def other(x):\n    return x  # 置き換え")
    openai_fake.default = Reply(text=DOCUMENT_ANSWER)
    resolved = await editor.client.code_action_resolve_async(action)
    assert resolved.edit is None
    await wait_for(lambda: any("list them again" in m for m in editor.messages()))
    assert not [r for r in openai_fake.requests if r.method == "POST"]  # nothing was spent


async def test_document_closed_while_the_model_answers(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    editor = Editor(client, workspace, SOURCE)
    openai_fake.default = slow(DOCUMENT_ANSWER)
    resolved = await resolve_while_typing(
        editor,
        "Add docstring",
        lambda b: b.client.text_document_did_close(
            lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(b.uri))
        ),
    )
    assert resolved.edit is None
    await wait_for(lambda: any("closed" in m for m in editor.messages()))


async def test_hover_explanation_stays_with_its_unit_when_text_moves(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    """Explain Registry.add while lines are typed above: the explanation is shown on
    Registry.add, never on parse_header (which the old byte span now covers)."""
    editor = Editor(client, workspace, SOURCE)
    openai_fake.default = slow("It stores the value under the key in the registry.")
    args = [{"uri": editor.uri, "range": editor.protocol_range("self.items", 0)}]
    result = await editor.while_answering(
        editor.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams("magray.explain", args)
        ),
        # enough bytes that the old span of Registry.add now covers parse_header
        lambda: editor.buffer.type_lines_at("import json", ["# " + "moved " * 20] * 2),
    )
    assert result is not None and result["ok"], result

    async def hover(anchor: str) -> str | None:
        found = await editor.client.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(editor.uri), editor.cursor(anchor, 2).start)
        )
        return None if found is None else found.contents.value  # type: ignore[union-attr]

    for anchor in ("name, _, value", "return name", "def parse_header"):
        assert await hover(anchor) is None
    assert "stores the value" in (await hover("self.items") or "")
    # an edited unit is another unit: its old explanation is not shown for it
    at = editor.buffer.text.index("= value")
    editor.buffer.replace(at, at + len("= value"), "= value * 2")
    assert await hover("self.items") is None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-32"])
async def test_negotiated_position_encodings(
    raw_client: LanguageClient, workspace: Path, openai_fake: FakeOpenAI, encoding: Encoding
) -> None:
    """With positionEncoding utf-8 (utf-32) the rebased edit's characters are bytes (code
    points), computed on the typed text."""
    notes = Notes()

    @raw_client.feature("magray/stream")
    def on_stream(params: Any) -> None:
        notes.stream.append(params)

    kind = lsp.PositionEncodingKind(encoding)
    params = initialize_params(workspace)
    params.capabilities.general = lsp.GeneralClientCapabilities(position_encodings=[kind])
    result = await raw_client.initialize_session(params)
    assert result.capabilities.position_encoding == kind
    await raw_client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("magray.clearCache", [])
    )
    editor = Editor((raw_client, notes), workspace, SOURCE)
    editor.buffer.encoding = encoding
    openai_fake.default = slow(DOCUMENT_ANSWER)
    action = await editor.listed("Add docstring")
    resolved = await editor.while_answering(
        raw_client.code_action_resolve_async(action), lambda: type_around(editor.buffer)
    )
    typed = editor.buffer.text
    assert editor.buffer.apply(resolved.edit), [m.message for m in raw_client.messages]
    assert editor.buffer.text == documented(typed)
    await raw_client.shutdown_session()
