"""OpenAI Chat Completions, and every server that speaks it (vLLM, LM Studio, llama.cpp, OpenRouter,
LiteLLM, ...): ``POST {base_url}/chat/completions`` and ``GET {base_url}/models``.

Streaming asks for ``stream_options.include_usage`` so usage arrives in the last chunk before
``data: [DONE]``. A request with a stable prefix carries ``prompt_cache_key`` (a hash naming the
workspace file), which routes requests sharing that prefix to the same cache; the prompt caching
itself is automatic upstream, and usage reports the cached part in
``prompt_tokens_details.cached_tokens``. A compatible server that rejects either optional field
is asked again without it (and never sent it again by this provider).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any

from magray_lsp.config.models import BUILTIN_BASE_URL, ProviderConfig
from magray_lsp.errors import (
    ContentFiltered,
    ContextTooLong,
    MalformedResponse,
    ProviderError,
    ServerError,
    Unavailable,
)
from magray_lsp.providers._http import (
    HttpClient,
    Response,
    error_for_status,
    error_message,
    is_loopback_url,
    iter_sse,
    parse_event,
    parse_json,
)
from magray_lsp.providers.base import (
    ChatRequest,
    Completion,
    ModelInfo,
    Provider,
    StreamEvent,
    TextDelta,
    Usage,
)

# Reasoning models reject `max_tokens` and want `max_completion_tokens`.
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")
_CHAT_PATH = "/chat/completions"


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What an error body says: the message (key redacted) and the machine-readable fields."""

    message: str
    code: str | None = None
    type: str | None = None


@dataclass(slots=True)
class _StreamState:
    model: str
    finish_reason: str | None = None
    usage: Usage | None = None
    text_seen: bool = False
    refusal: list[str] = field(default_factory=list)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_usage(raw: Any) -> Usage | None:
    """``usage`` of a completion or of the last stream chunk; None when the server sent none."""
    if not isinstance(raw, dict):
        return None
    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return Usage(
        input_tokens=_int(raw.get("prompt_tokens")),
        output_tokens=_int(raw.get("completion_tokens")),
        cached_input_tokens=_int(cached),
    )


def _text(content: Any, *, provider: str) -> str:
    """Message content: a string, null, or (some compatible servers) a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    raise MalformedResponse(f"unexpected content type {type(content).__name__}", provider=provider)


class OpenAIProvider(Provider):
    """``[llm.openai]`` or any section with ``kind = "openai"``."""

    kind = "openai"
    default_base_url = BUILTIN_BASE_URL["openai"]

    def __init__(self, name: str, cfg: ProviderConfig) -> None:
        super().__init__(name)
        self.cfg = cfg
        self.base_url = (cfg.base_url or self.default_base_url).rstrip("/")
        self._client: HttpClient | None = None
        # the section's `defaults` as body fields, once: every request starts from a copy
        self._defaults: dict[str, Any] = cfg.defaults.model_dump(exclude_none=True)
        self._stream_options = True  # cleared when the server rejects `stream_options`
        self._prompt_cache_key = True  # cleared when the server rejects `prompt_cache_key`

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self.base_url!r})"

    @property
    def is_local(self) -> bool:
        return is_loopback_url(self.base_url) and not self.cfg.remote

    # -- plumbing -------------------------------------------------------------

    def _api_key(self) -> str:
        return self.cfg.api_key.get_secret_value() if self.cfg.api_key is not None else ""

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        key = self._api_key()
        if key:  # local compatible servers usually need none
            headers["Authorization"] = f"Bearer {key}"
        if self.cfg.organization:
            headers["OpenAI-Organization"] = self.cfg.organization
        headers.update(self.cfg.headers)
        return headers

    def _http(self) -> HttpClient:
        if self._client is None:
            self._client = HttpClient(
                base_url=self.base_url,
                timeout_seconds=self.cfg.timeout_seconds,
                headers=self._headers(),
                max_concurrency=self.cfg.max_concurrency,
                provider=self.name,
                remote=self.cfg.remote,
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _body(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        body = dict(self._defaults)
        body.update(request.extra)
        params = {
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
        }
        body.update({k: v for k, v in params.items() if v is not None})
        if request.stop:
            body["stop"] = list(request.stop)
        if _REASONING_MODEL.match(request.model) and "max_tokens" in body:
            body["max_completion_tokens"] = body.pop("max_tokens")
        body["model"] = request.model
        body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        if request.prompt_cache_key and self._prompt_cache_key:
            body.setdefault("prompt_cache_key", request.prompt_cache_key)
        body["stream"] = stream
        if stream and self._stream_options:
            body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        else:
            body.pop("stream_options", None)
        return body

    # -- errors ---------------------------------------------------------------

    def _redact(self, text: str) -> str:
        key = self._api_key()
        return text.replace(key, "[redacted]") if key else text

    def _error_info(self, body: bytes) -> ErrorInfo:
        code = type_ = None
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        err = data.get("error", data) if isinstance(data, dict) else None
        if isinstance(err, dict):
            code = err.get("code") if isinstance(err.get("code"), str) else None
            type_ = err.get("type") if isinstance(err.get("type"), str) else None
        if isinstance(data, dict) and isinstance(data.get("error_type"), str):
            type_ = data["error_type"]  # TGI: {"error": "...", "error_type": "validation"}
        return ErrorInfo(self._redact(error_message(body)), code, type_)

    def _classify(
        self, status: int | None, info: ErrorInfo, headers: Mapping[str, str]
    ) -> ProviderError:
        """Map an error to the taxonomy; ``status`` is None for an error sent inside a stream."""
        if info.code == "context_length_exceeded":
            return ContextTooLong(info.message, provider=self.name, status=status)
        if info.code == "content_filter":  # Azure OpenAI's prompt filter
            return ContentFiltered(info.message, provider=self.name, status=status)
        if info.code == "insufficient_quota" or info.type == "insufficient_quota":
            # a 429 that no amount of waiting fixes: the account is out of credit
            return Unavailable(info.message, provider=self.name, status=status)
        if status is None:
            return ServerError(info.message, provider=self.name)
        return error_for_status(status, info.message, provider=self.name, headers=headers)

    def _error(
        self, status: int | None, body: bytes, headers: Mapping[str, str] | None = None
    ) -> ProviderError:
        return self._classify(status, self._error_info(body), headers or {})

    async def _response_error(self, response: Response) -> tuple[ProviderError, bytes]:
        body = await response.aread()
        headers = {k.lower(): v for k, v in response.headers.items()}
        return self._error(response.status_code, body, headers), body

    def _drop_rejected_option(self, status: int, body: bytes) -> bool:
        """True when the error rejects an optional field we sent; it is not sent again."""
        if status not in (400, 422):
            return False
        if self._stream_options and b"stream_options" in body:
            self._stream_options = False
            return True
        if self._prompt_cache_key and b"prompt_cache_key" in body:
            self._prompt_cache_key = False
            return True
        return False

    # -- generation -----------------------------------------------------------

    async def _generate(
        self, request: ChatRequest, *, stream: bool = True
    ) -> AsyncGenerator[StreamEvent, None]:
        client = self._http()
        # one more attempt for each optional field a compatible server may reject
        for _attempt in range(3):
            body = self._body(request, stream=stream)
            if not stream:
                reply = await client.post(_CHAT_PATH, body)
                if reply.status_code >= 400:
                    error, raw = await self._response_error(reply)
                    if self._drop_rejected_option(reply.status_code, raw):
                        continue
                    raise error
                text, completion = self._parse_completion(reply.content, request.model)
                if text:
                    yield TextDelta(text)
                yield completion
                return
            async with client.stream("POST", _CHAT_PATH, json=body) as response:
                if response.status_code >= 400:
                    error, raw = await self._response_error(response)
                    if self._drop_rejected_option(response.status_code, raw):
                        continue
                    raise error
                state = _StreamState(model=request.model)
                feed = self._feed
                async for _event, data in iter_sse(response):
                    if data == "[DONE]" or (data[:1] != "{" and data.strip() == "[DONE]"):
                        response.finished = True  # the body's end is not waited for
                        continue  # `iter_sse` ends here
                    piece = feed(state, data)
                    if piece:
                        yield TextDelta(piece)
            # Some compatible servers end a finished stream without [DONE]; a stream that ends
            # with neither was cut (a cut mid-chunk already failed as a transport error).
            if not (response.finished or state.finish_reason):
                raise ServerError("stream ended early", provider=self.name)
            if not state.text_seen and (state.refusal or state.finish_reason == "content_filter"):
                raise ContentFiltered(
                    self._redact("".join(state.refusal)) or "response blocked by content filter",
                    provider=self.name,
                )
            yield Completion(state.usage, state.finish_reason, state.model)
            return

    def _feed(self, state: _StreamState, data: str) -> str:
        """Apply one ``chat.completion.chunk``; returns its text (choice 0 only)."""
        chunk = parse_event(data, provider=self.name)
        if not isinstance(chunk, dict):
            raise MalformedResponse("stream chunk is not an object", provider=self.name)
        if chunk.get("error"):
            raise self._error(None, data.encode())
        model = chunk.get("model")
        if model and isinstance(model, str):
            state.model = model
        usage = chunk.get("usage")
        if usage is not None and (parsed := parse_usage(usage)) is not None:
            state.usage = parsed
        choices = chunk.get("choices")
        if not choices:
            return ""
        if not isinstance(choices, list):
            raise MalformedResponse("stream chunk choices is not a list", provider=self.name)
        text = ""
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                content = delta.get("content")
                if isinstance(content, str):
                    text += content
                elif content is not None:
                    text += _text(content, provider=self.name)
                refusal = delta.get("refusal")
                if isinstance(refusal, str):
                    state.refusal.append(refusal)
            finish = choice.get("finish_reason")
            if finish and isinstance(finish, str):
                state.finish_reason = finish
        if text:
            state.text_seen = True
        return text

    def _parse_completion(self, raw: bytes, model: str) -> tuple[str, Completion]:
        data = parse_json(raw, provider=self.name)
        if not isinstance(data, dict):
            raise MalformedResponse("response is not an object", provider=self.name)
        if data.get("error"):
            raise self._error(None, raw)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise MalformedResponse("response has no choices", provider=self.name)
        message = choices[0].get("message")
        if not isinstance(message, dict):
            raise MalformedResponse("response choice has no message", provider=self.name)
        text = _text(message.get("content"), provider=self.name)
        finish = choices[0].get("finish_reason")
        finish = finish if isinstance(finish, str) else None
        refusal = message.get("refusal")
        if not text and (isinstance(refusal, str) or finish == "content_filter"):
            reason = refusal if isinstance(refusal, str) and refusal else None
            raise ContentFiltered(
                self._redact(reason or "response blocked by content filter"), provider=self.name
            )
        reported = data.get("model")
        return text, Completion(
            usage=parse_usage(data.get("usage")),
            finish_reason=finish,
            model=reported if isinstance(reported, str) and reported else model,
        )

    # -- models ---------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        response = await self._http().get("/models")
        if response.status_code >= 400:
            raise (await self._response_error(response))[0]
        data = parse_json(response.content, provider=self.name)
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise MalformedResponse("model list has no data array", provider=self.name)
        models: list[ModelInfo] = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            model_id: str = item["id"]
            # vLLM reports max_model_len, OpenRouter context_length; config wins over both
            window = self.cfg.context_windows.get(model_id)
            for key in ("max_model_len", "context_length"):
                if window is None and _int(item.get(key)) > 0:
                    window = _int(item.get(key))
            models.append(ModelInfo(model_id, window))
        return models
