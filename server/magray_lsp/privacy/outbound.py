"""What one provider call may send, and how its answer comes back.

The gateway calls ``prepare_outbound`` where it is about to call a provider: the request is
checked for unsafe content (every provider), then, for a model that is not local, every message
is redacted. Redaction fails closed — any error becomes ``RedactionFailed`` and the request is
not sent. The returned ``Outbound`` restores placeholders in the answer as it streams back.

``seal_answer`` / ``unseal_answer`` keep the user's secrets out of the response cache: a cached
answer holds placeholders for every value the request's own prompt had redacted, and gets them
back from the current request's prompt on a hit — only from it. The cache key does not pin the
prompt exactly (comments and whitespace elsewhere may differ, which renumbers placeholders), so
each sealed placeholder carries a digest of the prompt lines it stood in (``<EMAIL_1#…>``; the
lines as sent to a remote model, so the digest holds no secret): it is restored only where the
current prompt uses it on the same lines. A placeholder the current request cannot restore makes
the answer unusable (``Unsealed.missing``) — it is never returned as literal ``<EMAIL_2>``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import NamedTuple

from magray_lsp.config.models import MagrayConfig
from magray_lsp.errors import MagrayError
from magray_lsp.privacy.redact import PLACEHOLDER, Redaction, RedactionFailed, StreamRestorer
from magray_lsp.privacy.safety import check_request
from magray_lsp.providers.base import ChatRequest, Message
from magray_lsp.task import Task


@dataclass
class Outbound:
    """The request as it goes on the wire, and the answer's way back."""

    request: ChatRequest
    redaction: Redaction | None = None
    _restorer: StreamRestorer | None = None

    @property
    def redacted(self) -> int:
        """How many distinct values were hidden from the provider."""
        return self.redaction.count if self.redaction is not None else 0

    def restore(self, chunk: str) -> str:
        """The chunk with placeholders restored (a placeholder's start may be held back)."""
        return self._restorer.feed(chunk) if self._restorer is not None else chunk

    def flush(self) -> str:
        """Whatever ``restore`` held back, at the end of the answer."""
        return self._restorer.flush() if self._restorer is not None else ""


def prepare_outbound(request: ChatRequest, *, local: bool, config: MagrayConfig) -> Outbound:
    """Safety check, then redaction for a non-local model. Raises instead of sending when the
    content is unsafe (``UnsafeContent``) or redaction fails (``RedactionFailed``)."""
    safety = config.safety
    if safety.enabled:
        check_request(
            [m.content for m in request.messages],
            checker=safety.checker,
            threshold=safety.threshold,
        )
    if local or not config.privacy.redact:
        return Outbound(request)
    try:
        redaction, texts = _redacted(tuple(m.content for m in request.messages))
        if not redaction.count:
            return Outbound(request)
        messages = tuple(Message(m.role, t) for m, t in zip(request.messages, texts, strict=True))
    except MagrayError:
        raise
    except Exception as exc:  # fail closed: nothing unredacted may go out
        raise RedactionFailed(
            f"redaction failed ({type(exc).__name__}); the request was not sent"
        ) from None
    return Outbound(replace(request, messages=messages), redaction, redaction.streamer())


@lru_cache(maxsize=64)
def _redacted(texts: tuple[str, ...]) -> tuple[Redaction, tuple[str, ...]]:
    """Redact the texts of one request. Memoized: the request, the cache write after it and a
    later cache hit redact the same prompt, and detection costs about 1 µs per character. (The
    values stay in this process's memory, where the prompt is anyway.)"""
    redaction = Redaction()
    return redaction, tuple(redaction.redact_all(list(texts)))


def _prompt_redaction(task: Task) -> tuple[Redaction, tuple[str, ...]]:
    """The placeholders a remote request for ``task`` uses (same texts, same order), and the
    texts as that request sends them."""
    return _redacted((task.system, task.prompt))


#: a placeholder as the cache stores it: the placeholder and the digest of its prompt lines
_SEALED = re.compile(r"<([A-Z]+(?:_[A-Z]+)*_\d+)#([0-9a-f]{12})>")


def _lines_digest(redacted: tuple[str, ...], placeholder: str) -> str:
    """What ``placeholder`` stands for in this prompt: the lines that hold it, whitespace
    collapsed (a reformat elsewhere, or a value changed on those lines, keeps it)."""
    digest = hashlib.sha256()
    for text in redacted:
        start = text.find(placeholder)
        while start != -1:
            line_start = text.rfind("\n", 0, start) + 1
            line_end = text.find("\n", start)
            line_end = len(text) if line_end == -1 else line_end
            digest.update(" ".join(text[line_start:line_end].split()).encode() + b"\n")
            start = text.find(placeholder, line_end)
    return digest.hexdigest()[:12]


class Unsealed(NamedTuple):
    """A cached answer for the current request. ``text`` is usable only when ``missing`` (the
    placeholders this request has no value for) is empty."""

    text: str
    missing: tuple[str, ...]


def seal_answer(task: Task, text: str) -> str:
    """``text`` with every value the task's prompt redacts replaced by its placeholder, each
    marked with the prompt lines it stands in (see the module docstring)."""
    redaction, redacted = _prompt_redaction(task)
    if not redaction.count:
        return text
    sealed = redaction.seal(text)
    known = redaction.by_placeholder

    def mark(match: re.Match[str]) -> str:
        placeholder = match.group(0)
        if placeholder not in known:
            return placeholder  # not ours: unseal decides whether the user wrote it
        return f"{placeholder[:-1]}#{_lines_digest(redacted, placeholder)}>"

    return PLACEHOLDER.sub(mark, sealed)


def unseal_answer(task: Task, text: str) -> Unsealed:
    """The cached ``text`` with the placeholders restored from the task's own prompt, and those
    it cannot restore: a sealed one the prompt does not use on the same lines, or a bare one
    (a model's invention) that is not in the prompt's own text."""
    if "<" not in text or (_SEALED.search(text) is None and PLACEHOLDER.search(text) is None):
        return Unsealed(text, ())
    redaction, redacted = _prompt_redaction(task)
    missing: dict[str, None] = {}

    def restore(match: re.Match[str]) -> str:
        placeholder = f"<{match.group(1)}>"
        value = redaction.by_placeholder.get(placeholder)
        if value is None or _lines_digest(redacted, placeholder) != match.group(2):
            missing[placeholder] = None
            return match.group(0)
        return value

    restored = _SEALED.sub(restore, text)
    missing.update(dict.fromkeys(redaction.unresolved(restored)))
    return Unsealed(restored, tuple(missing))


def unresolved_placeholders(task: Task, text: str) -> list[str]:
    """Placeholders in a fresh (already restored) answer that the task's prompt did not produce
    and does not contain: left as literal text, they must not reach code or the cache."""
    if PLACEHOLDER.search(text) is None:
        return []
    return _prompt_redaction(task)[0].unresolved(text)
