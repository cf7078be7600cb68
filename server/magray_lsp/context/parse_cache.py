"""Per-document parse state, kept in step with `didOpen`/`didChange`/`didClose`.

Small documents are parsed inline, incrementally, as each change arrives. Large ones
(> INLINE_PARSE_MAX_BYTES) are only *edited* as changes arrive (typing never waits on a
parse); their tree is brought up to date when someone asks for it: first by an incremental
re-parse on the loop with a hard deadline (a typical one takes ~1 ms even at 20k lines), and if
that runs out, or there is no previous tree, in a worker thread. Every method except
`get_document`/`get_tree` is synchronous and meant to be called from the event loop thread.

While a request holds an older snapshot (`hold`, `bookmark`), the content changes made since are
kept (`changes_since`), so an edit computed on that snapshot can be carried onto the current text
or refused (context/rebase.py). With nothing held, nothing is kept.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from .document import MAX_PARSE_BYTES, Document, detect_language
from .parsing import ParseCancelled, parse, parse_yielding
from .positions import DEFAULT_ENCODING, PositionEncoding, Range, encode
from .rebase import Change

if TYPE_CHECKING:
    from tree_sitter import Tree

log = logging.getLogger(__name__)

#: Parse inline up to this size. Measured full parse speed is ~7 MB/s, so the worst inline
#: parse (an edit that re-lexes everything, e.g. opening a string) stays under ~20 ms. Bytes,
#: not lines, decide it because parse time follows bytes (a 20k-line file is ~600 KB).
INLINE_PARSE_MAX_BYTES = 128 * 1024
#: Longest an incremental re-parse of a large document may hold the event loop before it is
#: abandoned to a worker thread.
INLINE_REPARSE_SECONDS = 0.004
#: Worker parses allowed to chase a document that keeps changing before we settle for the
#: newest consistent (tree matches bytes) but older snapshot.
_MAX_ROUNDS = 4
#: Past this many unparsed edits, replaying them costs more than it saves: parse afresh.
_MAX_PENDING_EDITS = 1000

#: Content changes kept for held snapshots, per document. Past this the oldest are dropped and
#: a snapshot from before them can no longer be rebased (its edit is refused, never misplaced).
MAX_LOGGED_CHANGES = 4096
#: Listings (`bookmark`) whose snapshot stays rebasable, per document: the newest few menus.
MAX_BOOKMARKS = 4

# (start_byte, old_end_byte, new_end_byte, start_point, old_end_point, new_end_point)
_Edit = tuple[int, int, int, tuple[int, int], tuple[int, int], tuple[int, int]]
_generations = itertools.count(1)


class Mark(NamedTuple):
    """One snapshot's place in a document's history: which opening of the uri (`generation`;
    a reopened document starts a new history) and how many changes into it (`seq`)."""

    generation: int
    seq: int

    def token(self) -> str:
        return f"{self.generation}.{self.seq}"

    @classmethod
    def from_token(cls, token: object) -> Mark | None:
        """The mark a `token()` string stood for, or None for anything else."""
        if not isinstance(token, str):
            return None
        generation, _, seq = token.partition(".")
        if not (generation.isdigit() and seq.isdigit()):
            return None
        return cls(int(generation), int(seq))


class History(NamedTuple):
    """The newest snapshot and the changes that lead to it from a held one, oldest first."""

    current: Document
    mark: Mark
    changes: list[Change]


@dataclass(eq=False)
class _State:
    current: Document
    #: our own change counter: client versions are not trusted to be monotonic
    seq: int = 0
    #: newest snapshot whose tree is set (and its seq), plus the edits made since, which
    #: together seed the next incremental parse
    parsed: Document | None = None
    parsed_seq: int = -1
    edits: list[tuple[int, _Edit]] = field(default_factory=list)
    worker: tuple[int, asyncio.Task[Document | None]] | None = None
    closed: bool = False
    generation: int = field(default_factory=lambda: next(_generations))
    #: held snapshots: seq → how many holders; the log keeps every change after the oldest
    holds: dict[int, int] = field(default_factory=dict)
    bookmarks: deque[int] = field(default_factory=deque)
    #: (seq after the change, change); complete for every seq > log_floor
    log: deque[tuple[int, Change]] = field(default_factory=deque)
    log_floor: int = 0

    @property
    def tracking_edits(self) -> bool:
        return self.parsed is not None or self.worker is not None


class ParseCache:
    def __init__(
        self,
        *,
        encoding: PositionEncoding = DEFAULT_ENCODING,
        inline_max_bytes: int = INLINE_PARSE_MAX_BYTES,
        max_parse_bytes: int = MAX_PARSE_BYTES,
    ) -> None:
        self.encoding: PositionEncoding = encoding
        self.inline_max_bytes = inline_max_bytes
        self.max_parse_bytes = max_parse_bytes
        self._docs: dict[str, _State] = {}

    def __contains__(self, uri: str) -> bool:
        return uri in self._docs

    def __len__(self) -> int:
        return len(self._docs)

    def open(
        self,
        uri: str,
        text: str,
        *,
        language_id: str | None = None,
        path: str | None = None,
        version: int = 0,
    ) -> Document:
        """Start tracking a document (replacing any previous state for the uri)."""
        self.close(uri)
        data = encode(text)
        spec = detect_language(data, language_id, path or uri)
        doc = Document(uri, version, spec, data, text=text)
        state = _State(doc)
        self._docs[uri] = state
        if spec is not None and self._parseable(doc):
            if len(data) <= self.inline_max_bytes:
                state.current = state.parsed = doc.with_tree(parse(spec, data))
                state.parsed_seq = 0
            elif _loop_running():
                self._start_worker(state)  # warm the tree while the user reads the file
        return state.current

    def close(self, uri: str) -> None:
        state = self._docs.pop(uri, None)
        if state is not None:
            state.closed = True  # a running worker parse sees this and stops

    def peek(self, uri: str) -> Document | None:
        """The newest snapshot without waiting; its tree may be None while a parse is due.
        For code-action listing, which must never wait on a parse."""
        state = self._docs.get(uri)
        return state.current if state is not None else None

    # -- snapshots held while a model answers ---------------------------------

    def mark_of(self, uri: str, doc: Document | None = None) -> Mark | None:
        """The mark of `doc` (default: the newest snapshot), if it is the newest or the newest
        parsed snapshot of the open document; None otherwise."""
        state = self._docs.get(uri)
        if state is None:
            return None
        if doc is None or doc is state.current:
            return Mark(state.generation, state.seq)
        if doc is state.parsed:
            return Mark(state.generation, state.parsed_seq)
        return None

    def hold(self, uri: str, doc: Document | None = None) -> Mark | None:
        """Keep the changes made after `doc` (default: the newest snapshot) until `release`.
        None when `doc` is not a snapshot of the open document whose changes are all known."""
        mark = self.mark_of(uri, doc)
        state = self._docs.get(uri)
        if mark is None or state is None or mark.seq < state.log_floor:
            return None
        state.holds[mark.seq] = state.holds.get(mark.seq, 0) + 1
        return mark

    def release(self, uri: str, mark: Mark) -> None:
        """Undo one `hold`; changes nobody can rebase over any more are dropped."""
        state = self._docs.get(uri)
        if state is None or state.generation != mark.generation or mark.seq not in state.holds:
            return
        state.holds[mark.seq] -= 1
        if state.holds[mark.seq] == 0:
            del state.holds[mark.seq]
        self._trim(state)

    def bookmark(self, uri: str) -> Mark | None:
        """`hold` the newest snapshot for a code-action listing the user may resolve later;
        only the newest MAX_BOOKMARKS distinct snapshots stay held."""
        state = self._docs.get(uri)
        if state is None:
            return None
        mark = Mark(state.generation, state.seq)
        if state.bookmarks and state.bookmarks[-1] == mark.seq:
            return mark
        self.hold(uri)
        state.bookmarks.append(mark.seq)
        if len(state.bookmarks) > MAX_BOOKMARKS:
            self.release(uri, Mark(state.generation, state.bookmarks.popleft()))
        return mark

    def changes_since(self, uri: str, mark: Mark) -> History | None:
        """The newest snapshot and the changes since `mark`; None when the document was closed
        or reopened since, or the changes are no longer all known."""
        state = self._docs.get(uri)
        if state is None or state.generation != mark.generation or mark.seq > state.seq:
            return None
        if mark.seq == state.seq:
            return History(state.current, mark, [])
        if mark.seq < state.log_floor:
            return None
        changes = [change for seq, change in state.log if seq > mark.seq]
        return History(state.current, Mark(state.generation, state.seq), changes)

    def _trim(self, state: _State) -> None:
        if not state.holds:
            state.log.clear()
            state.log_floor = state.seq
            return
        oldest = min(state.holds)
        while state.log and state.log[0][0] <= oldest:
            state.log_floor = state.log.popleft()[0]

    def apply_change(
        self,
        uri: str,
        range: Range | None,
        new_text: str,
        version: int,
        *,
        encoding: PositionEncoding | None = None,
    ) -> Document | None:
        """Apply one `contentChanges` entry (range None = the whole text). Returns the new
        snapshot, or None for a document that is not open."""
        state = self._docs.get(uri)
        if state is None:
            return None
        doc = state.current
        old_data = doc.data
        if range is None:
            new_data = encode(new_text)
            # Full-text sync still gets an incremental parse: only the differing middle changed.
            prefix, suffix = _common_affixes(old_data, new_data)
            start, old_end = prefix, len(old_data) - suffix
            inserted = new_data[prefix : len(new_data) - suffix]
        else:
            start, old_end = doc.line_index.range_to_offsets(range, encoding or self.encoding)
            inserted = encode(new_text)
            new_data = old_data[:start] + inserted + old_data[old_end:]
        track = state.tracking_edits
        old_index = doc.line_index if track or doc.has_line_index else None
        new_index = old_index.edited(start, old_end, inserted, new_data) if old_index else None
        new_doc = Document(uri, version, doc.language, new_data, line_index=new_index)
        state.seq += 1
        state.current = new_doc
        if state.holds:  # someone may rebase an edit over this change
            state.log.append((state.seq, Change(start, old_end, len(inserted))))
            if len(state.log) > MAX_LOGGED_CHANGES:
                state.log_floor = state.log.popleft()[0]
                while state.bookmarks and state.bookmarks[0] < state.log_floor:
                    self.release(uri, Mark(state.generation, state.bookmarks.popleft()))
        else:
            state.log_floor = state.seq
        if not self._parseable(new_doc):
            state.parsed, state.parsed_seq, state.edits = None, -1, []
            return new_doc
        if track and old_index is not None and new_index is not None:
            new_end = start + len(inserted)
            edit = (
                start,
                old_end,
                new_end,
                old_index.point_at(start),
                old_index.point_at(old_end),
                new_index.point_at(new_end),
            )
            state.edits.append((state.seq, edit))
            if len(state.edits) > _MAX_PENDING_EDITS:
                state.parsed, state.parsed_seq, state.edits = None, -1, []
        if len(new_data) <= self.inline_max_bytes:
            assert new_doc.language is not None
            tree = parse(new_doc.language, new_data, self._seed(state))
            state.current = state.parsed = new_doc.with_tree(tree)
            state.parsed_seq, state.edits = state.seq, []
        return state.current

    async def get_document(self, uri: str) -> Document | None:
        """The newest snapshot with its tree parsed (None if the uri is not open).

        Large documents parse in a worker thread; concurrent callers share that parse. If the
        document keeps changing meanwhile we re-parse (incrementally) up to a few rounds and
        then return the newest snapshot whose tree matches its bytes."""
        for _ in range(_MAX_ROUNDS):
            state = self._docs.get(uri)
            if state is None:
                return None
            doc = state.current
            if doc.tree is not None or not self._parseable(doc):
                return doc
            if self._reparse_inline(state):
                return state.current
            worker = state.worker
            if worker is not None and (worker[0] == state.seq or not worker[1].done()):
                # Same version: share it. Older one still running: let it land first, its
                # tree makes the next (incremental) parse short.
                task = worker[1]
            else:
                task = self._start_worker(state)
            # Shielded: one caller giving up must not cancel the parse others are waiting for.
            await asyncio.shield(task)
        state = self._docs.get(uri)
        if state is None:
            return None
        return state.parsed or state.current

    async def get_tree(self, uri: str) -> Tree | None:
        doc = await self.get_document(uri)
        return doc.tree if doc is not None else None

    def _parseable(self, doc: Document) -> bool:
        return doc.language is not None and len(doc.data) <= self.max_parse_bytes

    def _seed(self, state: _State) -> Tree | None:
        """The last tree, edited forward to the current bytes. A private copy: trees held by
        older snapshots, or read by a worker thread, are never mutated."""
        if state.parsed is None or state.parsed.tree is None:
            return None
        tree = state.parsed.tree.copy()
        for seq, edit in state.edits:
            if seq > state.parsed_seq:
                tree.edit(*edit)
        return tree

    def _reparse_inline(self, state: _State) -> bool:
        """Try an incremental re-parse on the loop within INLINE_REPARSE_SECONDS."""
        worker = state.worker
        if state.parsed is None or (worker is not None and not worker[1].done()):
            return False
        doc = state.current
        assert doc.language is not None
        deadline = time.perf_counter() + INLINE_REPARSE_SECONDS
        try:
            tree = parse_yielding(
                doc.language, doc.data, self._seed(state), lambda: time.perf_counter() > deadline
            )
        except ParseCancelled:
            return False
        state.current = state.parsed = doc.with_tree(tree)
        state.parsed_seq, state.edits = state.seq, []
        return True

    def _start_worker(self, state: _State) -> asyncio.Task[Document | None]:
        task = asyncio.get_running_loop().create_task(
            self._parse_in_worker(state, state.current, state.seq, self._seed(state))
        )
        state.worker = (state.seq, task)
        return task

    async def _parse_in_worker(
        self, state: _State, doc: Document, seq: int, seed: Tree | None
    ) -> Document | None:
        assert doc.language is not None
        try:
            tree = await asyncio.to_thread(
                parse_yielding, doc.language, doc.data, seed, lambda: state.closed
            )
        except ParseCancelled:
            return None
        except Exception:  # a grammar bug must not take the server down
            log.exception("parsing %s failed", doc.uri)
            return None
        parsed = doc.with_tree(tree)
        if seq > state.parsed_seq:
            state.parsed, state.parsed_seq = parsed, seq
            state.edits = [e for e in state.edits if e[0] > seq]
        if state.seq == seq:
            state.current = parsed  # one reference swap: readers see old or new, never half
        return parsed


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _common_affixes(a: bytes, b: bytes) -> tuple[int, int]:
    """Lengths of the longest common prefix and (non-overlapping) suffix of a and b."""
    limit = min(len(a), len(b))
    lo, hi = 0, limit  # binary search on slice equality: memcmp speed, no Python loop per byte
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    prefix = lo
    lo, hi = 0, limit - prefix
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return prefix, lo


__all__ = ["INLINE_PARSE_MAX_BYTES", "MAX_LOGGED_CHANGES", "History", "Mark", "ParseCache"]
