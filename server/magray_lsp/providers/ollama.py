"""Ollama's native API: ``POST /api/chat`` (NDJSON stream), ``/api/tags``, ``/api/show``.

Generation parameters go to ``options`` (``max_tokens`` becomes ``num_predict``); ``keep_alive``,
``format`` and ``think`` are top-level body fields. A stream is complete only when a line says
``"done": true``; an ``{"error": ...}`` line mid-stream is a failure like an HTTP error.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Mapping
from typing import Any, TypeGuard

from magray_lsp.config.models import BUILTIN_BASE_URL, ProviderConfig
from magray_lsp.errors import (
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

# Body fields that live beside `options`, not inside it.
_TOP_LEVEL = frozenset({"keep_alive", "format", "think"})
# Never overridable from `defaults` / `extra`.
_RESERVED = frozenset({"model", "messages", "stream"})
# Newer Ollama rejects an over-long prompt (400, 413 or 500) instead of truncating it silently.
_CONTEXT_RE = re.compile(
    r"exceeds the context length|context length|context window|prompt is too long|"
    r"input is too long|too many tokens",
    re.IGNORECASE,
)
_NOT_FOUND_RE = re.compile(r"model .* not found|try pulling it first", re.IGNORECASE)
_SHOW_CONCURRENCY = 8


class OllamaProvider(Provider):
    """One ``[llm.<name>]`` section speaking Ollama's native API."""

    kind = "ollama"

    def __init__(self, name: str, cfg: ProviderConfig) -> None:
        super().__init__(name)
        self._cfg = cfg
        self.base_url = (cfg.base_url or BUILTIN_BASE_URL["ollama"]).rstrip("/")
        self._client: HttpClient | None = None
        self._windows: dict[str, int | None] = {}

    def __repr__(self) -> str:
        return f"OllamaProvider(name={self.name!r}, base_url={self.base_url!r})"

    @property
    def is_local(self) -> bool:
        return is_loopback_url(self.base_url) and not self._cfg.remote

    # ------------------------------------------------------------------ plumbing

    def _http(self) -> HttpClient:
        if self._client is None:
            headers = {"Accept": "application/x-ndjson, application/json"}
            headers.update(self._cfg.headers)
            key = self._cfg.api_key.get_secret_value() if self._cfg.api_key else ""
            if key and not any(h.lower() == "authorization" for h in headers):
                headers["Authorization"] = f"Bearer {key}"
            self._client = HttpClient(
                base_url=self.base_url,
                timeout_seconds=self._cfg.timeout_seconds,
                headers=headers,
                max_concurrency=self._cfg.max_concurrency,
                provider=self.name,
                remote=self._cfg.remote,
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _error(
        self, status: int | None, message: str, headers: Mapping[str, str] | None = None
    ) -> ProviderError:
        """Map an Ollama error (HTTP status, or ``None`` for an error line mid-stream)."""
        key = self._cfg.api_key.get_secret_value() if self._cfg.api_key else ""
        if key:  # an auth proxy in front of Ollama may echo the key back
            message = message.replace(key, "[redacted]")
        if status in (None, 400, 413, 422, 500) and _CONTEXT_RE.search(message):
            return ContextTooLong(message, provider=self.name, status=status)
        if status == 404 or (status in (None, 400) and _NOT_FOUND_RE.search(message)):
            return Unavailable(message, provider=self.name, status=status)
        if status is None:
            return ServerError(message, provider=self.name)
        return error_for_status(status, message, provider=self.name, headers=headers)

    async def _raise_for_status(self, response: Response) -> None:
        if response.status_code < 400:
            return
        body = await response.aread()
        headers = {k.lower(): v for k, v in response.headers.items()}
        raise self._error(response.status_code, error_message(body), headers)

    def _object(self, raw: bytes | str) -> dict[str, Any]:
        if isinstance(raw, str):  # a stream line
            data = parse_event(raw, provider=self.name)
        else:
            data = parse_json(raw, provider=self.name)
        if not isinstance(data, dict):
            raise MalformedResponse("expected a JSON object", provider=self.name)
        error = data.get("error")
        if error:
            raise self._error(None, error if isinstance(error, str) else str(error))
        return data

    async def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """One small non-streaming JSON call (tags, show)."""
        response = await self._http().request(method, path, json=body)
        await self._raise_for_status(response)
        return self._object(response.content)

    # ------------------------------------------------------------------ chat

    def _body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        defaults = self._cfg.defaults
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": stream,
        }
        options: dict[str, Any] = {}
        for key, value in (
            ("num_predict", defaults.max_tokens),
            ("temperature", defaults.temperature),
            ("top_p", defaults.top_p),
        ):
            if value is not None:
                options[key] = value
        for source in (defaults.model_extra or {}, request.extra):
            for key, value in source.items():
                if key in _RESERVED:
                    continue
                if key == "options" and isinstance(value, Mapping):
                    options.update(value)
                elif key in _TOP_LEVEL:
                    body[key] = value
                elif key == "max_tokens":
                    options["num_predict"] = value
                else:
                    options[key] = value
        if request.max_tokens is not None:
            options["num_predict"] = request.max_tokens
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if request.top_p is not None:
            options["top_p"] = request.top_p
        if request.stop:
            options["stop"] = list(request.stop)
        if options:
            body["options"] = options
        return body

    def _completion(self, data: Mapping[str, Any], request: ChatRequest) -> Completion:
        prompt, output = data.get("prompt_eval_count"), data.get("eval_count")
        usage = None
        if _is_count(prompt) or _is_count(output):
            usage = Usage(
                input_tokens=prompt if _is_count(prompt) else 0,
                output_tokens=output if _is_count(output) else 0,
            )
        reason = data.get("done_reason")
        model = data.get("model")
        return Completion(
            usage=usage,
            finish_reason=reason if isinstance(reason, str) and reason else None,
            model=model if isinstance(model, str) and model else request.model,
        )

    def _content(self, data: Mapping[str, Any]) -> str:
        message = data.get("message")
        if message is None:
            return ""
        content = message.get("content", "") if isinstance(message, dict) else None
        if content is None:
            return ""
        if not isinstance(content, str):
            raise MalformedResponse("message.content is not a string", provider=self.name)
        return content

    async def _generate(
        self, request: ChatRequest, *, stream: bool = True
    ) -> AsyncGenerator[StreamEvent, None]:
        body = self._body(request, stream)
        client = self._http()
        if not stream:
            reply = await client.post("/api/chat", body)
            await self._raise_for_status(reply)
            data = self._object(reply.content)
            if data.get("done") is not True or not isinstance(data.get("message"), dict):
                raise MalformedResponse("response is not a finished chat", provider=self.name)
            text = self._content(data)
            if text:
                yield TextDelta(text)
            yield self._completion(data, request)
            return
        async with client.stream("POST", "/api/chat", json=body) as response:
            await self._raise_for_status(response)
            final: Completion | None = None
            async for line in response.aiter_lines():
                if not line or line.isspace():
                    continue
                data = self._object(line)
                text = self._content(data)
                if text:
                    yield TextDelta(text)
                if data.get("done") is True:
                    final = self._completion(data, request)
                    response.finished = True  # nothing follows; the body's end is not waited for
            if final is None:
                raise ServerError("stream ended early", provider=self.name)
        yield final

    # ------------------------------------------------------------------ models

    async def list_models(self) -> list[ModelInfo]:
        """Installed models (``/api/tags``), each with its context window from ``/api/show``."""
        data = await self._call("GET", "/api/tags")
        entries = data.get("models")
        if not isinstance(entries, list):
            raise MalformedResponse("/api/tags without a models list", provider=self.name)
        ids: list[str] = []
        for entry in entries:
            model_id = (
                (entry.get("model") or entry.get("name")) if isinstance(entry, dict) else None
            )
            if isinstance(model_id, str) and model_id:
                ids.append(model_id)
        gate = asyncio.Semaphore(_SHOW_CONCURRENCY)

        async def window(model_id: str) -> int | None:
            async with gate:
                try:
                    return await self.context_window(model_id)
                except ProviderError:
                    return None

        windows = await asyncio.gather(*(window(i) for i in ids))
        return [ModelInfo(i, w) for i, w in zip(ids, windows, strict=True)]

    async def context_window(self, model: str) -> int | None:
        """Tokens ``model`` will accept, from config, ``num_ctx`` or the model's own metadata.

        Cached per model. Raises a ``ProviderError`` when Ollama cannot be asked (not cached);
        ``None`` when Ollama does not say.
        """
        configured = self._cfg.context_windows.get(model)
        if configured is not None:
            return configured
        if model in self._windows:
            return self._windows[model]
        data = await self._call("POST", "/api/show", {"model": model})
        window = _window_from_show(data, _configured_num_ctx(self._cfg))
        self._windows[model] = window
        return window


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _configured_num_ctx(cfg: ProviderConfig) -> int | None:
    extra = cfg.defaults.model_extra or {}
    options = extra.get("options")
    value = options.get("num_ctx") if isinstance(options, Mapping) else None
    value = extra.get("num_ctx", value)
    return value if _is_count(value) and value > 0 else None


def _window_from_show(data: Mapping[str, Any], configured: int | None) -> int | None:
    """The window Ollama runs ``model`` with: ``num_ctx`` if set, capped by the trained length."""
    trained: int | None = None
    info = data.get("model_info")
    if isinstance(info, Mapping):
        for key, value in info.items():
            if isinstance(key, str) and key.endswith(".context_length") and _is_count(value):
                trained = value
                break
    num_ctx: int | None = configured
    params = data.get("parameters")
    if num_ctx is None and isinstance(params, str):
        for line in params.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "num_ctx" and parts[1].isdigit():
                num_ctx = int(parts[1])
    if num_ctx and trained:
        return min(num_ctx, trained)
    return num_ctx or trained
