"""Every provider answer is checked here before anything above the providers uses it.

Adapters already reject what their wire format cannot mean; this is the shared last line that
holds for all of them (and for any adapter added later, since ``Provider.generate`` always goes
through it): text is a ``str`` of valid Unicode, the answer stays under ``max_answer_chars``
(a model that streams forever is cut off, not buffered), and the completion's usage numbers are
counts a bill can be computed from. A violation is a ``ProviderError``, never a ``TypeError``
deep in the gateway, so retry and fallback treat it like any other bad answer.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator

from magray_lsp.errors import AnswerTooLong, MalformedResponse
from magray_lsp.providers.events import Completion, StreamEvent, TextDelta, Usage

#: No request has ever used this many tokens (the largest windows are ~2M); more is garbage.
MAX_PLAUSIBLE_TOKENS = 100_000_000
_SURROGATE = re.compile("[\ud800-\udfff]")


class StreamCheck:
    """The checks of `checked_stream`, one event at a time: for a consumer that drives the
    adapter's generator itself (the gateway), which saves a generator layer per chunk."""

    __slots__ = ("max_chars", "provider", "received")

    def __init__(self, *, provider: str, max_chars: int) -> None:
        self.provider = provider
        self.max_chars = max_chars
        self.received = 0

    def __call__(self, event: object) -> StreamEvent:
        """``event`` validated (its text made valid Unicode), or the ``ProviderError`` it is."""
        if isinstance(event, TextDelta):
            text = checked_text(event.text, provider=self.provider)
            self.received += len(text)
            if self.received > self.max_chars:
                raise AnswerTooLong(
                    f"the answer passed limits.max_answer_chars ({self.max_chars}) and was cut off",
                    provider=self.provider,
                )
            return event if text is event.text else TextDelta(text)
        if isinstance(event, Completion):
            return checked_completion(event, provider=self.provider)
        raise MalformedResponse(
            f"unexpected stream event {type(event).__name__}", provider=self.provider
        )


async def checked_stream(
    events: AsyncGenerator[StreamEvent, None], *, provider: str, max_chars: int
) -> AsyncGenerator[StreamEvent, None]:
    """Pass ``events`` through, validated; closes ``events`` however this generator ends."""
    check = StreamCheck(provider=provider, max_chars=max_chars)
    try:
        async for event in events:
            checked = check(event)
            yield checked
            if isinstance(checked, Completion):
                return
    finally:
        await events.aclose()  # a cut or cancelled answer closes the connection now, not at GC


def checked_text(text: object, *, provider: str) -> str:
    if not isinstance(text, str):
        raise MalformedResponse(
            f"answer text is {type(text).__name__}, not a string", provider=provider
        )
    if text.isascii():
        return text
    # Lone surrogates (a "\ud800" escape in the provider's JSON) are not Unicode: replaced, so no
    # later encode (cache, ledger, editor) fails on them.
    return _SURROGATE.sub("\ufffd", text)


def checked_completion(done: Completion, *, provider: str) -> Completion:
    if done.finish_reason is not None and not isinstance(done.finish_reason, str):
        raise MalformedResponse("finish reason is not a string", provider=provider)
    if not isinstance(done.model, str):
        raise MalformedResponse("reported model is not a string", provider=provider)
    if done.usage is not None:
        check_usage(done.usage, provider=provider)
    return done


def check_usage(usage: Usage, *, provider: str) -> None:
    """Token counts must be plausible non-negative integers, the cached part within the input."""
    if not isinstance(usage, Usage):
        raise MalformedResponse("usage is not a Usage", provider=provider)
    for name in ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens"):
        value = getattr(usage, name)
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not 0 <= value <= MAX_PLAUSIBLE_TOKENS
        ):
            raise MalformedResponse(
                f"usage {name}={value!r} is not a plausible token count", provider=provider
            )
    if usage.cached_input_tokens + usage.cache_write_tokens > usage.input_tokens:
        raise MalformedResponse(
            f"usage reports {usage.cached_input_tokens} cached and {usage.cache_write_tokens} "
            f"cache-written of {usage.input_tokens} input tokens",
            provider=provider,
        )
