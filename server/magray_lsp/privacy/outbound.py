"""What one provider call may send, and how its answer comes back.

The gateway calls ``prepare_outbound`` where it is about to call a provider: the request is
checked for unsafe content (every provider), then, for a model that is not local, every message
is redacted. Redaction fails closed — any error becomes ``RedactionFailed`` and the request is
not sent. The returned ``Outbound`` restores placeholders in the answer as it streams back.

``seal_answer`` / ``unseal_answer`` keep the user's secrets out of the response cache: a cached
answer holds placeholders for every value the request's own prompt had redacted, and gets them
back from the prompt (which the cache key pins) on a hit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

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
        messages = tuple(Message(m.role, t) for m, t in zip(request.messages, texts, strict=True))
    except MagrayError:
        raise
    except Exception as exc:  # fail closed: nothing unredacted may go out
        raise RedactionFailed(
            f"redaction failed ({type(exc).__name__}); the request was not sent"
        ) from None
    if not redaction.count:
        return Outbound(request)
    return Outbound(replace(request, messages=messages), redaction, redaction.streamer())


@lru_cache(maxsize=64)
def _redacted(texts: tuple[str, ...]) -> tuple[Redaction, tuple[str, ...]]:
    """Redact the texts of one request. Memoized: the request, the cache write after it and a
    later cache hit redact the same prompt, and detection costs about 1 µs per character. (The
    values stay in this process's memory, where the prompt is anyway.)"""
    redaction = Redaction()
    return redaction, tuple(redaction.redact_all(list(texts)))


def _prompt_redaction(task: Task) -> Redaction:
    """The placeholders a remote request for ``task`` uses (same texts, same order)."""
    return _redacted((task.system, task.prompt))[0]


def seal_answer(task: Task, text: str) -> str:
    """``text`` with every value the task's prompt redacts replaced by its placeholder."""
    redaction = _prompt_redaction(task)
    return redaction.seal(text) if redaction.count else text


def unseal_answer(task: Task, text: str) -> str:
    """The cached ``text`` with the placeholders of the task's prompt restored."""
    if PLACEHOLDER.search(text) is None:
        return text
    return _prompt_redaction(task).restore(text)
