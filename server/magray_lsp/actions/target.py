"""What an action acts on: a document snapshot, a byte range in it, and whether it is private."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from magray_lsp.actions.source import Location, SourceError, read_source
from magray_lsp.context.document import Document
from magray_lsp.context.units import Unit, find_unit


@dataclass(frozen=True, slots=True)
class Target:
    doc: Document
    start: int  # byte offsets into doc.data
    end: int
    path: Path | None = None
    private: bool = False

    @property
    def language(self) -> str:
        return self.doc.language.name if self.doc.language else "text"

    def unit(self) -> Unit | None:
        return find_unit(self.doc, self.start, self.end)


def target_from_location(location: Location, *, private: bool = False) -> Target:
    """The CLI's `FILE:LINE[:COL]` (1-based) as a Target on a freshly parsed document."""
    text = read_source(location.path)
    doc = Document.from_text(text, path=str(location.path), uri=location.path.resolve().as_uri())
    lines = doc.line_index.line_count
    if location.line > lines:
        raise SourceError(f"{location.path}: line {location.line} is past the end ({lines} lines)")
    start = doc.line_index.line_start(location.line - 1)
    end_of_line = doc.line_index.line_end(location.line - 1)
    if location.column is not None:
        offset = start + len(
            doc.data[start:end_of_line].decode("utf-8", "replace")[: location.column - 1].encode()
        )
    else:  # the first non-blank character: the line's statement, not the indentation
        line = doc.data[start:end_of_line]
        offset = start + (len(line) - len(line.lstrip()))
    return Target(doc, offset, offset, location.path, private)
