"""A loopback fake of the OpenAI Chat Completions API (``/v1/chat/completions``, ``/v1/models``).

It speaks the wire format of api.openai.com: ``chatcmpl-`` ids, ``chat.completion`` and
``chat.completion.chunk`` objects, a role delta first, a finish-reason chunk, the usage-only chunk
when ``stream_options.include_usage`` is set, ``data: [DONE]``, and errors as
``{"error": {"message", "type", "param", "code"}}``. With ``prompt_cache`` set it counts the
prompt and its automatically cached prefix (``prompt_tokens_details.cached_tokens``) as the API
does; ``accepts_prompt_cache_key = False`` makes it a compatible server that rejects that field.
The official ``openai`` SDK checks it in ``tests/unit/providers/test_openai.py``. HuggingFace's
router and TGI serve the same protocol; their error bodies are scripted with ``Status(body=...)``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
import time
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
from tests.fakes.prompt_cache import openai_usage

_ALNUM = string.ascii_letters + string.digits

# What the real API reports back for an alias: the dated snapshot that served the request.
MODEL_SNAPSHOTS: dict[str, str] = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4-turbo": "gpt-4-turbo-2024-04-09",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
}

_DEFAULT_TYPE = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    422: "invalid_request_error",
    429: "requests",
}
_DEFAULT_CODE = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


@dataclass
class OpenAIReply(Reply):
    """A ``Reply`` with the OpenAI-only knobs."""

    cached_tokens: int = 0
    #: the model the response reports (default: the snapshot of the requested model)
    model: str | None = None
    #: send no usage at all, like some OpenAI-compatible servers
    usage: bool = True
    #: answer with a refusal (``message.refusal``) instead of content
    refusal: str | None = None
    #: end the stream with ``data: [DONE]`` (some compatible servers just end the body)
    done: bool = True


@dataclass
class StreamError:
    """Stream ``after`` chunks of ``reply``, then ``data: {"error": ...}`` and end without [DONE].

    ``body`` replaces the OpenAI error object verbatim (TGI sends ``{"error": "...",
    "error_type": "generation"}``).
    """

    message: str = "The server had an error while processing your request. Sorry about that!"
    after: int = 1
    reply: Reply = field(default_factory=Reply)
    body: Any = None


OpenAIBehaviour = Behaviour | StreamError


def error_body(
    status: int,
    message: str,
    *,
    type_: str | None = None,
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """OpenAI's error envelope with the type and code the real API uses for ``status``."""
    return {
        "error": {
            "message": message,
            "type": type_ or _DEFAULT_TYPE.get(status, "server_error"),
            "param": param,
            # code="" asks for an explicit null where the status would default one
            "code": (code or None) if code is not None else _DEFAULT_CODE.get(status),
        }
    }


def model_not_found(model: str) -> Status:
    """The 404 the real API sends for an unknown model id."""
    return Status(404, f"The model `{model}` does not exist or you do not have access to it.")


def rate_limited(retry_after: str | None = None) -> Status:
    """A 429 with the real wording, with ``Retry-After`` when given."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Status(
        429,
        "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): "
        "Limit 3, Used 3, Requested 1. Please try again in 20s. Visit "
        "https://platform.openai.com/account/rate-limits to learn more.",
        headers=headers,
    )


def _rand(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


class FakeOpenAI(FakeServer):
    """OpenAI Chat Completions on 127.0.0.1. ``base_url`` is what clients configure."""

    name = "openai"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: list[str] | None = None,
        prefix: str = "/v1",
    ) -> None:
        super().__init__()
        #: when set, requests without ``Authorization: Bearer <api_key>`` get the real 401
        self.api_key = api_key
        self.models = models if models is not None else ["gpt-4o-mini", "gpt-4o"]
        self.prefix = prefix
        #: False: answer `prompt_cache_key` like a compatible server that knows no such field
        self.accepts_prompt_cache_key = True

    def script(self, *behaviours: OpenAIBehaviour) -> None:
        """Queue behaviours; also takes ``StreamError``."""
        super().script(*behaviours)

    @property
    def base_url(self) -> str:
        return self.url + self.prefix

    def routes(self, app: web.Application) -> None:
        app.router.add_post(f"{self.prefix}/chat/completions", self._chat)
        app.router.add_get(f"{self.prefix}/models", self._list_models)
        app.router.add_get(f"{self.prefix}/models/{{model}}", self._get_model)

    # -- helpers ------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"x-request-id": f"req_{secrets.token_hex(16)}", "openai-processing-ms": "42"}

    def error(
        self,
        status: int,
        message: str,
        *,
        type_: str | None = None,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        return web.json_response(
            error_body(status, message, type_=type_, code=code, param=param),
            status=status,
            headers={**self._headers(), **(headers or {})},
        )

    def _status(self, behaviour: Status) -> web.Response:
        headers = {**self._headers(), **behaviour.headers}
        if behaviour.body is None:
            body: Any = error_body(behaviour.code, behaviour.message, type_=behaviour.error_type)
        else:
            body = behaviour.body
        if isinstance(body, str):
            return web.Response(status=behaviour.code, text=body, headers=headers)
        return web.json_response(body, status=behaviour.code, headers=headers)

    def _auth_error(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return self.error(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or "
                "as the password field (with blank username) if you're accessing the API from your "
                "browser and are prompted for a username and password. You can obtain an API key "
                "from https://platform.openai.com/account/api-keys.",
                code="",
            )
        key = auth[7:].strip()
        if key != self.api_key:
            masked = key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 8 else "***"
            return self.error(
                401,
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
            )
        return None

    # -- /v1/models -----------------------------------------------------------

    def _model_object(self, model: str) -> dict[str, Any]:
        return {"id": model, "object": "model", "created": 1686935002, "owned_by": "system"}

    async def _list_models(self, request: web.Request) -> web.StreamResponse:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        behaviour = self.next_behaviour()
        if isinstance(behaviour, Status):
            return self._status(behaviour)
        if isinstance(behaviour, Drop):
            return await self.drop(request)
        if isinstance(behaviour, Malformed):
            return web.Response(text=behaviour.body, content_type="application/json")
        if isinstance(behaviour, Hang):
            await asyncio.sleep(behaviour.seconds)
        body = {"object": "list", "data": [self._model_object(m) for m in self.models]}
        return web.json_response(body, headers=self._headers())

    async def _get_model(self, request: web.Request) -> web.StreamResponse:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        model = request.match_info["model"]
        if model not in self.models:
            return self.error(
                404, f"The model '{model}' does not exist", param="model", code="model_not_found"
            )
        return web.json_response(self._model_object(model), headers=self._headers())

    # -- /v1/chat/completions -------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self.error(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you "
                "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
                "but what was sent was not valid JSON. If you have trouble figuring out how to fix "
                "this, please contact us through our help center at help.openai.com.)",
            )
        invalid = self._validate(body)
        if invalid is not None:
            return invalid

        behaviour = self.next_behaviour()
        stream = body.get("stream") is True
        if isinstance(behaviour, Status):
            return self._status(behaviour)
        if isinstance(behaviour, Drop):
            return await self.drop(request)
        if isinstance(behaviour, ContextTooLong):
            return self._context_too_long(body)
        if isinstance(behaviour, Hang):
            await asyncio.sleep(behaviour.seconds)
            behaviour = Reply()
        if isinstance(behaviour, Malformed):
            if stream:
                lines = [
                    self._chunk(body, {"role": "assistant", "content": "", "refusal": None}),
                    f"data: {behaviour.body}\n\n",
                    "data: [DONE]\n\n",
                ]
                return await self.stream_lines(request, lines, content_type=_SSE)
            return web.Response(
                text=behaviour.body, content_type="application/json", headers=self._headers()
            )
        if isinstance(behaviour, StreamError):
            err = (
                behaviour.body if behaviour.body is not None else error_body(500, behaviour.message)
            )
            if not stream:  # the same failure before any output: a plain 500
                return self._status(Status(500, body=err))
            lines = self._stream_lines(body, behaviour.reply)[: 1 + behaviour.after]
            return await self.stream_lines(request, [*lines, sse(err)], content_type=_SSE)
        if isinstance(behaviour, CutStream):
            if stream:
                lines = self._stream_lines(body, behaviour.reply)
                return await self.stream_lines(
                    request, lines, content_type=_SSE, cut_after=1 + behaviour.after
                )
            return await self.cut_json_body(request, self._completion(body, behaviour.reply))
        assert isinstance(behaviour, Reply)
        if self.prompt_cache is not None:
            total, cached = openai_usage(self.prompt_cache, body)
            behaviour = as_reply(behaviour, OpenAIReply, input_tokens=total, cached_tokens=cached)
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if stream:
            return await self.stream_lines(
                request,
                self._stream_lines(body, behaviour),
                content_type=_SSE,
                chunk_delay=behaviour.chunk_delay,
            )
        return web.json_response(self._completion(body, behaviour), headers=self._headers())

    def _validate(self, body: Any) -> web.Response | None:
        """The request checks of the real API that a client can get wrong."""
        if not isinstance(body, dict):
            return self.error(400, "Invalid type for request body: expected an object.")
        if not body.get("model"):
            return self.error(400, "you must provide a model parameter")
        messages = body.get("messages")
        if messages is None:
            return self.error(
                400,
                "Missing required parameter: 'messages'.",
                param="messages",
                code="missing_required_parameter",
            )
        if not isinstance(messages, list) or not messages:
            return self.error(
                400,
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got "
                "an empty array instead.",
                param="messages",
                code="empty_array",
            )
        if "prompt_cache_key" in body:
            key = body["prompt_cache_key"]
            if not self.accepts_prompt_cache_key:  # Azure OpenAI's wording for an unknown field
                return self.error(
                    400, "Unrecognized request argument supplied: prompt_cache_key", code=""
                )
            if not isinstance(key, str):
                return self.error(
                    400,
                    "Invalid type for 'prompt_cache_key': expected a string, but got "
                    f"{type(key).__name__} instead.",
                    param="prompt_cache_key",
                    code="invalid_type",
                )
        if "stream_options" in body and body.get("stream") is not True:
            return self.error(
                400,
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
            )
        return None

    def _context_too_long(self, body: dict[str, Any]) -> web.Response:
        window, in_messages = 128000, 131072
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(max_tokens, int):
            message = (
                f"This model's maximum context length is {window} tokens. However, you "
                f"requested {in_messages + max_tokens} tokens ({in_messages} in the messages, "
                f"{max_tokens} in the completion). Please reduce the length of the messages or "
                "completion."
            )
        else:
            message = (
                f"This model's maximum context length is {window} tokens. However, your messages "
                f"resulted in {in_messages} tokens. Please reduce the length of the messages."
            )
        return self.error(400, message, param="messages", code="context_length_exceeded")

    def _model(self, body: dict[str, Any], reply: Reply) -> str:
        if isinstance(reply, OpenAIReply) and reply.model:
            return reply.model
        requested = str(body["model"])
        return MODEL_SNAPSHOTS.get(requested, requested)

    @staticmethod
    def _usage(reply: Reply) -> dict[str, Any]:
        cached = reply.cached_tokens if isinstance(reply, OpenAIReply) else 0
        return {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        refusal = reply.refusal if isinstance(reply, OpenAIReply) else None
        result: dict[str, Any] = {
            "id": f"chatcmpl-{_rand(29)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self._model(body, reply),
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None if refusal is not None else reply.text,
                        "refusal": refusal,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
        }
        if not isinstance(reply, OpenAIReply) or reply.usage:
            result["usage"] = self._usage(reply)
        result["service_tier"] = "default"
        result["system_fingerprint"] = "fp_" + secrets.token_hex(5)
        return result

    def _stream_lines(self, body: dict[str, Any], reply: Reply) -> list[str]:
        """The SSE events of one streamed completion, ``[DONE]`` included."""
        options = body.get("stream_options") or {}
        include_usage = options.get("include_usage") is True
        obfuscate = options.get("include_obfuscation", True) is not False
        ids = {
            "id": f"chatcmpl-{_rand(29)}",
            "created": int(time.time()),
            "model": self._model(body, reply),
            "fingerprint": "fp_" + secrets.token_hex(5),
        }
        refusal = reply.refusal if isinstance(reply, OpenAIReply) else None
        field = "refusal" if refusal is not None else "content"
        pieces = [refusal] if refusal is not None else reply.pieces()

        def chunk(delta: dict[str, Any] | None, finish: str | None = None) -> str:
            return self._chunk(
                body,
                delta,
                finish=finish,
                ids=ids,
                include_usage=include_usage,
                obfuscate=obfuscate,
            )

        lines = [chunk({"role": "assistant", "content": "", "refusal": None})]
        lines += [chunk({field: piece}) for piece in pieces if piece]
        if reply.finish_reason:  # "" leaves the finish chunk out
            lines.append(chunk({}, finish=reply.finish_reason))
        if include_usage and (not isinstance(reply, OpenAIReply) or reply.usage):
            usage_chunk = self._envelope(ids)
            usage_chunk["choices"] = []
            usage_chunk["usage"] = self._usage(reply)
            if obfuscate:
                usage_chunk["obfuscation"] = _rand(8)
            lines.append(sse(usage_chunk))
        if not isinstance(reply, OpenAIReply) or reply.done:
            lines.append("data: [DONE]\n\n")
        return lines

    @staticmethod
    def _envelope(ids: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": ids["id"],
            "object": "chat.completion.chunk",
            "created": ids["created"],
            "model": ids["model"],
            "service_tier": "default",
            "system_fingerprint": ids["fingerprint"],
        }

    def _chunk(
        self,
        body: dict[str, Any],
        delta: dict[str, Any] | None,
        *,
        finish: str | None = None,
        ids: dict[str, Any] | None = None,
        include_usage: bool = False,
        obfuscate: bool = True,
    ) -> str:
        ids = ids or {
            "id": f"chatcmpl-{_rand(29)}",
            "created": int(time.time()),
            "model": self._model(body, Reply()),
            "fingerprint": "fp_" + secrets.token_hex(5),
        }
        data = self._envelope(ids)
        data["choices"] = [
            {"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}
        ]
        if include_usage:
            data["usage"] = None
        if obfuscate:
            data["obfuscation"] = _rand(secrets.randbelow(12) + 1)
        return sse(data)


_SSE = "text/event-stream; charset=utf-8"
