"""An immutable snapshot of one document version: its bytes, language and (maybe) tree."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .languages import LanguageSpec, language_for
from .parsing import parse
from .positions import LineIndex, decode, encode

if TYPE_CHECKING:
    from tree_sitter import Tree

#: Above this size we do not parse at all: a tree costs ~20x the source in memory, and a window
#: of plain text is context enough for a generated or vendored file this big.
MAX_PARSE_BYTES = 4 * 1024 * 1024
#: A NUL in the first bytes means binary content (the same test git and grep use).
_BINARY_PROBE = 8192


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """`text` with lone surrogates (a client can send them as JSON escapes; they are not
    Unicode and break every later encode) replaced by U+FFFD. Position-neutral: both are one
    UTF-16 unit, three UTF-8 bytes and one code point."""
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)


def looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:_BINARY_PROBE]


class Document:
    """One version of a document. Never mutated: a new version is a new snapshot, so a reader
    holding one (and nodes of its tree) is never surprised by a concurrent edit.

    `tree`, when set, is the parse of exactly `data`. It is None for plain text, binary or
    oversized content, and while a large document's parse is still running."""

    __slots__ = (
        "_file_tokens",
        "_line_index",
        "_text",
        "data",
        "language",
        "tree",
        "uri",
        "version",
    )

    def __init__(
        self,
        uri: str,
        version: int,
        language: LanguageSpec | None,
        data: bytes,
        tree: Tree | None = None,
        *,
        text: str | None = None,
        line_index: LineIndex | None = None,
    ) -> None:
        self.uri = uri
        self.version = version
        self.language = language
        self.data = data
        self.tree = tree
        self._text = text
        self._line_index = line_index
        self._file_tokens: int | None = None

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        language_id: str | None = None,
        path: str | None = None,
        uri: str = "",
        version: int = 0,
    ) -> Document:
        """Parse synchronously (CLI, tests); the server goes through `ParseCache` instead."""
        data = encode(text)
        spec = detect_language(data, language_id, path or uri)
        tree = parse(spec, data) if spec is not None and len(data) <= MAX_PARSE_BYTES else None
        return cls(uri, version, spec, data, tree, text=text)

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = decode(self.data)
        return self._text

    @property
    def line_index(self) -> LineIndex:
        if self._line_index is None:
            self._line_index = LineIndex(self.data)
        return self._line_index

    @property
    def has_line_index(self) -> bool:
        return self._line_index is not None

    @property
    def language_name(self) -> str:
        return self.language.name if self.language is not None else "text"

    @property
    def file_tokens(self) -> int:
        """Estimated tokens of the whole file; O(1) after the first call (cheap for listing)."""
        if self._file_tokens is None:
            from .tokens import estimate_tokens

            self._file_tokens = estimate_tokens(self.data, self.language_name)
        return self._file_tokens

    def with_tree(self, tree: Tree | None) -> Document:
        """The same version with a (newly parsed) tree, sharing the lazily built caches."""
        doc = Document(
            self.uri,
            self.version,
            self.language,
            self.data,
            tree,
            text=self._text,
            line_index=self._line_index,
        )
        doc._file_tokens = self._file_tokens
        return doc

    def __repr__(self) -> str:
        state = "parsed" if self.tree is not None else "unparsed"
        return (
            f"Document({self.uri!r}, v{self.version}, {self.language_name}, "
            f"{len(self.data)} bytes, {state})"
        )


def detect_language(data: bytes, language_id: str | None, path: str | None) -> LanguageSpec | None:
    """The document's language, or None for plain text and binary content."""
    if looks_binary(data):
        return None
    return language_for(language_id, path)
