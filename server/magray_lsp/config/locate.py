"""Find the line of a dotted key in TOML text, so errors can say `file:line: key`.

tomllib keeps no positions; a light scan of table headers and `key =` lines is enough for the
files people write by hand (tables, sub-tables, dotted keys, inline values).
"""

from __future__ import annotations

import re

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
