"""Parsing bytes with tree-sitter: one parser per thread, plus a GIL-friendly form for workers.

py-tree-sitter holds the GIL for the whole of `Parser.parse(bytes)` (its allocator needs it), so
a plain parse in a worker thread would still freeze the event loop. Parsing through a read
callback with a progress callback hands the interpreter a switch point every few hundred
microseconds, which is what lets `asyncio.to_thread` actually keep the loop responsive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from .languages import LanguageSpec, grammar

if TYPE_CHECKING:
    from tree_sitter import Parser, Point, Tree

_CHUNK = 64 * 1024
_local = threading.local()


class ParseCancelled(Exception):
    """A worker parse was abandoned (document closed or superseded)."""


def _parser(spec: LanguageSpec) -> Parser:
    # Parsers are not thread-safe; a parser per (thread, language) is cheap and lock-free.
    parsers: dict[str, Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    found = parsers.get(spec.name)
    if found is None:
        from tree_sitter import Parser

        found = parsers[spec.name] = Parser(grammar(spec))
    return found


def parse(spec: LanguageSpec, data: bytes, old_tree: Tree | None = None) -> Tree:
    """Parse on the calling thread (holds the GIL throughout: keep it for small inputs)."""
    parser = _parser(spec)
    # The binding rejects an explicit `old_tree=None`, so only pass a real tree.
    return parser.parse(data, old_tree) if old_tree is not None else parser.parse(data)


def parse_yielding(
    spec: LanguageSpec,
    data: bytes,
    old_tree: Tree | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Tree:
    """Parse in a way that lets other Python threads run; for worker threads.

    Raises ParseCancelled when `cancelled()` turns true mid-parse."""
    view = memoryview(data)

    def read(offset: int, _point: Point) -> memoryview:
        return view[offset : offset + _CHUNK]

    def progress(_offset: int, _has_error: bool) -> bool:
        return cancelled is not None and cancelled()

    parser = _parser(spec)
    try:
        if old_tree is None:
            return parser.parse(read, progress_callback=progress)
        return parser.parse(read, old_tree, progress_callback=progress)
    except ValueError as exc:
        # A cancelled parse raises and leaves the parser mid-parse; reset it for the next user.
        parser.reset()
        raise ParseCancelled(str(exc)) from exc
