"""A cached refactor never drops a comment the user added since (over stdio, real server)."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp

from magray_lsp.context.edits import TextEditSpec, apply_edits
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.lsp.conftest import SAMPLE
from tests.lsp.test_actions import Client, actions, at, open_sample

COMMENT = "    # lower(), not casefold(): header names are ASCII\n"
REFACTORED = (
    "def parse_header(line: str) -> tuple[str, str]:\n"
    '    """Split a header line into its lower-cased name and its value."""\n'
    '    name, _, value = line.partition(":")\n'
    "{comment}"
    "    return name.strip().lower(), value.strip()\n"
)


def posts(server: FakeOpenAI) -> int:
    return sum(1 for r in server.requests if r.method == "POST")


def change(client: Client, uri: str, version: int, line: int, old: str, new: str) -> None:
    """The user types: ``old`` (at the start of ``line``'s text) becomes ``new``."""
    start = lsp.Position(line, 0)
    end = lsp.Position(line, len(old))
    client[0].text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [lsp.TextDocumentContentChangePartial(range=lsp.Range(start, end), text=new)],
        )
    )


async def refactored(client: Client, uri: str, text: str) -> str:
    """Resolve "Refactor" on `parse_header`; the document as the edit would leave it."""
    action = next(a for a in await actions(client[0], uri, at(4)) if a.title.startswith("Refactor"))
    resolved = await client[0].code_action_resolve_async(action)
    assert resolved.edit is not None and resolved.edit.document_changes, resolved
    [edit] = resolved.edit.document_changes
    assert isinstance(edit, lsp.TextDocumentEdit)
    specs = [
        TextEditSpec(
            e.range.start.line,
            e.range.start.character,
            e.range.end.line,
            e.range.end.character,
            e.new_text,
        )
        for e in edit.edits
        if isinstance(e, lsp.TextEdit)
    ]
    return apply_edits(text, specs)


async def test_a_comment_added_after_a_refactor_was_cached_survives(
    client: Client, workspace: Path, openai_fake: FakeOpenAI
) -> None:
    # The refactor key keeps the unit's comments (only whitespace and formatting are ignored),
    # so the added comment makes a different key: the model is asked again, and its answer —
    # like a real model's — keeps the comment it was shown. (Before, the comment-blind key hit
    # the first answer, which replaced the function without the comment.)
    openai_fake.script(
        Reply(text=f"```python\n{REFACTORED.format(comment='')}```"),
        Reply(text=f"Here it is:\n```python\n{REFACTORED.format(comment=COMMENT)}```"),
    )
    uri = open_sample(client[0], workspace)
    first = await refactored(client, uri, SAMPLE)
    assert '"""Split a header line' in first and posts(openai_fake) == 1

    # not applied; the user adds a comment inside the function and asks again
    line5 = "    return name.strip().lower(), value.strip()\n"
    change(client, uri, 2, 5, "", COMMENT)
    commented = SAMPLE.replace(line5, COMMENT + line5)
    second = await refactored(client, uri, commented)
    assert posts(openai_fake) == 2  # a different key: no cache hit
    assert COMMENT in second and '"""Split a header line' in second

    # reformatting inside the function is not a change: the cached answer fits and is used
    change(client, uri, 3, 4, "    name, _, value", "    name,  _,  value")
    reformatted = commented.replace("    name, _, value", "    name,  _,  value")
    third = await refactored(client, uri, reformatted)
    assert posts(openai_fake) == 2  # the hit, checked against the current code
    assert third == second
