"""The client's copy of a document, kept the way an editor keeps it — written independently of
the server's position code, so a test that applies the server's edits here checks them against
an outside reading of the protocol, not against the server's own arithmetic."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

Encoding = Literal["utf-8", "utf-16", "utf-32"]
_BREAK = re.compile(r"\r\n|\r|\n")  # LSP line breaks, and only those


def _width(char: str, encoding: Encoding) -> int:
    if encoding == "utf-8":
        return len(char.encode())
    if encoding == "utf-16":
        return 2 if ord(char) > 0xFFFF else 1
    return 1


def offset(text: str, position: lsp.Position, encoding: Encoding = "utf-16") -> int:
    """str index of an LSP position (characters past the line's end clamp to it)."""
    line_start = 0
    for _ in range(position.line):
        found = _BREAK.search(text, line_start)
        if found is None:
            return len(text)
        line_start = found.end()
    found = _BREAK.search(text, line_start)
    line_end = found.start() if found else len(text)
    units, index = 0, line_start
    while index < line_end and units < position.character:
        units += _width(text[index], encoding)
        index += 1
    return index


def position(text: str, index: int, encoding: Encoding = "utf-16") -> lsp.Position:
    """LSP position of str index `index`."""
    line, line_start = 0, 0
    for found in _BREAK.finditer(text, 0, index):
        if found.end() > index:
            break
        line, line_start = line + 1, found.end()
    return lsp.Position(line, sum(_width(c, encoding) for c in text[line_start:index]))


def apply_edits(text: str, edits: Sequence[lsp.TextEdit], encoding: Encoding = "utf-16") -> str:
    """Apply one TextDocumentEdit's edits (all against `text`), as an editor does."""
    spans = sorted(
        (
            (offset(text, e.range.start, encoding), offset(text, e.range.end, encoding), i, e)
            for i, e in enumerate(edits)
        ),
        reverse=True,
    )
    for start, end, _, edit in spans:
        text = text[:start] + edit.new_text + text[end:]
    return text


class EditorBuffer:
    """An open document on the client side: typing sends didChange (incremental, one change
    per keystroke burst) and applying a WorkspaceEdit checks its version like Neovim and VS
    Code do (an edit for another version is refused, never applied at its offsets)."""

    def __init__(
        self,
        client: LanguageClient,
        uri: str,
        text: str,
        *,
        language_id: str = "python",
        encoding: Encoding = "utf-16",
    ) -> None:
        self.client, self.uri, self.text, self.encoding = client, uri, text, encoding
        self.version = 1
        client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, language_id, 1, text))
        )

    def replace(self, start: int, end: int, new: str) -> None:
        """Replace str range [start, end) of the current text, telling the server."""
        rng = lsp.Range(
            position(self.text, start, self.encoding), position(self.text, end, self.encoding)
        )
        self.text = self.text[:start] + new + self.text[end:]
        self.version += 1
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                lsp.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                [lsp.TextDocumentContentChangePartial(range=rng, text=new)],
            )
        )

    def insert(self, index: int, new: str) -> None:
        self.replace(index, index, new)

    def type_lines_at(self, anchor: str, lines: Sequence[str], eol: str = "\n") -> None:
        """Insert `lines` one keystroke burst each, just before the line holding `anchor`."""
        at = self.text.index(anchor)
        at = max(self.text.rfind("\n", 0, at), self.text.rfind("\r", 0, at)) + 1
        for line in lines:
            self.insert(at, line + eol)
            at += len(line + eol)

    def apply(self, edit: lsp.WorkspaceEdit | None) -> bool:
        """Apply a WorkspaceEdit for this document the way an editor does: only if it is for
        the buffer's current version."""
        if edit is None or not edit.document_changes:
            return False
        [change] = edit.document_changes
        assert isinstance(change, lsp.TextDocumentEdit)
        assert change.text_document.uri == self.uri
        if change.text_document.version != self.version:
            return False
        edits = [e for e in change.edits if isinstance(e, lsp.TextEdit)]
        self.text = apply_edits(self.text, edits, self.encoding)
        self.version += 1  # the editor's own change, echoed back as didChange
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                lsp.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                [lsp.TextDocumentContentChangeWholeDocument(text=self.text)],
            )
        )
        return True
