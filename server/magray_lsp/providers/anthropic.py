"""Anthropic Messages API (``POST /v1/messages``), streaming and not, over the shared HTTP client.

Protocol notes that shape this adapter:

* System prompts go to the top-level ``system`` field; ``messages`` holds only user/assistant turns.
* ``max_tokens`` is required by the API: request → ``[defaults]`` → 1024.
* Usage: ``input_tokens`` here is the whole prompt (uncached + cache writes + cache reads, as the
  API documents its total); ``cached_input_tokens`` is the cache-read part. Output tokens come from
  the final ``message_delta`` (cumulative).
* A stream can carry ``event: error`` in a 200 response (e.g. ``overloaded_error``) and must end
  with ``message_stop``; anything else is an error, never a truncated success.
* Prompt caching is explicit: the block that ends a request's stable prefix (the shared system
  prompt, then the code context) gets ``cache_control: {"type": "ephemeral"}`` when that prefix
  reaches the model's minimum cacheable length. Usage then reports the part written to the cache
  (``cache_creation_input_tokens``, billed at 1.25× input) and the part read from it
  (``cache_read_input_tokens``, 0.1×).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from pydantic import SecretStr

from magray_lsp.config.models import BUILTIN_BASE_URL, ProviderConfig
from magray_lsp.errors import (
    AuthError,
    BadRequest,
    ContentFiltered,
    MalformedResponse,
    ProviderError,
    ServerError,
)
from magray_lsp.providers._http import (
    HttpClient,
    Response,
    StreamReply,
    error_for_status,
    error_message,
    is_loopback_url,
    iter_sse,
    parse_event,
    parse_json,
)
from magray_lsp.providers.anthropic_messages import cache_mark, split_messages
from magray_lsp.providers.base import (
    ChatRequest,
    Completion,
    ModelInfo,
    Provider,
    StreamEvent,
    TextDelta,
    Usage,
)

DEFAULT_API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
_MESSAGES_PATH = "/v1/messages"
_MODELS_PATH = "/v1/models"
_MAX_MODEL_PAGES = 20

#: HTTP status equivalent of each Anthropic error ``type`` (used for ``event: error`` in streams)
_STATUS_FOR_TYPE: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


#: Anthropic ``stop_reason`` → the provider-independent finish reason the gateway sees
_FINISH_REASONS: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}


class AnthropicProvider(Provider):
    """One ``[llm.<name>]`` section speaking the Anthropic Messages API."""

    kind = "anthropic"

    def __init__(self, name: str, cfg: ProviderConfig) -> None:
        super().__init__(name)
        self._cfg = cfg
        self._base_url = _normalize_base_url(cfg.base_url or BUILTIN_BASE_URL["anthropic"])
        self._api_key: SecretStr | None = cfg.api_key
        self._client: HttpClient | None = None
        defaults = cfg.defaults
        # the section's `defaults` once: the fields passed through, and the three read here
        self._extra_defaults = {
            k: v
            for k, v in defaults.model_dump(exclude_none=True).items()
            if k not in ("max_tokens", "temperature", "top_p")
        }
        self._max_tokens = defaults.max_tokens or DEFAULT_MAX_TOKENS
        self._temperature = defaults.temperature
        self._top_p = defaults.top_p
        # per-request headers, built once: the key travels per request (see `_auth_headers`)
        self._post_headers = self._auth_headers()
        self._stream_headers = {**self._post_headers, "accept": "text/event-stream"}

    def __repr__(self) -> str:
        return f"AnthropicProvider(name={self.name!r}, base_url={self._base_url!r})"

    @property
    def is_local(self) -> bool:
        return is_loopback_url(self._base_url) and not self._cfg.remote

    # -- plumbing -------------------------------------------------------------

    def _http(self) -> HttpClient:
        """The pooled client, created on first use (constructing a provider does no I/O)."""
        if self._client is None:
            headers = {
                "anthropic-version": self._cfg.api_version or DEFAULT_API_VERSION,
                "accept": "application/json",
                **self._cfg.headers,
            }
            self._client = HttpClient(
                base_url=self._base_url,
                timeout_seconds=self._cfg.timeout_seconds,
                headers=headers,
                max_concurrency=self._cfg.max_concurrency,
                provider=self.name,
                remote=self._cfg.remote,
            )
        return self._client

    def _auth_headers(self) -> dict[str, str]:
        """The key travels per request, so it never sits in the client's default headers."""
        if self._api_key is None or not self._api_key.get_secret_value():
            return {}
        return {"x-api-key": self._api_key.get_secret_value()}

    def _scrub(self, exc: ProviderError) -> ProviderError:
        """Remove the API key from an error message, should a server ever echo it."""
        if self._api_key is not None:
            secret = self._api_key.get_secret_value()
            if secret and any(secret in str(a) for a in exc.args):
                exc.args = tuple(str(a).replace(secret, "[redacted]") for a in exc.args)
        return exc

    def _error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        """Map an HTTP error response in Anthropic's ``{"type":"error","error":{...}}`` shape."""
        message = error_message(body)
        error_type = _error_type(body)
        if error_type in ("billing_error", "permission_error"):
            return AuthError(message, provider=self.name, status=status)
        return error_for_status(status, message, provider=self.name, headers=headers)

    def _event_error(self, payload: Any) -> ProviderError:
        """Map an ``event: error`` that arrived inside a 200 event stream."""
        err = payload.get("error") if isinstance(payload, dict) else None
        error_type = err.get("type") if isinstance(err, dict) else None
        message = err.get("message") if isinstance(err, dict) else None
        if not isinstance(message, str) or not message:
            message = str(error_type or "error event in stream")
        status = _STATUS_FOR_TYPE.get(str(error_type), 500)
        if status in (402, 403):
            return AuthError(message, provider=self.name, status=status)
        return error_for_status(status, message, provider=self.name)

    async def _raise_for_status(self, response: Response) -> None:
        if response.status_code < 400:
            return
        body = await response.aread()
        headers = {k.lower(): v for k, v in response.headers.items()}
        raise self._error(response.status_code, body, headers)

    def _body(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        mark = cache_mark(request.model, request.messages)
        system, messages = split_messages(request.messages, mark=mark)
        if not messages:
            raise BadRequest("request has no user or assistant message", provider=self.name)
        body: dict[str, Any] = {**self._extra_defaults, **request.extra}
        body["model"] = request.model
        body["messages"] = messages
        if system:
            body["system"] = system
        body["max_tokens"] = request.max_tokens or self._max_tokens
        temperature = request.temperature if request.temperature is not None else self._temperature
        if temperature is not None:
            # The config allows 0..2 (OpenAI's scale); Anthropic accepts 0..1.
            body["temperature"] = min(max(float(temperature), 0.0), 1.0)
        top_p = request.top_p if request.top_p is not None else self._top_p
        if top_p is not None:
            body["top_p"] = top_p
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        body["stream"] = stream
        return body

    # -- Provider ------------------------------------------------------------------

    async def _generate(
        self, request: ChatRequest, *, stream: bool = True
    ) -> AsyncGenerator[StreamEvent, None]:
        """Server-sent events, each text delta yielded as soon as it arrives (or, not streaming,
        the whole text as one delta); then the completion. Every error leaves without the key."""
        model = request.model
        try:
            body = self._body(request, stream=stream)
            if not stream:
                for done in await self._once(body, model):
                    yield done
                return
            tally = _UsageTally()
            stop_reason: str | None = None
            produced_text = False
            async with self._http().stream(
                "POST", _MESSAGES_PATH, json=body, headers=self._stream_headers
            ) as response:
                await self._raise_for_status(response)
                await self._expect_event_stream(response)
                async for event, data in iter_sse(response):
                    if event == "ping":
                        continue
                    payload = parse_event(data, provider=self.name)
                    if not isinstance(payload, dict):
                        raise MalformedResponse("stream event is not an object", provider=self.name)
                    kind = event or payload.get("type")
                    if kind == "content_block_delta":  # nearly every event
                        delta = payload.get("delta")
                        if not isinstance(delta, dict):
                            raise MalformedResponse(
                                "content_block_delta without delta", provider=self.name
                            )
                        if delta.get("type") == "text_delta":
                            text = delta.get("text")
                            if not isinstance(text, str):
                                raise MalformedResponse(
                                    "text_delta without text", provider=self.name
                                )
                            if text:
                                produced_text = True
                                yield TextDelta(text)
                    elif kind == "error":
                        raise self._event_error(payload)
                    elif kind == "message_start":
                        message = payload.get("message")
                        if not isinstance(message, dict):
                            raise MalformedResponse(
                                "message_start without message", provider=self.name
                            )
                        model = _str_or(message.get("model"), model)
                        tally.update(message.get("usage"), provider=self.name)
                    elif kind == "content_block_start":
                        block = payload.get("content_block")
                        if isinstance(block, dict) and block.get("type") == "text":
                            text = block.get("text")
                            if isinstance(text, str) and text:
                                produced_text = True
                                yield TextDelta(text)
                    elif kind == "message_delta":
                        delta = payload.get("delta")
                        if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                            stop_reason = delta["stop_reason"]
                        tally.update(payload.get("usage"), provider=self.name)
                    elif kind == "message_stop":
                        response.finished = True  # the body's end is not waited for
                    # content_block_stop and event types added in later API versions: nothing
            if not response.finished:
                raise ServerError("stream ended early", provider=self.name)
            if stop_reason == "refusal" and not produced_text:
                raise ContentFiltered("the model refused to answer", provider=self.name)
            yield Completion(
                usage=tally.usage(), finish_reason=_finish_reason(stop_reason), model=model
            )
        except ProviderError as exc:
            raise self._scrub(exc) from None

    async def _expect_event_stream(self, response: StreamReply) -> None:
        """A 200 answer to a streamed request that is not an event stream is an error: the
        error event it carries, or a malformed response."""
        content_type = response.headers.get("content-type", "")
        if "text/event-stream" in content_type:
            return
        raw = await response.aread()
        data = parse_json(raw, provider=self.name)
        if isinstance(data, dict) and data.get("type") == "error":
            raise self._event_error(data)
        raise MalformedResponse(
            f"expected an event stream, got {content_type or 'no content type'}",
            provider=self.name,
        )

    async def _once(self, body: dict[str, Any], model: str) -> list[StreamEvent]:
        """One non-streaming call: the whole text as one delta, then the completion."""
        response = await self._http().post(_MESSAGES_PATH, body, headers=self._post_headers)
        await self._raise_for_status(response)
        data = parse_json(response.content, provider=self.name)
        if not isinstance(data, dict):
            raise MalformedResponse("message is not a JSON object", provider=self.name)
        if data.get("type") == "error":
            raise self._event_error(data)
        content = data.get("content")
        if not isinstance(content, list):
            raise MalformedResponse("message has no content list", provider=self.name)
        parts: list[str] = []
        for block in content:
            if not isinstance(block, dict):
                raise MalformedResponse("content block is not an object", provider=self.name)
            if block.get("type") == "text":
                text = block.get("text")
                if not isinstance(text, str):
                    raise MalformedResponse("text block without text", provider=self.name)
                parts.append(text)
        text = "".join(parts)
        stop_reason = data.get("stop_reason")
        if stop_reason == "refusal" and not text:
            raise ContentFiltered("the model refused to answer", provider=self.name)
        tally = _UsageTally()
        tally.update(data.get("usage"), provider=self.name)
        events: list[StreamEvent] = [TextDelta(text)] if text else []
        events.append(
            Completion(
                usage=tally.usage(),
                finish_reason=_finish_reason(stop_reason),
                model=_str_or(data.get("model"), model),
            )
        )
        return events

    async def list_models(self) -> list[ModelInfo]:
        """Every model the key may call (``GET /v1/models``, all pages; retired ones skipped)."""
        models: list[ModelInfo] = []
        params: dict[str, str | int] = {"limit": 1000}
        try:
            for _ in range(_MAX_MODEL_PAGES):
                response = await self._http().get(
                    _MODELS_PATH, params=params, headers=self._post_headers
                )
                await self._raise_for_status(response)
                data = parse_json(response.content, provider=self.name)
                if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                    raise MalformedResponse("model list has no data", provider=self.name)
                for item in data["data"]:
                    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                        raise MalformedResponse("model entry without id", provider=self.name)
                    if item.get("lifecycle") == "retired":
                        continue
                    window = item.get("max_input_tokens")
                    models.append(
                        ModelInfo(id=item["id"], context_window=window if _is_int(window) else None)
                    )
                last_id = data.get("last_id")
                if not data.get("has_more") or not isinstance(last_id, str):
                    break
                params = {"limit": 1000, "after_id": last_id}
        except ProviderError as exc:
            raise self._scrub(exc) from None
        return models

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


# -- helpers -------------------------------------------------------------------------


class _UsageTally:
    """Anthropic usage fields as they arrive; later (cumulative) values replace earlier ones."""

    _FIELDS = (
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    )

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def update(self, usage: Any, *, provider: str) -> None:
        if usage is None:
            return
        if not isinstance(usage, dict):
            raise MalformedResponse("usage is not an object", provider=provider)
        for name in self._FIELDS:
            value = usage.get(name)
            if value is None:
                continue
            if not _is_int(value) or value < 0:
                raise MalformedResponse(f"usage.{name} is not a count", provider=provider)
            self.values[name] = value

    def usage(self) -> Usage | None:
        if not self.values:
            return None
        v = self.values
        cache_read = v.get("cache_read_input_tokens", 0)
        cache_write = v.get("cache_creation_input_tokens", 0)
        return Usage(
            input_tokens=v.get("input_tokens", 0) + cache_write + cache_read,
            output_tokens=v.get("output_tokens", 0),
            cached_input_tokens=cache_read,
            cache_write_tokens=cache_write,
        )


def _normalize_base_url(url: str) -> str:
    """Accept both ``https://api.anthropic.com`` and ``…/v1`` (paths here start with /v1)."""
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def _error_type(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    err = data.get("error") if isinstance(data, dict) else None
    kind = err.get("type") if isinstance(err, dict) else None
    return kind if isinstance(kind, str) else None


def _finish_reason(stop_reason: Any) -> str | None:
    if not isinstance(stop_reason, str):
        return None
    return _FINISH_REASONS.get(stop_reason, stop_reason)


def _str_or(value: Any, fallback: str) -> str:
    return value if isinstance(value, str) and value else fallback


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
