"""Edits and targets that outlive the snapshot they were made on.

An action's edit is computed on the snapshot it started from, but the user keeps typing while
the model answers; a code action listed on one version is resolved on a later one. Both go
through the document's change log (`ParseCache.changes_since`, `context/rebase.py`): the edit is
carried onto the newest text and stamped with that version, or refused — never sent with the
newest version and the old offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsprotocol import types as lsp

from magray_lsp.context.document import Document
from magray_lsp.context.edits import TextEditSpec
from magray_lsp.context.parse_cache import Mark, ParseCache
from magray_lsp.context.positions import PositionEncoding
from magray_lsp.context.rebase import ByteEdit, StaleEdit, map_span, rebase
from magray_lsp.errors import MagrayError

#: (kind, qualified name) of the unit a listed action was offered for
UnitIdentity = tuple[str, str]


class ListingOutdated(MagrayError):
    """A listed action can no longer be placed in the current text."""


def rebased_edit(
    parses: ParseCache,
    uri: str,
    mark: Mark,
    snapshot: Document,
    edits: Sequence[TextEditSpec],
    guard: tuple[int, int],
    encoding: PositionEncoding,
) -> lsp.WorkspaceEdit:
    """`edits` (on `snapshot`, held as `mark`) as a WorkspaceEdit on the newest version, stamped
    with that version. `guard` is the unit's byte span in `snapshot`: a change that touched it
    (or the edited lines) raises MagrayError, and so does a document closed meanwhile."""
    history = parses.changes_since(uri, mark)
    if history is None:
        raise MagrayError(
            "the document was closed or changed too much while the model was answering; "
            "nothing was applied"
        )
    index = snapshot.line_index
    in_bytes = [
        ByteEdit(
            index.offset_at(e.start_line, e.start_char, encoding),
            index.offset_at(e.end_line, e.end_char, encoding),
            e.new_text,
        )
        for e in edits
    ]
    try:
        moved = rebase(snapshot.data, history.current.data, history.changes, guard, in_bytes)
    except StaleEdit as exc:
        raise MagrayError(str(exc)) from None
    current = history.current.line_index
    specs = []
    for edit in moved:
        start, end = (
            current.position_at(edit.start, encoding),
            current.position_at(edit.end, encoding),
        )
        specs.append(
            TextEditSpec(start.line, start.character, end.line, end.character, edit.new_text)
        )
    return workspace_edit(uri, history.current.version, specs)


def workspace_edit(uri: str, version: int, edits: Sequence[TextEditSpec]) -> lsp.WorkspaceEdit:
    text_edits = [
        lsp.TextEdit(
            lsp.Range(
                lsp.Position(e.start_line, e.start_char), lsp.Position(e.end_line, e.end_char)
            ),
            e.new_text,
        )
        for e in edits
    ]
    doc_id = lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    return lsp.WorkspaceEdit(
        document_changes=[lsp.TextDocumentEdit(text_document=doc_id, edits=text_edits)]
    )


def listing_data(
    mark: Mark | None, offsets: tuple[int, int], unit: UnitIdentity | None
) -> dict[str, Any]:
    """What a listed action carries (in `data` or its command's arguments) so that resolving
    it later finds the same place: the listing's snapshot, the range in its bytes, the unit."""
    data: dict[str, Any] = {"offsets": list(offsets)}
    if mark is not None:
        data["mark"] = mark.token()
    if unit is not None:
        data["unit"] = list(unit)
    return data


def relocate(
    parses: ParseCache,
    uri: str,
    rng: lsp.Range,
    data: dict[str, Any],
    encoding: PositionEncoding,
) -> tuple[lsp.Range, UnitIdentity | None]:
    """The range of a listed action (`data` from `listing_data`) in the newest text, and the
    unit it must still be on. Arguments without a listing mark are taken as they are (a
    command run on the current text), unless their `version` is not the current one."""
    unit = _unit_identity(data.get("unit"))
    current = parses.peek(uri)
    if current is None:
        raise MagrayError(f"{uri} is not open in the editor")
    mark = Mark.from_token(data.get("mark"))
    if mark is None:
        version = data.get("version")
        if isinstance(version, int) and version != current.version:
            raise ListingOutdated(
                "the document changed since the code actions were listed; list them again"
            )
        return rng, unit
    history = parses.changes_since(uri, mark)
    if history is None:
        raise ListingOutdated(
            "the document changed too much since the code actions were listed; list them again"
        )
    if not history.changes:
        return rng, unit
    offsets = data.get("offsets")
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(isinstance(o, int) and o >= 0 for o in offsets)
    ):
        raise MagrayError(f"not listing offsets: {str(offsets)[:100]}")
    start, end, touched = map_span(history.changes, (offsets[0], offsets[1]))
    if touched and unit is None:  # nothing to recognise the place by: do not guess
        raise ListingOutdated(
            "the code changed since the code actions were listed; list them again"
        )
    moved = history.current.line_index.offsets_to_range(start, end, encoding)
    return (
        lsp.Range(
            lsp.Position(moved.start.line, moved.start.character),
            lsp.Position(moved.end.line, moved.end.character),
        ),
        unit,
    )


def _unit_identity(raw: object) -> UnitIdentity | None:
    if isinstance(raw, list) and len(raw) == 2 and all(isinstance(p, str) for p in raw):
        return (raw[0], raw[1])
    return None
