"""Explanations in the editor: shown as a document (or a message), remembered per unit, and
given back on hover; with `[hover] auto`, a pause on an unexplained unit asks for one."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from magray_lsp.actions.perform import ActionError
from magray_lsp.context.normalize import normalized_unit_key
from magray_lsp.errors import MagrayError
from magray_lsp.lsp import reports
from magray_lsp.lsp.offers import unit_at
from magray_lsp.lsp.running import Ran, run
from magray_lsp.lsp.status import status_text

if TYPE_CHECKING:
    from magray_lsp.context.document import Document
    from magray_lsp.context.units import Unit
    from magray_lsp.lsp.core import MagrayServer

#: how long the pointer must rest before an automatic hover asks a model
HOVER_DEBOUNCE_SECONDS = 0.3


async def hover(ls: MagrayServer, params: lsp.HoverParams) -> lsp.Hover | None:
    uri = params.text_document.uri
    doc = ls.parses.peek(uri)
    if doc is None or doc.tree is None:
        return None
    offset = ls.offsets(doc, lsp.Range(params.position, params.position))[0]
    unit = unit_at(doc, offset, offset)
    if unit is None:
        return None
    known = ls.explanations.get(explanation_key(uri, doc, unit))
    if known is None:
        runtime, _ = ls.runtime_for(uri)
        if not runtime.gateway.config.hover.auto:
            return None  # never spend money on hover unless asked to
        known = await auto_hover(ls, uri, doc, unit.byte_span)
        if known is None:
            return None
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, known))


async def auto_hover(
    ls: MagrayServer, uri: str, doc: Document, span: tuple[int, int]
) -> str | None:
    hovered = ls.parses.mark_of(uri, doc)
    await asyncio.sleep(HOVER_DEBOUNCE_SECONDS)  # debounce: a newer hover cancels this one
    if hovered is None or ls.parses.mark_of(uri) != hovered:
        return None  # typed meanwhile: `span` is of an older version
    start = doc.line_index.position_at(span[0], ls.encoding)
    cursor = lsp.Position(start.line, start.character)
    try:
        ran = await run(ls, "hover", uri, lsp.Range(cursor, cursor), None)
    except (MagrayError, ActionError):
        return None
    return remember_explanation(ls, ran, uri)


def explanation_key(uri: str, doc: Document, unit: Unit) -> tuple[str, str, str, str]:
    """Hover memory key: the unit's kind, qualified name and content (comment- and
    whitespace-insensitive), so an explanation never attaches to another unit."""
    return (uri, unit.kind, unit.qualified_name, normalized_unit_key(doc, unit))


def remember_explanation(ls: MagrayServer, ran: Ran, uri: str) -> str:
    """The explanation's markdown, remembered for hover under the identity of the unit it
    explains in the snapshot it was computed on (not a byte span: the text moves)."""
    result = ran.result
    ctx = result.prepared.context
    header = f"### `{ctx.unit}`\n\n" if ctx.unit else ""
    footer = status_text(result.outcome)
    markdown = f"{header}{result.markdown}\n\n---\n*{footer}*"
    unit = ran.target.unit()
    if unit is not None:
        ls.explanations[explanation_key(uri, ran.target.doc, unit)] = markdown
    return markdown


async def show_explanation(ls: MagrayServer, markdown: str, unit: str) -> None:
    """Open `markdown` as a document beside the code (or, if the client cannot show one, as a
    message)."""
    caps = ls.client_capabilities.window
    if caps and caps.show_document and caps.show_document.support:
        folder = reports.output_dir()
        path = folder / f"explain-{(unit or 'selection').replace('/', '_')[:60]}.md"
        path.write_text(markdown, encoding="utf-8")
        await ls.window_show_document_async(
            lsp.ShowDocumentParams(uri=path.as_uri(), take_focus=False)
        )
    else:
        ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Info, markdown))
