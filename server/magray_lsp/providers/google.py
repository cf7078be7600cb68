"""Google Gemini API (``generativelanguage``) adapter: ``generateContent`` and its SSE stream.

Wire notes: the key travels in ``x-goog-api-key`` (never in the URL); system messages become
``systemInstruction``; the assistant role is ``model``; generation parameters live in
``generationConfig``. Errors are ``google.rpc.Status`` bodies whose ``RetryInfo`` detail carries the
rate-limit delay. A stream ends properly only with a candidate ``finishReason``.

Prompt caching is implicit (Gemini 2.5 and newer): a request whose prefix the service saw
recently is billed partly at the cached rate, with nothing to mark on the wire. Usage reports
that part as ``cachedContentTokenCount``, inside ``promptTokenCount``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Mapping
from typing import Any
from urllib.parse import quote

from magray_lsp.config.models import BUILTIN_BASE_URL, ProviderConfig
from magray_lsp.errors import (
    AuthError,
    ContentFiltered,
    MalformedResponse,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
    Unavailable,
)
from magray_lsp.providers._http import (
    HttpClient,
    Response,
    error_for_status,
    is_loopback_url,
    iter_sse,
    parse_event,
    parse_json,
    retry_after_seconds,
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

DEFAULT_API_VERSION = "v1beta"

# finishReason → the provider-independent finish reason.
_FINISH: dict[str, str] = {"STOP": "stop", "MAX_TOKENS": "length"}
# finishReasons (and prompt blockReasons) that mean "refused for content".
_FILTERED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
    }
)
# Generic parameter names (as written in `[llm.google.defaults]`) → generationConfig fields.
_GENERATION_ALIASES: dict[str, str] = {
    "max_tokens": "maxOutputTokens",
    "max_output_tokens": "maxOutputTokens",
    "stop": "stopSequences",
    "stop_sequences": "stopSequences",
}
# Request fields that sit next to `contents` rather than inside `generationConfig`.
_TOP_LEVEL = frozenset({"safetySettings", "tools", "toolConfig", "cachedContent"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")
_VERSION_SUFFIX = re.compile(r"/(v\d+(?:alpha|beta)?\d*)/?$")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _model_path(model: str) -> str:
    """``gemini-2.0-flash`` → ``models/gemini-2.0-flash``; ``tunedModels/x`` stays as it is."""
    if not model.startswith(("models/", "tunedModels/")):
        model = f"models/{model}"
    return quote(model, safe="/-._~")


def _parse_duration(value: Any) -> float | None:
    """A protobuf JSON Duration (``"7s"``, ``"0.300s"``) in seconds."""
    if isinstance(value, int | float):
        return max(0.0, float(value))
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return float(m.group(1))
    if isinstance(value, Mapping):  # {"seconds": "7", "nanos": 0}
        try:
            return float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
        except (TypeError, ValueError):
            return None
    return None


def _count(meta: Mapping[str, Any], key: str) -> int:
    value = meta.get(key)
    return value if isinstance(value, int) else 0


def _usage(meta: Any) -> Usage | None:
    if not isinstance(meta, Mapping):
        return None
    return Usage(
        input_tokens=_count(meta, "promptTokenCount") + _count(meta, "toolUsePromptTokenCount"),
        # thinking tokens are billed as output
        output_tokens=_count(meta, "candidatesTokenCount") + _count(meta, "thoughtsTokenCount"),
        cached_input_tokens=_count(meta, "cachedContentTokenCount"),
    )


def _merge(params: Mapping[str, Any], generation: dict[str, Any], top: dict[str, Any]) -> None:
    """Sort generic and Gemini parameter names into ``generationConfig`` or the request's top
    level (None values are left out)."""
    for key, value in params.items():
        if value is None:
            continue
        if key in ("generationConfig", "generation_config") and isinstance(value, Mapping):
            generation.update({_camel(k): v for k, v in value.items()})
            continue
        name = _GENERATION_ALIASES.get(key) or _camel(key)
        if name in _TOP_LEVEL:
            top[name] = value
        else:
            generation[name] = value


def _candidate_text(candidate: dict[str, Any]) -> str:
    """All text parts of a candidate, skipping thought summaries."""
    content = candidate.get("content")
    if not isinstance(content, dict):
        return ""
    parts = content.get("parts")
    if not isinstance(parts, list):
        return ""
    if len(parts) == 1:  # nearly every streamed chunk
        part = parts[0]
        if isinstance(part, dict) and not part.get("thought"):
            text = part.get("text")
            if isinstance(text, str):
                return text
        return ""
    return "".join(
        p["text"]
        for p in parts
        if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought")
    )


class GeminiProvider(Provider):
    """One ``[llm.<name>]`` section speaking the Gemini API."""

    kind = "google"

    def __init__(self, name: str, cfg: ProviderConfig) -> None:
        super().__init__(name)
        self._cfg = cfg
        base_url = (cfg.base_url or BUILTIN_BASE_URL["google"]).rstrip("/")
        version = cfg.api_version
        # Accept a base_url that already ends in the version (".../v1beta").
        if m := _VERSION_SUFFIX.search(base_url):
            base_url = base_url[: m.start()]
            version = version or m.group(1)
        self._base_url = base_url
        self._api_version = (version or DEFAULT_API_VERSION).strip("/")
        self._client: HttpClient | None = None
        # the section's `defaults` sorted once; every request starts from copies
        self._generation: dict[str, Any] = {}
        self._top: dict[str, Any] = {}
        _merge(cfg.defaults.model_dump(exclude_none=True), self._generation, self._top)

    def __repr__(self) -> str:
        return f"GeminiProvider(name={self.name!r}, base_url={self._base_url!r})"

    @property
    def is_local(self) -> bool:
        return is_loopback_url(self._base_url) and not self._cfg.remote

    # -- plumbing -----------------------------------------------------------

    def _http(self) -> HttpClient:
        if self._client is None:
            headers = {"content-type": "application/json"}
            if self._cfg.api_key is not None:
                headers["x-goog-api-key"] = self._cfg.api_key.get_secret_value()
            headers.update(self._cfg.headers)
            self._client = HttpClient(
                base_url=self._base_url,
                timeout_seconds=self._cfg.timeout_seconds,
                headers=headers,
                max_concurrency=self._cfg.max_concurrency,
                provider=self.name,
                remote=self._cfg.remote,
            )
        return self._client

    def _scrub(self, text: str) -> str:
        key = self._cfg.api_key.get_secret_value() if self._cfg.api_key else ""
        return text.replace(key, "***") if key else text

    def _error(
        self, status: int, raw: bytes, headers: Mapping[str, str] | None = None
    ) -> ProviderError:
        """Map an HTTP error response to the taxonomy."""
        try:
            data = parse_json(raw, provider=self.name)
        except MalformedResponse:
            data = None
        if isinstance(data, list) and data:  # some proxies wrap the body in a list
            data = data[0]
        text = raw.decode("utf-8", "replace").strip()[:500]
        return self._error_from(status, data, text, headers)

    def _error_from(
        self, status: int, data: Any, text: str, headers: Mapping[str, str] | None = None
    ) -> ProviderError:
        """Map a ``google.rpc.Status`` error body (or anything else) to the taxonomy."""
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        err: Mapping[str, Any] = {}
        if isinstance(data, Mapping) and isinstance(data.get("error"), Mapping):
            err = data["error"]
        message = err.get("message") if isinstance(err.get("message"), str) else None
        if not message:
            message = text or f"HTTP {status}"
        message = self._scrub(message[:500])
        rpc_status = err.get("status") if isinstance(err.get("status"), str) else ""
        raw_details = err.get("details")
        details: list[Any] = raw_details if isinstance(raw_details, list) else []
        reasons = {d.get("reason") for d in details if isinstance(d, Mapping)}
        if rpc_status:
            message = f"{message} ({rpc_status})"

        if status == 429 or rpc_status == "RESOURCE_EXHAUSTED":
            delay: float | None = None
            for d in details:
                if isinstance(d, Mapping) and str(d.get("@type", "")).endswith(
                    "google.rpc.RetryInfo"
                ):
                    delay = _parse_duration(d.get("retryDelay"))
            if delay is None:
                delay = retry_after_seconds(headers)
            return RateLimited(message, provider=self.name, status=status, retry_after=delay)
        if "API_KEY_INVALID" in reasons or rpc_status == "UNAUTHENTICATED":
            return AuthError(message, provider=self.name, status=status)
        if status == 400 and rpc_status == "FAILED_PRECONDITION":
            # e.g. "User location is not supported", billing not enabled: another provider may work
            return Unavailable(message, provider=self.name, status=status)
        if status == 504 or rpc_status == "DEADLINE_EXCEEDED":
            return Timeout(message, provider=self.name, status=status)
        return error_for_status(status, message, provider=self.name, headers=headers)

    async def _check(self, response: Response) -> None:
        if response.status_code >= 400:
            raw = await response.aread()
            raise self._error(response.status_code, raw, response.headers)

    def _json(self, raw: bytes | str) -> dict[str, Any]:
        if isinstance(raw, str):  # a stream event
            data = parse_event(raw, provider=self.name)
        else:
            data = parse_json(raw, provider=self.name)
        if not isinstance(data, dict):
            raise MalformedResponse("expected a JSON object from Gemini", provider=self.name)
        if isinstance(data.get("error"), dict):  # an error delivered inside a 200 / a stream
            err = data["error"]
            code = err.get("code") if isinstance(err.get("code"), int) else 500
            raise self._error_from(code, data, "")
        return data

    # -- request ------------------------------------------------------------

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        """The ``GenerateContentRequest`` JSON for ``request``."""
        system: list[dict[str, str]] = []
        contents: list[dict[str, Any]] = []
        for msg in request.messages:
            if msg.role == "system":
                system.append({"text": msg.content})
                continue
            role = "model" if msg.role == "assistant" else "user"
            if contents and contents[-1]["role"] == role:
                contents[-1]["parts"].append({"text": msg.content})
            else:
                contents.append({"role": role, "parts": [{"text": msg.content}]})

        body: dict[str, Any] = {"contents": contents}
        if system:
            body["systemInstruction"] = {"parts": system}

        generation = dict(self._generation)
        top = dict(self._top)
        _merge(request.extra, generation, top)
        _merge(
            {
                "maxOutputTokens": request.max_tokens,
                "temperature": request.temperature,
                "topP": request.top_p,
                "stopSequences": list(request.stop) if request.stop else None,
            },
            generation,
            top,
        )
        if isinstance(generation.get("stopSequences"), str):
            generation["stopSequences"] = [generation["stopSequences"]]
        body.update(top)
        if generation:
            body["generationConfig"] = generation
        return body

    # -- Provider API ---------------------------------------------------------

    async def _generate(
        self, request: ChatRequest, *, stream: bool = True
    ) -> AsyncGenerator[StreamEvent, None]:
        body = self.build_body(request)
        model_path = _model_path(request.model)
        url = f"/{self._api_version}/{model_path}"
        client = self._http()
        if stream:
            # the query is part of the path, so the whole URL is parsed once per model
            path = f"{url}:streamGenerateContent?alt=sse"
            model = request.model
            meta: dict[str, Any] | None = None  # the latest usageMetadata
            finish: str | None = None
            has_text = False
            async with client.stream("POST", path, json=body) as response:
                await self._check(response)
                # read to the body's end: no event says it is the last one
                async for _event, data in iter_sse(response):
                    if not data or data.isspace():
                        continue
                    chunk = self._json(data)
                    if "promptFeedback" in chunk:
                        self._blocked(chunk)
                    if isinstance(used := chunk.get("modelVersion"), str) and used:
                        model = used
                    if isinstance(latest := chunk.get("usageMetadata"), dict):
                        meta = latest
                    candidates = chunk.get("candidates")
                    if not isinstance(candidates, list) or not candidates:
                        continue
                    first = candidates[0]
                    if not isinstance(first, dict):
                        raise MalformedResponse("candidate is not an object", provider=self.name)
                    text = _candidate_text(first)
                    if text:
                        has_text = True
                        yield TextDelta(text)
                    if isinstance(reason := first.get("finishReason"), str) and reason:
                        finish = reason
            if finish is None:
                raise ServerError("stream ended early", provider=self.name)
            yield Completion(
                usage=_usage(meta), finish_reason=self._finish(finish, has_text), model=model
            )
        else:
            reply = await client.post(f"{url}:generateContent", body)
            await self._check(reply)
            for event in self._read_full(self._json(reply.content), request.model):
                yield event

    def _blocked(self, data: Mapping[str, Any]) -> None:
        feedback = data.get("promptFeedback")
        if isinstance(feedback, Mapping) and feedback.get("blockReason"):
            reason = str(feedback["blockReason"])
            detail = feedback.get("blockReasonMessage")
            raise ContentFiltered(
                f"prompt blocked by Gemini ({reason})" + (f": {detail}" if detail else ""),
                provider=self.name,
            )

    def _finish(self, reason: str, has_text: bool) -> str:
        if reason in _FILTERED:
            if not has_text:
                raise ContentFiltered(
                    f"response blocked by Gemini (finishReason {reason})", provider=self.name
                )
            return "content_filter"
        return _FINISH.get(reason, reason.lower())

    def _read_full(self, data: Mapping[str, Any], model: str) -> list[StreamEvent]:
        self._blocked(data)
        candidates = data.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            raise MalformedResponse("response has no candidates", provider=self.name)
        first = candidates[0]
        if not isinstance(first, dict):
            raise MalformedResponse("candidate is not an object", provider=self.name)
        text = _candidate_text(first)
        finish = first.get("finishReason")
        reason = self._finish(str(finish), bool(text)) if finish else None
        used = data.get("modelVersion")
        events: list[StreamEvent] = [TextDelta(text)] if text else []
        events.append(
            Completion(
                usage=_usage(data.get("usageMetadata")),
                finish_reason=reason,
                model=used if isinstance(used, str) and used else model,
            )
        )
        return events

    async def list_models(self) -> list[ModelInfo]:
        """Models that support ``generateContent``, following ``nextPageToken``."""
        client = self._http()
        models: list[ModelInfo] = []
        token: str | None = None
        for _ in range(20):  # a generous bound on pages
            params = {"pageSize": "1000"}
            if token:
                params["pageToken"] = token
            response = await client.get(f"/{self._api_version}/models", params=params)
            await self._check(response)
            data = self._json(response.content)
            for item in data.get("models") or []:
                if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                    continue
                methods = item.get("supportedGenerationMethods")
                if isinstance(methods, list) and "generateContent" not in methods:
                    continue
                limit = item.get("inputTokenLimit")
                models.append(
                    ModelInfo(
                        id=item["name"].removeprefix("models/"),
                        context_window=limit if isinstance(limit, int) else None,
                    )
                )
            next_token = data.get("nextPageToken")
            if not isinstance(next_token, str) or not next_token:
                break
            token = next_token
        return models

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
