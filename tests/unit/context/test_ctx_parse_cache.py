from __future__ import annotations

import asyncio
import time

import pytest
from tests.unit.context.context_samples import SAMPLES, sample_text

from magray_lsp.context import Document, ParseCache, Position, Range
from magray_lsp.context.parsing import parse

URI = "file:///work/sample"


def full_parse_sexp(doc: Document) -> str:
    assert doc.language is not None
    return str(parse(doc.language, doc.data).root_node)


def edits_for(text: str) -> list[tuple[Range | None, str]]:
    """A realistic typing session: insert, delete, replace, multi-line and non-ASCII edits."""
    lines = text.split("\n")
    mid = len(lines) // 2
    k = next(i for i in range(mid + 1, len(lines)) if len(lines[i].rstrip("\r")) >= 6)
    return [
        (Range(Position(mid, 0), Position(mid, 0)), "x"),
        (Range(Position(mid, 0), Position(mid, 1)), ""),
        (Range(Position(3, 0), Position(3, 0)), "\n\n"),
        (Range(Position(mid, 2), Position(mid + 2, 1)), "😀 中文 = 1\n"),
        (Range(Position(1, 0), Position(2, 0)), ""),
        (Range(Position(len(lines) + 5, 0), Position(len(lines) + 5, 0)), "\n// tail 🎉\n"),
        (None, text),  # full-text sync back to the original
        (Range(Position(k, 4), Position(k, 4)), "{"),  # a syntax error
        (Range(Position(k, 4), Position(k, 5)), ""),
    ]


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
async def test_incremental_edits_match_a_full_parse(language: str, crlf: bool) -> None:
    cache = ParseCache()
    text = sample_text(language, crlf=crlf)
    cache.open(URI, text, path=SAMPLES[language], version=1)
    for version, (rng, new_text) in enumerate(edits_for(text), start=2):
        doc = cache.apply_change(URI, rng, new_text, version)
        assert doc is not None
        assert doc.version == version
        assert doc.tree is not None  # small documents are parsed inline
        assert str(doc.tree.root_node) == full_parse_sexp(doc)
    final = await cache.get_document(URI)
    assert final is not None
    assert final.text == text


async def test_utf8_and_utf32_position_encodings() -> None:
    for encoding, character in (("utf-8", 4), ("utf-32", 1), ("utf-16", 2)):
        cache = ParseCache(encoding=encoding)  # type: ignore[arg-type]
        cache.open(URI, "x = '😀'\n", language_id="python")
        doc = cache.apply_change(URI, Range(Position(0, 5), Position(0, 5 + character)), "ab", 2)
        assert doc is not None
        assert doc.text == "x = 'ab'\n"


async def test_large_documents_parse_in_a_worker_and_edits_are_not_lost() -> None:
    cache = ParseCache(inline_max_bytes=1024)  # everything here counts as large
    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(3000))
    cache.open(URI, body, language_id="python", version=1)
    assert cache.peek(URI) is not None
    assert cache.peek(URI).tree is None  # type: ignore[union-attr]
    first = asyncio.create_task(cache.get_document(URI))
    await asyncio.sleep(0)  # the worker starts...
    # ...and edits keep arriving while it runs.
    cache.apply_change(URI, Range(Position(1, 15), Position(1, 16)), "y", 2)
    cache.apply_change(URI, Range(Position(0, 0), Position(0, 0)), "import os\n", 3)
    doc = await first
    assert doc is not None
    latest = await cache.get_document(URI)
    assert latest is not None
    assert latest.version == 3
    assert latest.tree is not None
    assert latest.text.startswith("import os\ndef f0(x):\n    return x + y\n")
    assert str(latest.tree.root_node) == full_parse_sexp(latest)


async def test_concurrent_callers_share_one_worker_parse() -> None:
    cache = ParseCache(inline_max_bytes=1024)
    cache.open(URI, "x = 1\n" * 5000, language_id="python")
    docs = await asyncio.gather(*(cache.get_document(URI) for _ in range(5)))
    trees = {id(d.tree) for d in docs if d is not None}
    assert len(trees) == 1


async def test_worker_parse_keeps_the_event_loop_responsive() -> None:
    # py-tree-sitter holds the GIL during parse(bytes); the worker parse must not.
    cache = ParseCache(inline_max_bytes=1024)
    text = sample_text("python") * 1500  # ~2.7 MB
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    cache.open(URI, text, language_id="python")
    started = time.perf_counter()
    doc = await cache.get_document(URI)
    parse_seconds = time.perf_counter() - started
    done.set()
    await tick
    assert doc is not None and doc.tree is not None
    # The loop kept ticking through a parse that takes hundreds of milliseconds.
    assert parse_seconds > 0.1
    assert len(gaps) >= 10
    assert max(gaps) < parse_seconds / 2


async def test_close_cancels_and_forgets() -> None:
    cache = ParseCache(inline_max_bytes=1024)
    cache.open(URI, "x = 1\n" * 200_000, language_id="python")
    pending = asyncio.create_task(cache.get_document(URI))
    await asyncio.sleep(0)
    cache.close(URI)
    assert await pending is None
    assert URI not in cache
    assert await cache.get_tree(URI) is None
    assert cache.apply_change(URI, None, "y", 2) is None


async def test_reopen_replaces_state() -> None:
    cache = ParseCache()
    cache.open(URI, "fn main() {}\n", language_id="rust")
    doc = cache.open(URI, "def f(): pass\n", language_id="python", version=7)
    assert doc.language is not None and doc.language.name == "python"
    assert doc.version == 7
    assert len(cache) == 1


async def test_plain_text_binary_and_oversized_documents_have_no_tree() -> None:
    cache = ParseCache(max_parse_bytes=1000)
    cache.open("file:///notes.txt", "just words\n", language_id="plaintext")
    cache.open("file:///blob.py", "\x00\x01\x02binary", language_id="python")
    cache.open("file:///huge.py", "x = 1\n" * 1000, language_id="python")
    for uri in ("file:///notes.txt", "file:///blob.py", "file:///huge.py"):
        doc = await cache.get_document(uri)
        assert doc is not None
        assert doc.tree is None
    doc = cache.apply_change("file:///notes.txt", None, "other words", 2)
    assert doc is not None and doc.text == "other words"


async def test_edit_positions_past_the_end_are_clamped() -> None:
    cache = ParseCache()
    cache.open(URI, "a = 1\n", language_id="python")
    doc = cache.apply_change(URI, Range(Position(99, 99), Position(120, 0)), "b = 2\n", 2)
    assert doc is not None
    assert doc.text == "a = 1\nb = 2\n"
    assert doc.tree is not None and not doc.tree.root_node.has_error


async def test_snapshots_are_immutable() -> None:
    cache = ParseCache()
    old = cache.open(URI, "def f():\n    return 1\n", language_id="python")
    old_sexp = str(old.tree.root_node)  # type: ignore[union-attr]
    cache.apply_change(URI, Range(Position(1, 11), Position(1, 12)), "2 + 3", 2)
    assert old.text == "def f():\n    return 1\n"
    assert str(old.tree.root_node) == old_sexp  # type: ignore[union-attr]
