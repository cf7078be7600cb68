"""The one small interface every provider implements.

A provider turns a ``ChatRequest`` into a stream of ``TextDelta`` events followed by exactly one
``Completion`` carrying usage and finish reason. Non-streaming calls are the same generator asked
for ``stream=False``: it yields the whole text as one delta, then the completion.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from magray_lsp.providers.events import Completion, StreamEvent, TextDelta, Usage
from magray_lsp.providers.guard import StreamCheck, checked_stream

__all__ = [
    "Answer",
    "ChatRequest",
    "Completion",
    "Message",
    "ModelInfo",
    "Provider",
    "Role",
    "StreamEvent",
    "TextDelta",
    "Usage",
    "generous_token_count",
]

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str
    #: how many leading characters of ``content`` repeat across requests (the code context, which
    #: follows the shared system prompt): a provider with explicit prompt caching marks where they
    #: end; 0 when nothing in this message is worth caching
    cache_prefix: int = 0

    def split(self) -> tuple[str, str]:
        """``content`` as (the stable prefix, the rest); the prefix is "" when there is none."""
        cut = min(max(self.cache_prefix, 0), len(self.content))
        return self.content[:cut], self.content[cut:]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A provider-independent chat request. ``model`` is the provider's own model id."""

    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    #: groups requests that share a long prefix (one workspace file), for providers that route
    #: by it (OpenAI ``prompt_cache_key``); an opaque hash, never a path
    prompt_cache_key: str | None = None
    # Extra provider-specific body fields from `[llm.<name>.defaults]` (passed through verbatim).
    extra: Mapping[str, Any] = field(default_factory=dict)


def generous_token_count(text: str) -> int:
    """A token count that errs high (UTF-8 bytes / 3): real tokenizers give code and prose 3.5-4.5
    bytes per token. For prompt-cache minimums: marking a prefix that turns out too short costs
    nothing, while leaving a long enough one unmarked loses its discount."""
    return -(-len(text.encode("utf-8", "surrogatepass")) // 3)


@dataclass(frozen=True, slots=True)
class Answer:
    """A fully collected response."""

    text: str
    usage: Usage | None
    finish_reason: str | None
    model: str


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    context_window: int | None = None


class Provider(abc.ABC):
    """One configured provider section (``[llm.<name>]``)."""

    #: wire protocol name: openai, anthropic, google, ollama, huggingface, local
    kind: str = ""
    #: `[limits] max_answer_chars` (set by `create_provider` from the configuration)
    max_answer_chars: int = 400_000  # == LimitsConfig().max_answer_chars

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    @abc.abstractmethod
    def is_local(self) -> bool:
        """True when requests never leave this machine (loopback, unix socket or in-process)."""

    def generate(
        self, request: ChatRequest, *, stream: bool = True
    ) -> AsyncGenerator[StreamEvent, None]:
        """Run one chat request: zero or more ``TextDelta`` then one ``Completion``.

        Raises a ``ProviderError`` subclass on failure. Closing the generator early (or cancelling
        the task consuming it) closes the underlying connection. Every event is validated on the
        way out (``providers/guard.py``), whatever the adapter.
        """
        return checked_stream(
            self._generate(request, stream=stream),
            provider=self.name,
            max_chars=self.max_answer_chars,
        )

    def unguarded(
        self, request: ChatRequest, *, stream: bool = True
    ) -> tuple[AsyncGenerator[StreamEvent, None], StreamCheck]:
        """``generate`` taken apart, for a caller that drives the stream itself (the gateway, one
        generator layer less per chunk): the adapter's events and the guard that the caller
        must apply to every one of them before use, and ``aclose()`` the events however it
        ends."""
        check = StreamCheck(provider=self.name, max_chars=self.max_answer_chars)
        return self._generate(request, stream=stream), check

    @abc.abstractmethod
    def _generate(self, request: ChatRequest, *, stream: bool) -> AsyncGenerator[StreamEvent, None]:
        """The adapter's own wire call; `generate` is what callers use."""

    async def complete(self, request: ChatRequest) -> Answer:
        """Non-streaming convenience: one wire call without streaming, collected."""
        parts: list[str] = []
        gen = self.generate(request, stream=False)
        async for event in gen:
            if isinstance(event, TextDelta):
                parts.append(event.text)
            else:
                return Answer("".join(parts), event.usage, event.finish_reason, event.model)
        from magray_lsp.errors import MalformedResponse

        raise MalformedResponse("response ended without completion", provider=self.name)

    async def list_models(self) -> list[ModelInfo]:
        """Models this provider can serve right now (used by `doctor` and availability checks)."""
        return []

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most adapters need it
        """Release connections and threads."""
