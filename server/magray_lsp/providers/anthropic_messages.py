"""Anthropic's request messages: the system prompt in its own field, same-role turns merged,
and the `cache_control` mark that ends the stable prefix once it is long enough to be cached."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from magray_lsp.providers.base import Message, generous_token_count

#: The shortest prefix each model family caches, in tokens (Anthropic's prompt-caching docs,
#: "cache limitations"); a marked prefix below it is processed uncached, without an error.
_CACHE_MIN_TOKENS: tuple[tuple[str, int], ...] = (
    ("claude-3-haiku", 2048),
    ("claude-3-5-haiku", 2048),
    ("claude-haiku-4-5", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-opus-4-6", 4096),
    ("claude-sonnet-4-6", 2048),
)
#: Sonnet 3.5/3.7/4/4.5, Opus 3/4/4.1 and anything newer we do not know yet
DEFAULT_CACHE_MIN_TOKENS = 1024
EPHEMERAL = {"type": "ephemeral"}


def cache_min_tokens(model: str) -> int:
    """The shortest prompt prefix ``model`` caches."""
    return next(
        (n for family, n in _CACHE_MIN_TOKENS if model.startswith(family)),
        DEFAULT_CACHE_MIN_TOKENS,
    )


def cache_mark(model: str, messages: Sequence[Message]) -> int | None:
    """Index of the turn message whose stable prefix ends the cached part, or None when no
    prefix is long enough to be cached (the system prompt counts: it precedes every message)."""
    index = next(
        (
            i
            for i in range(len(messages) - 1, -1, -1)
            if messages[i].role != "system" and messages[i].cache_prefix > 0
        ),
        None,
    )
    if index is None:
        return None
    system = [m.content for m in messages if m.role == "system"]
    before = [m.content for m in messages[:index] if m.role != "system"]
    prefix = messages[index].split()[0]
    size = generous_token_count("\n\n".join([*system, *before, prefix]))
    return index if prefix and size >= cache_min_tokens(model) else None


def split_messages(
    messages: Sequence[Message], *, mark: int | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """System text for the top-level field; user/assistant turns with same-role runs merged.

    The turn holding message ``mark`` becomes two text blocks, the first ending with that
    message's stable prefix and carrying ``cache_control``; every other turn is one string.
    """
    system = "\n\n".join(m.content for m in messages if m.role == "system" and m.content)
    turns: list[dict[str, Any]] = []
    pieces: list[list[str]] = []  # per turn: its text, cut in two where the cached part ends
    for i, m in enumerate(messages):
        if m.role == "system":
            continue
        if turns and turns[-1]["role"] == m.role:
            pieces[-1][-1] += "\n\n"
        else:
            turns.append({"role": m.role})
            pieces.append([""])
        if i == mark:
            prefix, rest = m.split()
            pieces[-1][-1] += prefix
            pieces[-1].append(rest)
        else:
            pieces[-1][-1] += m.content
    for turn, parts in zip(turns, pieces, strict=True):
        if len(parts) == 1:
            turn["content"] = parts[0]
            continue
        cached, rest = parts
        blocks: list[dict[str, Any]] = [
            {"type": "text", "text": cached, "cache_control": dict(EPHEMERAL)}
        ]
        if rest:  # the API refuses empty text blocks
            blocks.append({"type": "text", "text": rest})
        turn["content"] = blocks
    return system, turns
