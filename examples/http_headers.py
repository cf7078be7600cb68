"""A small HTTP header parser: the sample `make demo` explains."""

from __future__ import annotations

MAX_HEADER_BYTES = 8192


class HeaderError(ValueError):
    """A header line could not be parsed."""


def parse_header(line: str) -> tuple[str, str]:
    name, sep, value = line.partition(":")
    if not sep:
        raise HeaderError(f"missing ':' in header line {line!r}")
    name = name.strip()
    if not name or any(ch.isspace() for ch in name):
        raise HeaderError(f"invalid header name {name!r}")
    return name.lower(), value.strip()


def parse_headers(block: str) -> dict[str, list[str]]:
    if len(block.encode()) > MAX_HEADER_BYTES:
        raise HeaderError("header block too large")
    headers: dict[str, list[str]] = {}
    for raw in block.splitlines():
        if not raw.strip():
            break
        name, value = parse_header(raw)
        headers.setdefault(name, []).append(value)
    return headers
