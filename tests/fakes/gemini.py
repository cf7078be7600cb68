"""A loopback fake of the Google Gemini API (generativelanguage, ``v1beta``).

Speaks the exact wire format the official ``google-genai`` SDK reads:

- ``POST /{version}/models/{model}:generateContent`` — one ``GenerateContentResponse``;
- ``POST /{version}/models/{model}:streamGenerateContent?alt=sse`` — ``data: {...}`` events, each a
  ``GenerateContentResponse``; the last candidate carries ``finishReason``;
- ``GET /{version}/models`` (``pageSize``/``pageToken``) and ``GET /{version}/models/{model}``;
- errors as ``{"error": {"code", "message", "status", "details"}}``; a 429 whose scripted
  ``Retry-After`` becomes a ``google.rpc.RetryInfo`` detail (Google sends no ``Retry-After``
  header; a verbatim ``Status.body`` keeps the header instead).

The API key travels in ``x-goog-api-key`` (or ``?key=``). When ``api_key`` is set, a missing key
gets 403 PERMISSION_DENIED and a wrong one 400 INVALID_ARGUMENT / ``API_KEY_INVALID``, as upstream.
With ``prompt_cache`` set, usage counts the prompt and the part Gemini 2.5+ models cache
implicitly (``cachedContentTokenCount``; ``tests/fakes/prompt_cache.py``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.base import (
    Behaviour,
    ContextTooLong,
    CutStream,
    Drop,
    FakeServer,
    Hang,
    Malformed,
    Reply,
    Status,
    as_reply,
    sse,
)
from tests.fakes.prompt_cache import gemini_usage

# ---------------------------------------------------------------- Gemini-only behaviours


@dataclass
class GeminiReply(Reply):
    """A ``Reply`` that also reports cached prompt tokens and thinking tokens."""

    cached_tokens: int = 0
    thoughts_tokens: int = 0


@dataclass
class SafetyBlock:
    """200 OK, the prompt was blocked: ``promptFeedback.blockReason`` and no candidates."""

    reason: str = "SAFETY"
    input_tokens: int = 11


GeminiBehaviour = Behaviour | SafetyBlock

# ---------------------------------------------------------------- wire constants

STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

CONTEXT_TOO_LONG_MESSAGE = (
    "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
)

FINISH_REASONS: dict[str, str] = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "safety": "SAFETY",
    "recitation": "RECITATION",
}

# Top-level request fields and generationConfig fields the API accepts (proto JSON accepts both
# the lowerCamelCase and the original snake_case names). Anything else is a 400, as upstream.
_REQUEST_FIELDS = {
    "contents",
    "tools",
    "toolConfig",
    "safetySettings",
    "systemInstruction",
    "generationConfig",
    "cachedContent",
    "model",
}
_GENERATION_FIELDS = {
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "_responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "enableEnhancedCivicAnswers",
    "speechConfig",
    "thinkingConfig",
    "imageConfig",
    "mediaResolution",
}


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


_REQUEST_NAMES = _REQUEST_FIELDS | {_snake(n) for n in _REQUEST_FIELDS}
_GENERATION_NAMES = _GENERATION_FIELDS | {_snake(n) for n in _GENERATION_FIELDS}

_SAFETY_RATINGS = [
    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"},
]

DEFAULT_MODELS: list[dict[str, Any]] = [
    {
        "name": "models/gemini-2.0-flash",
        "version": "2.0",
        "displayName": "Gemini 2.0 Flash",
        "description": "Gemini 2.0 Flash",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 8192,
        "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 40,
        "maxTemperature": 2,
    },
    {
        "name": "models/gemini-2.5-flash",
        "version": "001",
        "displayName": "Gemini 2.5 Flash",
        "description": "Stable version of Gemini 2.5 Flash",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    },
    {
        "name": "models/gemini-1.5-pro",
        "version": "002",
        "displayName": "Gemini 1.5 Pro",
        "description": "Mid-size multimodal model",
        "inputTokenLimit": 2000000,
        "outputTokenLimit": 8192,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 40,
        "maxTemperature": 2,
    },
    {
        "name": "models/text-embedding-004",
        "version": "004",
        "displayName": "Text Embedding 004",
        "description": "Obtain a distributed representation of a text.",
        "inputTokenLimit": 2048,
        "outputTokenLimit": 1,
        "supportedGenerationMethods": ["embedContent"],
    },
]


def google_error(
    code: int, message: str, status: str | None = None, details: list[Any] | None = None
) -> dict[str, Any]:
    """The ``google.rpc.Status`` error envelope every Google JSON API returns."""
    err: dict[str, Any] = {
        "code": code,
        "message": message,
        "status": status or STATUS_NAMES.get(code, "UNKNOWN"),
    }
    if details:
        err["details"] = details
    return {"error": err}


# ---------------------------------------------------------------- server


class FakeGemini(FakeServer):
    """The Gemini API on loopback. ``api_key``: when set, requests must carry exactly this key."""

    name = "gemini"

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.models: list[dict[str, Any]] = [dict(m) for m in DEFAULT_MODELS]
        #: upstream caps ``pageSize`` at 1000; tests lower it to exercise paging
        self.max_page_size = 1000
        self._ids = itertools.count(1)

    def script(self, *behaviours: GeminiBehaviour) -> None:
        """Queue behaviours, including the Gemini-only ``SafetyBlock``."""
        super().script(*behaviours)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/{version}/models/{call}", self._post_model)
        app.router.add_get("/{version}/models", self._list_models)
        app.router.add_get("/{version}/models/{model}", self._get_model)

    # -- auth -------------------------------------------------------------

    def _auth_error(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            return self.json_response(
                google_error(
                    403,
                    "Method doesn't allow unregistered callers (callers without established "
                    "identity). Please use API Key or other form of API consumer identity to "
                    "call this API.",
                ),
                403,
            )
        if key != self.api_key:
            return self.json_response(
                google_error(
                    400,
                    "API key not valid. Please pass a valid API key.",
                    details=[
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "API_KEY_INVALID",
                            "domain": "googleapis.com",
                            "metadata": {"service": "generativelanguage.googleapis.com"},
                        },
                        {
                            "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                            "locale": "en-US",
                            "message": "API key not valid. Please pass a valid API key.",
                        },
                    ],
                ),
                400,
            )
        return None

    # -- models -----------------------------------------------------------

    async def _list_models(self, request: web.Request) -> web.StreamResponse:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        size = min(int(request.query.get("pageSize", "50") or 50), self.max_page_size)
        start = int(request.query.get("pageToken", "0") or 0)
        page = self.models[start : start + size]
        body: dict[str, Any] = {"models": page}
        if start + size < len(self.models):
            body["nextPageToken"] = str(start + size)
        return self.json_response(body)

    async def _get_model(self, request: web.Request) -> web.StreamResponse:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        model = request.match_info["model"]
        for m in self.models:
            if m["name"] == f"models/{model}":
                return self.json_response(m)
        return self.json_response(google_error(404, f"models/{model} is not found"), 404)

    # -- generation -------------------------------------------------------

    async def _post_model(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["call"].rpartition(":")
        version = request.match_info["version"]
        if method not in ("generateContent", "streamGenerateContent") or not model:
            return self.json_response(
                google_error(404, f"Method not found: {request.match_info['call']}"), 404
            )
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        stream = method == "streamGenerateContent"
        sse_mode = request.query.get("alt") == "sse"
        if stream and not sse_mode:
            # Upstream would answer a JSON array; our clients must always ask for SSE.
            return self.json_response(
                google_error(400, "this fake only serves streamGenerateContent?alt=sse"), 400
            )
        body = json.loads(await request.read() or b"null")
        invalid = self._validate(body)
        if invalid is not None:
            return self.json_response(google_error(400, invalid), 400)
        if model not in {m["name"].removeprefix("models/") for m in self.models}:
            return self.json_response(
                google_error(
                    404,
                    f"models/{model} is not found for API version {version}, or is not "
                    "supported for generateContent. Call ListModels to see the list of "
                    "available models and their supported methods.",
                ),
                404,
            )
        behaviour: GeminiBehaviour = self.next_behaviour()
        if isinstance(behaviour, Reply) and self.prompt_cache is not None:
            total, cached = gemini_usage(self.prompt_cache, model, body)
            behaviour = as_reply(behaviour, GeminiReply, input_tokens=total, cached_tokens=cached)
        return await self._render(request, behaviour, model=model, stream=stream)

    @staticmethod
    def _validate(body: Any) -> str | None:
        """The request checks upstream makes before generating anything."""
        if not isinstance(body, dict):
            return "Invalid JSON payload received."
        for key in body:
            if key not in _REQUEST_NAMES:
                return f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.'
        gen = body.get("generationConfig", body.get("generation_config", {}))
        if not isinstance(gen, dict):
            return "Invalid JSON payload received. generation_config must be an object."
        for key in gen:
            if key not in _GENERATION_NAMES:
                return (
                    f'Invalid JSON payload received. Unknown name "{key}" at '
                    "'generation_config': Cannot find field."
                )
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return "* GenerateContentRequest.contents: contents is not specified\n"
        for item in contents:
            if not isinstance(item, dict) or item.get("role", "user") not in ("user", "model"):
                return "Please use a valid role: user, model."
            parts = item.get("parts")
            if not isinstance(parts, list) or not parts:
                return (
                    "* GenerateContentRequest.contents.parts: contents.parts must not be empty.\n"
                )
        system = body.get("systemInstruction", body.get("system_instruction"))
        if system is not None and (not isinstance(system, dict) or not system.get("parts")):
            return "* GenerateContentRequest.system_instruction.parts: must not be empty.\n"
        return None

    async def _render(
        self, request: web.Request, behaviour: GeminiBehaviour, *, model: str, stream: bool
    ) -> web.StreamResponse:
        if isinstance(behaviour, Reply):
            if behaviour.delay and not await self._wait(request, behaviour.delay):
                return web.Response(status=204)  # the client gave up; nobody to answer
            if not stream:
                return self.json_response(self._full_response(behaviour, model))
            return await self.stream_lines(
                request,
                [sse(e) for e in self._events(behaviour, model)],
                content_type="text/event-stream",
                chunk_delay=behaviour.chunk_delay,
            )
        if isinstance(behaviour, Status):
            return self._status(behaviour)
        if isinstance(behaviour, ContextTooLong):
            return self.json_response(google_error(400, CONTEXT_TOO_LONG_MESSAGE), 400)
        if isinstance(behaviour, SafetyBlock):
            blocked = {
                "promptFeedback": {
                    "blockReason": behaviour.reason,
                    "safetyRatings": _SAFETY_RATINGS,
                },
                "usageMetadata": {
                    "promptTokenCount": behaviour.input_tokens,
                    "totalTokenCount": behaviour.input_tokens,
                },
                "modelVersion": model,
                "responseId": self._response_id(),
            }
            if not stream:
                return self.json_response(blocked)
            return await self.stream_lines(
                request, [sse(blocked)], content_type="text/event-stream"
            )
        if isinstance(behaviour, Hang):
            await self._wait(request, behaviour.seconds)
            return web.Response(status=204)
        if isinstance(behaviour, Malformed):
            if not stream:
                return web.Response(
                    status=200, text=behaviour.body, content_type="application/json"
                )
            return await self.stream_lines(
                request, [sse(behaviour.body)], content_type="text/event-stream"
            )
        if isinstance(behaviour, CutStream):
            if stream:
                events = [sse(e) for e in self._events(behaviour.reply, model)]
                return await self.stream_lines(
                    request, events, content_type="text/event-stream", cut_after=behaviour.after
                )
            return await self.cut_json_body(request, self._full_response(behaviour.reply, model))
        if isinstance(behaviour, Drop):
            return await self.drop(request)
        raise AssertionError(f"unknown behaviour {behaviour!r}")  # pragma: no cover

    # -- rendering helpers ------------------------------------------------

    def _response_id(self) -> str:
        return f"fake-gemini-{next(self._ids):06d}"

    @staticmethod
    def _usage(reply: Reply, *, final: bool = True) -> dict[str, Any]:
        """``usageMetadata``; zero counts are omitted, as proto3 JSON does upstream."""
        out = reply.output_tokens if final else 0
        thoughts = reply.thoughts_tokens if final and isinstance(reply, GeminiReply) else 0
        cached = reply.cached_tokens if isinstance(reply, GeminiReply) else 0
        usage: dict[str, Any] = {"promptTokenCount": reply.input_tokens}
        if out:
            usage["candidatesTokenCount"] = out
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        if cached:
            usage["cachedContentTokenCount"] = cached
        usage["totalTokenCount"] = reply.input_tokens + out + thoughts
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": reply.input_tokens}]
        if cached:
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
        return usage

    @staticmethod
    def _candidate(text: str | None, finish: str | None) -> dict[str, Any]:
        cand: dict[str, Any] = {"index": 0}
        if text is not None:
            cand["content"] = {"parts": [{"text": text}], "role": "model"}
        if finish:
            cand["finishReason"] = finish
            if finish == "SAFETY":
                cand["safetyRatings"] = _SAFETY_RATINGS
        return cand

    @staticmethod
    def _finish(reply: Reply) -> str | None:
        if not reply.finish_reason:
            return None
        return FINISH_REASONS.get(reply.finish_reason, reply.finish_reason.upper())

    def _full_response(self, reply: Reply, model: str) -> dict[str, Any]:
        text = "".join(reply.pieces()) if reply.chunks is not None else reply.text
        return {
            "candidates": [self._candidate(text or None, self._finish(reply))],
            "usageMetadata": self._usage(reply),
            "modelVersion": model,
            "responseId": self._response_id(),
        }

    def _events(self, reply: Reply, model: str) -> list[dict[str, Any]]:
        """One event per piece; intermediate usage is partial, the last event's is final."""
        pieces: list[str | None] = [p for p in reply.pieces() if p]
        if not pieces:
            pieces = [None]  # e.g. a candidate stopped by SAFETY before any text
        response_id = self._response_id()
        finish = self._finish(reply)
        events: list[dict[str, Any]] = []
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            events.append(
                {
                    "candidates": [self._candidate(piece, finish if last else None)],
                    "usageMetadata": self._usage(reply, final=last),
                    "modelVersion": model,
                    "responseId": response_id,
                }
            )
        return events

    def _status(self, behaviour: Status) -> web.Response:
        headers = dict(behaviour.headers)
        retry_after = next(
            (headers.pop(k) for k in list(headers) if k.lower() == "retry-after"), None
        )
        if behaviour.body is not None:
            body = behaviour.body
            if retry_after is not None:
                headers["Retry-After"] = retry_after  # verbatim bodies keep the header
        else:
            details: list[Any] = []
            if behaviour.code == 429:
                details.append(
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [
                            {
                                "quotaMetric": "generativelanguage.googleapis.com/"
                                "generate_content_free_tier_requests",
                                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                                "quotaDimensions": {
                                    "location": "global",
                                    "model": "gemini-2.0-flash",
                                },
                                "quotaValue": "15",
                            }
                        ],
                    }
                )
                details.append(
                    {
                        "@type": "type.googleapis.com/google.rpc.Help",
                        "links": [
                            {
                                "description": "Learn more about Gemini API quotas",
                                "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                            }
                        ],
                    }
                )
                if retry_after is not None:
                    details.append(
                        {
                            "@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": f"{retry_after}s",
                        }
                    )
            body = google_error(
                behaviour.code, behaviour.message, behaviour.error_type, details or None
            )
        return self.json_response(body, behaviour.code, headers or None)

    async def _wait(self, request: web.Request, seconds: float) -> bool:
        """Say nothing for ``seconds``; False (and a recorded disconnect) if the client left."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            transport = request.transport
            if transport is None or transport.is_closing():
                with self._lock:
                    self.client_disconnects += 1
                return False
            await asyncio.sleep(min(0.05, max(0.0, end - loop.time())))
        return True
