"""Helpers for the context package tests: the sample files and ways to point into them."""

from __future__ import annotations

from pathlib import Path

from magray_lsp.context import Document

DATA = Path(__file__).resolve().parents[2] / "data"

#: language name -> sample file
SAMPLES = {
    "python": "sample.py",
    "javascript": "sample.js",
    "typescript": "sample.ts",
    "tsx": "sample.tsx",
    "rust": "sample.rs",
    "go": "sample.go",
    "java": "sample.java",
    "c": "sample.c",
    "cpp": "sample.cpp",
    "ruby": "sample.rb",
    "lua": "sample.lua",
}


def sample_text(language: str, *, crlf: bool = False) -> str:
    text = (DATA / SAMPLES[language]).read_text(encoding="utf-8")
    return text.replace("\n", "\r\n") if crlf else text


def sample_doc(language: str, *, crlf: bool = False) -> Document:
    return Document.from_text(sample_text(language, crlf=crlf), path=SAMPLES[language])


def offset_of(doc: Document, needle: str, *, occurrence: int = 0, delta: int = 0) -> int:
    """Byte offset of the start of `needle` in the document (plus `delta` bytes)."""
    data = doc.data
    target = needle.encode()
    pos = -1
    for _ in range(occurrence + 1):
        pos = data.find(target, pos + 1)
        assert pos != -1, f"{needle!r} not in {doc.uri or doc.language_name}"
    return pos + delta
