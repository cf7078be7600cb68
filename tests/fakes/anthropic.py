"""A loopback fake of the Anthropic Messages API (``POST /v1/messages``, ``GET /v1/models``).

It speaks the exact wire format the official ``anthropic`` SDK parses: the message object for
non-streaming calls, the SSE event sequence (``message_start`` … ``message_stop``) for streaming
ones, and ``{"type": "error", "error": {"type", "message"}}`` bodies for errors. Like the real API
it rejects a request without a key (``x-api-key``, or ``Authorization: Bearer`` as newer SDKs
send it: 401), without ``anthropic-version`` (400), without
``max_tokens`` (400) or with a ``system`` role inside ``messages`` (400).

Extra behaviours for this protocol: ``AnthropicReply`` (adds prompt-cache token counts),
``StreamError`` (an ``event: error`` in the middle of a 200 event stream) and ``EndEarly`` (a
stream that ends cleanly before ``message_stop``).

Content may be a string or a list of text blocks; ``cache_control`` is checked as upstream does
(``ephemeral`` only, ``ttl`` 5m or 1h, at most 4 breakpoints, no empty text blocks). With
``prompt_cache`` set, usage counts the prompt and what the marked blocks wrote to and read from
the cache (``tests/fakes/prompt_cache.py``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
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
from tests.fakes.prompt_cache import anthropic_usage

#: error ``type`` Anthropic uses for each HTTP status
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
#: and the HTTP status that goes with each error ``type`` (for non-streaming ``StreamError``)
STATUS_FOR_TYPE: dict[str, int] = {v: k for k, v in ERROR_TYPES.items()}

CONTEXT_TOO_LONG_MESSAGE = "prompt is too long: 210000 tokens > 200000 maximum"

DEFAULT_MODELS: list[dict[str, Any]] = [
    {
        "type": "model",
        "id": "claude-sonnet-4-5-20250929",
        "display_name": "Claude Sonnet 4.5",
        "created_at": "2025-09-29T00:00:00Z",
        "lifecycle": "active",
        "max_input_tokens": 200000,
        "max_tokens": 64000,
    },
    {
        "type": "model",
        "id": "claude-3-5-haiku-20241022",
        "display_name": "Claude Haiku 3.5",
        "created_at": "2024-10-22T00:00:00Z",
        "lifecycle": "active",
        "max_input_tokens": 200000,
        "max_tokens": 8192,
    },
    {
        "type": "model",
        "id": "claude-3-opus-20240229",
        "display_name": "Claude Opus 3",
        "created_at": "2024-02-29T00:00:00Z",
        "lifecycle": "retired",
        "max_input_tokens": 200000,
        "max_tokens": 4096,
    },
]


@dataclass
class AnthropicReply(Reply):
    """A ``Reply`` that also reports prompt-cache usage (``input_tokens`` is the uncached part)."""

    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    #: the lifetime the cache writes were asked for ("5m" or "1h"), reported in `cache_creation`
    cache_ttl: str = "5m"


@dataclass
class StreamError:
    """Stream ``after`` text deltas of ``reply``, then ``event: error`` and end the stream.

    Non-streaming requests get the same error as an HTTP status (529 for ``overloaded_error``).
    """

    after: int = 0
    error_type: str = "overloaded_error"
    message: str = "Overloaded"
    reply: Reply = field(default_factory=Reply)


@dataclass
class EndEarly:
    """Stream ``after`` text deltas of ``reply``, then end the response cleanly without
    ``message_delta``/``message_stop`` (a proxy that closed the stream politely but too soon)."""

    after: int = 2
    reply: Reply = field(default_factory=Reply)


AnthropicBehaviour = Behaviour | StreamError | EndEarly


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _stop_reason(reply: Reply) -> str:
    return {"stop": "end_turn", "length": "max_tokens"}.get(
        reply.finish_reason, reply.finish_reason
    )


def error_body(status: int, message: str, error_type: str | None = None) -> dict[str, Any]:
    """Anthropic's error envelope."""
    kind = error_type or ERROR_TYPES.get(
        status, "api_error" if status >= 500 else "invalid_request_error"
    )
    return {
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": _new_id("req"),
    }


class FakeAnthropic(FakeServer):
    """Anthropic Messages API on loopback. Set ``api_key`` to require one exact key."""

    name = "anthropic"

    def script(self, *behaviours: AnthropicBehaviour) -> None:
        """Queue behaviours, including this protocol's ``StreamError`` and ``EndEarly``."""
        super().script(*behaviours)

    def __init__(self, *, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.models: list[dict[str, Any]] = [dict(m) for m in DEFAULT_MODELS]

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/v1/models/{model_id}", self._get_model)

    # -- request checks shared by every endpoint ---------------------------

    def _auth_error(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("x-api-key")
        if not key:
            # Newer SDKs send the key as a bearer token; the API accepts both.
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else ""
        if not key:
            return self._error(401, "x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            return self._error(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return self._error(400, "anthropic-version: header is required")
        return None

    def _error(
        self,
        status: int,
        message: str,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        body = error_body(status, message, error_type)
        hdrs = {"request-id": body["request_id"], **(headers or {})}
        return web.json_response(body, status=status, headers=hdrs)

    @staticmethod
    def _validate_body(body: Any) -> str | None:
        """The message the real API gives for a malformed request body, or None when valid."""
        if not isinstance(body, dict):
            return "request body must be a JSON object"
        if not isinstance(body.get("model"), str):
            return "model: Field required"
        if not isinstance(body.get("max_tokens"), int) or isinstance(body["max_tokens"], bool):
            return "max_tokens: Field required"
        if body["max_tokens"] < 1:
            return "max_tokens: Input should be greater than or equal to 1"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages: Field required"
        for i, msg in enumerate(messages):
            role = msg.get("role") if isinstance(msg, dict) else None
            if role == "system":
                return (
                    f'messages.{i}.role: Unexpected role "system". The Messages API accepts a '
                    'top-level `system` parameter, not "system" as an input message role.'
                )
            if role not in ("user", "assistant"):
                return f"messages.{i}.role: Input should be 'user' or 'assistant'"
            if "content" not in msg:
                return f"messages.{i}.content: Field required"
        system = body.get("system")
        if system is not None and not isinstance(system, str | list):
            return "system: Input should be a valid string or list"
        blocks = [("system", b) for b in system] if isinstance(system, list) else []
        for i, msg in enumerate(messages):
            content = msg["content"]
            if isinstance(content, list):
                blocks += [(f"messages.{i}.content", b) for b in content]
            elif not isinstance(content, str):
                return f"messages.{i}.content: Input should be a valid string or list"
        marked = 0
        for where, block in blocks:
            if not isinstance(block, dict) or block.get("type") != "text":
                return f"{where}: this fake only takes text blocks"
            if not isinstance(block.get("text"), str) or not block["text"]:
                return f"{where}: text content blocks must be non-empty"
            control = block.get("cache_control")
            if control is None:
                continue
            if not isinstance(control, dict) or control.get("type") != "ephemeral":
                return f"{where}.cache_control.type: Input should be 'ephemeral'"
            if control.get("ttl", "5m") not in ("5m", "1h"):
                return f"{where}.cache_control.ttl: Input should be '5m' or '1h'"
            marked += 1
        if marked > 4:
            return f"A maximum of 4 blocks with cache_control may be provided. Found {marked}."
        temperature = body.get("temperature")
        if temperature is not None and not 0 <= temperature <= 1:
            return "temperature: Input should be less than or equal to 1"
        stops = body.get("stop_sequences")
        if stops is not None and not (
            isinstance(stops, list) and all(isinstance(s, str) for s in stops)
        ):
            return "stop_sequences: Input should be a valid list of strings"
        return None

    # -- POST /v1/messages ----------------------------------------------------

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        try:
            body: Any = json.loads(await request.read())
        except ValueError:
            return self._error(400, "There was an error parsing the body of your request")
        problem = self._validate_body(body)
        if problem is not None:
            return self._error(400, problem)
        stream = bool(body.get("stream"))
        behaviour: AnthropicBehaviour = self.next_behaviour()
        return await self._render(request, body, behaviour, stream)

    async def _render(
        self, request: web.Request, body: dict[str, Any], b: AnthropicBehaviour, stream: bool
    ) -> web.StreamResponse:
        if isinstance(b, Reply):
            if self.prompt_cache is not None:
                used = anthropic_usage(self.prompt_cache, body)
                b = as_reply(
                    b,
                    AnthropicReply,
                    input_tokens=used.input_tokens,
                    cache_creation_input_tokens=used.cache_creation_input_tokens,
                    cache_read_input_tokens=used.cache_read_input_tokens,
                    cache_ttl=used.ttl,
                )
            if b.delay:
                await asyncio.sleep(b.delay)
            if stream:
                return await self.stream_lines(
                    request,
                    self._events(body, b),
                    content_type="text/event-stream; charset=utf-8",
                    chunk_delay=b.chunk_delay,
                )
            return web.json_response(self._message(body, b), headers={"request-id": _new_id("req")})
        if isinstance(b, Status):
            if b.body is not None:
                payload = b.body if isinstance(b.body, str) else json.dumps(b.body)
                return web.Response(
                    status=b.code, text=payload, content_type="application/json", headers=b.headers
                )
            return self._error(b.code, b.message, b.error_type, b.headers)
        if isinstance(b, ContextTooLong):
            return self._error(400, CONTEXT_TOO_LONG_MESSAGE)
        if isinstance(b, Hang):
            await asyncio.sleep(b.seconds)
            return await self._render(request, body, Reply(), stream)
        if isinstance(b, Malformed):
            if stream:
                start = self._events(body, Reply())[0]
                broken = f"event: content_block_delta\ndata: {b.body}\n\n"
                return await self.stream_lines(
                    request, [start, broken], content_type="text/event-stream; charset=utf-8"
                )
            return web.Response(status=200, text=b.body, content_type="application/json")
        if isinstance(b, CutStream):
            if stream:
                events = self._events(body, b.reply)
                # the preamble write, then `after` text deltas
                return await self.stream_lines(
                    request,
                    events,
                    content_type="text/event-stream; charset=utf-8",
                    cut_after=1 + b.after,
                    chunk_delay=b.reply.chunk_delay,
                )
            return await self.cut_json_body(request, self._message(body, b.reply))
        if isinstance(b, StreamError):
            status = STATUS_FOR_TYPE.get(b.error_type, 500)
            if not stream:
                return self._error(status, b.message, b.error_type)
            events = self._events(body, b.reply)[: 1 + b.after]
            events.append(sse(error_body(status, b.message, b.error_type), event="error"))
            return await self.stream_lines(
                request, events, content_type="text/event-stream; charset=utf-8"
            )
        if isinstance(b, EndEarly):
            if not stream:
                return await self.cut_json_body(request, self._message(body, b.reply))
            events = self._events(body, b.reply)[: 1 + b.after]
            return await self.stream_lines(
                request, events, content_type="text/event-stream; charset=utf-8"
            )
        if isinstance(b, Drop):
            return await self.drop(request)
        raise AssertionError(f"unknown behaviour {b!r}")

    @staticmethod
    def _usage(reply: Reply) -> dict[str, Any]:
        cache_creation = getattr(reply, "cache_creation_input_tokens", 0)
        cache_read = getattr(reply, "cache_read_input_tokens", 0)
        one_hour = getattr(reply, "cache_ttl", "5m") == "1h"
        return {
            "input_tokens": reply.input_tokens,
            "cache_creation_input_tokens": cache_creation,
            "cache_read_input_tokens": cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 0 if one_hour else cache_creation,
                "ephemeral_1h_input_tokens": cache_creation if one_hour else 0,
            },
            "output_tokens": reply.output_tokens,
            "service_tier": "standard",
        }

    @staticmethod
    def _stop_sequence(body: dict[str, Any], reply: Reply) -> str | None:
        if _stop_reason(reply) != "stop_sequence":
            return None
        stops = body.get("stop_sequences") or []
        return str(stops[0]) if stops else None

    def _message(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        content = [{"type": "text", "text": reply.text}] if reply.text else []
        return {
            "id": _new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": _stop_reason(reply),
            "stop_sequence": self._stop_sequence(body, reply),
            "usage": self._usage(reply),
        }

    def _events(self, body: dict[str, Any], reply: Reply) -> list[str]:
        """The SSE sequence as network writes: ``message_start`` + ``content_block_start`` +
        ``ping`` in one write, then one write per text delta, then ``content_block_stop`` +
        ``message_delta`` + ``message_stop`` in one write (so ``chunk_delay`` paces the text)."""
        usage = self._usage(reply)
        message = {
            "id": _new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": 1},
        }
        block = {"type": "text", "text": ""}
        preamble = (
            sse({"type": "message_start", "message": message}, event="message_start")
            + sse(
                {"type": "content_block_start", "index": 0, "content_block": block},
                event="content_block_start",
            )
            + sse({"type": "ping"}, event="ping")
        )
        writes = [preamble]
        for piece in reply.pieces() if reply.text or reply.chunks else []:
            if piece:
                delta = {"type": "text_delta", "text": piece}
                writes.append(
                    sse(
                        {"type": "content_block_delta", "index": 0, "delta": delta},
                        event="content_block_delta",
                    )
                )
        message_delta = {
            "type": "message_delta",
            "delta": {
                "stop_reason": _stop_reason(reply),
                "stop_sequence": self._stop_sequence(body, reply),
            },
            "usage": {"output_tokens": reply.output_tokens},
        }
        writes.append(
            sse({"type": "content_block_stop", "index": 0}, event="content_block_stop")
            + sse(message_delta, event="message_delta")
            + sse({"type": "message_stop"}, event="message_stop")
        )
        return writes

    # -- GET /v1/models -------------------------------------------------------

    async def _models_behaviour(self, request: web.Request) -> web.StreamResponse | None:
        """Faults scripted for a models call; None means answer normally."""
        b = self.next_behaviour()
        if isinstance(b, Reply | CutStream | EndEarly):
            return None
        if isinstance(b, StreamError):
            return self._error(STATUS_FOR_TYPE.get(b.error_type, 500), b.message, b.error_type)
        if isinstance(b, Hang):
            await asyncio.sleep(b.seconds)
            return None
        return await self._render(request, {"model": "-"}, b, stream=False)

    async def _list_models(self, request: web.Request) -> web.StreamResponse:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        fault = await self._models_behaviour(request)
        if fault is not None:
            return fault
        try:
            limit = int(request.query.get("limit", "20"))
        except ValueError:
            return self._error(400, "limit: Input should be a valid integer")
        if not 1 <= limit <= 1000:
            return self._error(400, "limit: Input should be between 1 and 1000")
        ids = [m["id"] for m in self.models]
        after, before = request.query.get("after_id"), request.query.get("before_id")
        if after is not None:
            if after not in ids:
                return self._error(404, f"model: {after}")
            page = self.models[ids.index(after) + 1 :][:limit]
            has_more = ids.index(after) + 1 + limit < len(ids)
        elif before is not None:
            if before not in ids:
                return self._error(404, f"model: {before}")
            end = ids.index(before)
            page = self.models[max(0, end - limit) : end]
            has_more = end - limit > 0
        else:
            page = self.models[:limit]
            has_more = limit < len(ids)
        return web.json_response(
            {
                "data": page,
                "has_more": has_more,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
            }
        )

    async def _get_model(self, request: web.Request) -> web.StreamResponse:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        model_id = request.match_info["model_id"]
        for model in self.models:
            if model["id"] == model_id:
                return web.json_response(model)
        return self._error(404, f"model: {model_id}")
