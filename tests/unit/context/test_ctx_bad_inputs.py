"""Bad input gets a clear result (None, clamped, plain-text fallback), never a traceback."""

from __future__ import annotations

import pytest

from magray_lsp.context import (
    MAX_PARSE_BYTES,
    Document,
    ParseCache,
    Position,
    Range,
    build_context,
    docstring_edit,
    error_count,
    find_unit,
    normalized_code_key,
)

BINARY = "\x00\x01\x02\xff\xfe ELF\x00 garbage \x00" * 100


def test_binary_content_is_never_parsed() -> None:
    doc = Document.from_text(BINARY, path="program.py")
    assert doc.language is None and doc.tree is None
    assert find_unit(doc, 10) is None
    ctx = build_context(doc, (5, 5), 1000)
    assert ctx.kind == "binary" and ctx.text == ""
    assert len(normalized_code_key(doc.language, BINARY)) == 64


async def test_ten_megabyte_file_degrades_to_a_window() -> None:
    text = "value = compute(1, 2, 3)  # filler\n" * 300_000  # 10.5 MB
    assert len(text) > MAX_PARSE_BYTES
    cache = ParseCache()
    cache.open("file:///big.py", text, language_id="python")
    doc = await cache.get_document("file:///big.py")
    assert doc is not None and doc.tree is None
    at = doc.line_index.line_start(150_000)
    ctx = build_context(doc, (at, at), 500)
    assert ctx.kind == "window"
    assert ctx.line_span == (150_000, 150_000)
    assert ctx.context_tokens <= 500
    assert ctx.file_tokens > 2_000_000
    edited = cache.apply_change("file:///big.py", Range(Position(0, 0), Position(0, 5)), "v", 2)
    assert edited is not None and edited.text.startswith("v = compute")


@pytest.mark.parametrize(
    "source",
    ["def (:\n  ???\n", "class", ")))))", "def f(:\n    return [\n", "\n\n\n", ""],
)
def test_syntax_errors_and_empty_files(source: str) -> None:
    doc = Document.from_text(source, path="broken.py")
    for offset in (0, len(doc.data) // 2, len(doc.data), len(doc.data) + 100, -5):
        unit = find_unit(doc, offset)
        ctx = build_context(doc, (offset, offset), 200)
        assert ctx.target in doc.text
        assert ctx.target in ctx.text
        if unit is not None and unit.kind != "region":
            edit = docstring_edit(doc, unit, "Doc.")
            assert edit is not None and "Doc." in edit.document
    assert error_count("python", source) >= (1 if "(" in source or source == "class" else 0)


def test_unknown_language_falls_back_to_plain_text() -> None:
    doc = Document.from_text("SELECT * FROM t;\nSELECT 1;\n", language_id="sql", path="q.sql")
    assert doc.language is None
    assert doc.language_name == "text"
    ctx = build_context(doc, (3, 3), 100)
    assert (ctx.kind, ctx.target) == ("window", "SELECT * FROM t;\n")


async def test_unknown_uri_and_out_of_range_positions() -> None:
    cache = ParseCache()
    assert cache.peek("file:///nope") is None
    assert await cache.get_document("file:///nope") is None
    assert cache.apply_change("file:///nope", None, "x", 1) is None
    cache.close("file:///nope")  # closing twice / unknown is fine
    cache.open("file:///a.py", "x = 1\n", language_id="python")
    doc = cache.apply_change(
        "file:///a.py", Range(Position(-4, -4), Position(10**6, 10**6)), "y = 2", 2
    )
    assert doc is not None and doc.text == "y = 2"


def test_lone_surrogates_from_json_do_not_crash() -> None:
    doc = Document.from_text("s = '\ud800'\n", path="a.py")
    assert doc.tree is not None
    assert build_context(doc, (0, 0), 100).text
