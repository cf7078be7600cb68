"""Document sync: open, change and close keep the parse cache (the one copy of each document)
up to date; a big file is re-parsed in the background once typing pauses."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from magray_lsp.context.document import valid_text
from magray_lsp.context.positions import Position, Range

if TYPE_CHECKING:
    from magray_lsp.lsp.core import MagrayServer

#: how long typing must pause before a big document's tree is brought up to date
REPARSE_DELAY_SECONDS = 0.25


def did_open(ls: MagrayServer, params: lsp.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    text = valid_text(item.text)
    doc = ls.parses.open(item.uri, text, language_id=item.language_id, version=item.version)
    if (reason := ls.too_large(doc, ls.runtime_for(item.uri)[0])) is not None:
        ls.log(f"magray: {item.uri}: {reason}")


def did_change(ls: MagrayServer, params: lsp.DidChangeTextDocumentParams) -> None:
    uri, version = params.text_document.uri, params.text_document.version
    for change in params.content_changes:
        rng = None
        if isinstance(change, lsp.TextDocumentContentChangePartial):
            r = change.range
            rng = Range(
                Position(r.start.line, r.start.character), Position(r.end.line, r.end.character)
            )
        ls.parses.apply_change(uri, rng, valid_text(change.text), version)
    refresh_tree_soon(ls, uri)


def did_close(ls: MagrayServer, params: lsp.DidCloseTextDocumentParams) -> None:
    ls.parses.close(params.text_document.uri)


def refresh_tree_soon(ls: MagrayServer, uri: str) -> None:
    """Big documents are not re-parsed on every keystroke; once typing pauses, bring the
    tree up to date in the background so listing (which never waits) names the unit."""
    doc = ls.parses.peek(uri)
    if doc is None or doc.tree is not None:
        return
    if (timer := ls.reparse_timers.pop(uri, None)) is not None:
        timer.cancel()

    def reparse() -> None:
        ls.reparse_timers.pop(uri, None)
        ls.keep(asyncio.ensure_future(ls.parses.get_document(uri)))

    ls.reparse_timers[uri] = asyncio.get_running_loop().call_later(REPARSE_DELAY_SECONDS, reparse)
