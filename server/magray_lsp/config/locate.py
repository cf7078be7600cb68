"""Find the line of a dotted key in TOML text, so errors can say `file:line: key`.

tomllib keeps no positions; a light scan of table headers and `key =` lines is enough for the
files people write by hand (tables, sub-tables, dotted keys, inline values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"' ]+?)\s*=")


def _split(dotted: str) -> tuple[str, ...]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([^.\s]+)', dotted)
    return tuple(next(p for p in groups if p) for groups in parts)


def locate_key(text: str, path: tuple[str, ...]) -> int | None:
    """1-based line where `path` (or its nearest enclosing table) is defined; None if absent."""
    best: tuple[int, int] | None = None  # (matched depth, line)
    table: tuple[str, ...] = ()
    for lineno, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _split(header.group(1))
            full = table
        else:
            key = _KEY.match(line)
            if not key:
                continue
            full = table + _split(key.group(1))
        depth = 0
        for a, b in zip(full, path, strict=False):
            if a != b:
                break
            depth += 1
        if depth and depth == len(full) and (best is None or depth > best[0]):
            best = (depth, lineno)
            if depth == len(path):
                return lineno
    return best[1] if best else None


def multiline_offset(toml_text: str, line: int, line_in_value: int) -> int:
    """Lines from a key's line (1-based `line` in `toml_text`) to the `line_in_value`-th line
    of its value: a multi-line string whose opening quotes end the line starts on the next.
    A one-line string with `\\n` escapes has only its key's line."""
    rows = toml_text.splitlines()
    source = rows[line - 1] if 0 < line <= len(rows) else ""
    for quotes in ('"""', "'''"):
        if quotes in source:
            return line_in_value + (0 if source.split(quotes, 1)[1].strip() else 1)
    return 0


@dataclass(frozen=True)
class Source:
    """Where a layer came from: a file (with its text, for line numbers) or editor settings."""

    label: str
    text: str = ""

    def where(self, path: tuple[str, ...]) -> str:
        line = locate_key(self.text, path) if self.text else None
        return f"{self.label}:{line}" if line else self.label

    def line_of(self, path: tuple[str, ...], line_in_value: int = 0) -> int:
        """1-based line of key `path`, or of a line inside its (multi-line string) value."""
        line = locate_key(self.text, path) if self.text else None
        return line + multiline_offset(self.text, line, line_in_value) if line else 1
