"""A loopback Ollama server speaking the native API (``/api/chat``, ``/api/tags``, ``/api/show``).

Wire format as Ollama sends it: ``/api/chat`` streams NDJSON (one JSON object per line, the last one
with ``"done": true``, ``done_reason`` and the token counts); ``"stream": false`` gets one object.
Errors are ``{"error": "..."}`` with the HTTP status, or a ``{"error": ...}`` line mid-stream.
Requests for a model that is not in ``models`` get Ollama's 404.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
)

NDJSON = "application/x-ndjson"
CONTEXT_TOO_LONG_MESSAGE = "the input length exceeds the context length"


@dataclass
class StreamError:
    """Stream ``after`` chunks of ``reply``, then an ``{"error": message}`` line, then end (200)."""

    message: str = "an error was encountered while running the model: unexpected EOF"
    after: int = 1
    reply: Reply = field(default_factory=Reply)


OllamaBehaviour = Behaviour | StreamError


@dataclass
class FakeModel:
    """One installed model as ``/api/tags`` and ``/api/show`` describe it."""

    name: str
    family: str = "llama"
    parameter_size: str = "8.0B"
    quantization_level: str = "Q4_K_M"
    context_length: int | None = 131072
    num_ctx: int | None = None  # a ``PARAMETER num_ctx`` line in the Modelfile
    size: int = 4920753328
    digest: str = "46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e"

    def __post_init__(self) -> None:
        if ":" not in self.name:
            self.name += ":latest"

    def details(self) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }


def _now() -> str:
    # Ollama prints nanoseconds; pydantic (the SDK) and our adapter both accept it.
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


class FakeOllama(FakeServer):
    """``FakeOllama(models=["llama3.1", FakeModel("codellama", context_length=16384)])``."""

    name = "ollama"

    def __init__(self, models: list[str | FakeModel] | None = None) -> None:
        super().__init__()
        self.default: OllamaBehaviour = Reply()
        names = models if models is not None else ["llama3.1", "codellama:7b", "mixtral:8x7b"]
        self.models: list[FakeModel] = [
            m if isinstance(m, FakeModel) else FakeModel(m) for m in names
        ]
        self.version = "0.12.6"

    # scripting also takes StreamError
    def script(self, *behaviours: OllamaBehaviour) -> None:
        super().script(*behaviours)

    def find_model(self, name: str) -> FakeModel | None:
        wanted = name if ":" in name else name + ":latest"
        return next((m for m in self.models if m.name == wanted), None)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._root)
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_post("/api/show", self._show)
        app.router.add_post("/api/chat", self._chat)

    # ------------------------------------------------------------ simple endpoints

    async def _root(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="Ollama is running")

    async def _version(self, request: web.Request) -> web.StreamResponse:
        return self.json_response({"version": self.version})

    async def _tags(self, request: web.Request) -> web.StreamResponse:
        models = [
            {
                "name": m.name,
                "model": m.name,
                "modified_at": "2025-07-24T10:04:45.123456789-07:00",
                "size": m.size,
                "digest": m.digest,
                "details": m.details(),
            }
            for m in self.models
        ]
        return self.json_response({"models": models})

    async def _show(self, request: web.Request) -> web.StreamResponse:
        body = await self._json_body(request)
        if body is None:
            return self._error(400, "invalid request body")
        name = body.get("model") or body.get("name") or ""
        model = self.find_model(str(name))
        if model is None:
            return self._error(404, f"model '{name}' not found")
        params = [
            'stop                           "<|start_header_id|>"',
            'stop                           "<|end_header_id|>"',
            'stop                           "<|eot_id|>"',
        ]
        if model.num_ctx is not None:
            params.insert(0, f"num_ctx                        {model.num_ctx}")
        arch = model.family
        info: dict[str, Any] = {
            "general.architecture": arch,
            "general.file_type": 15,
            "general.parameter_count": 8030261248,
            "general.quantization_version": 2,
            f"{arch}.attention.head_count": 32,
            f"{arch}.attention.head_count_kv": 8,
            f"{arch}.block_count": 32,
            f"{arch}.embedding_length": 4096,
            f"{arch}.vocab_size": 128256,
        }
        if model.context_length is not None:
            info[f"{arch}.context_length"] = model.context_length
        template = "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}"
        modelfile = (
            '# Modelfile generated by "ollama show"\n'
            f"FROM /root/.ollama/models/blobs/sha256-{model.digest}\n"
            f'TEMPLATE """{template}"""\n' + "".join(f"PARAMETER {p}\n" for p in params)
        )
        return self.json_response(
            {
                "license": "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT",
                "modelfile": modelfile,
                "parameters": "\n".join(params),
                "template": template,
                "details": model.details(),
                "model_info": info,
                "capabilities": ["completion", "tools"],
                "modified_at": "2025-07-24T10:04:45.123456789-07:00",
            }
        )

    # ------------------------------------------------------------ chat

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._json_body(request)
        if body is None:
            return self._error(400, "invalid character 'x' looking for beginning of value")
        name = body.get("model")
        if not isinstance(name, str) or not name:
            return self._error(400, "model is required")
        if self.find_model(name) is None:
            return self._error(404, f'model "{name}" not found, try pulling it first')
        stream = body.get("stream", True) is not False
        behaviour: OllamaBehaviour = self.next_behaviour()

        if isinstance(behaviour, Reply):
            if behaviour.delay:
                await asyncio.sleep(behaviour.delay)
            if not stream:
                return self.json_response(self._final(name, behaviour, behaviour.text))
            return await self.stream_lines(
                request,
                self._lines(name, behaviour),
                content_type=NDJSON,
                chunk_delay=behaviour.chunk_delay,
            )
        if isinstance(behaviour, Status):
            payload = behaviour.body if behaviour.body is not None else {"error": behaviour.message}
            return self.json_response(payload, behaviour.code, behaviour.headers)
        if isinstance(behaviour, Hang):
            await asyncio.sleep(behaviour.seconds)
            return self._error(500, "hang is over")
        if isinstance(behaviour, Malformed):
            if not stream:
                return web.Response(body=behaviour.body.encode(), content_type="application/json")
            first = self._chunk(name, Reply().pieces()[0])
            return await self.stream_lines(
                request, [first, behaviour.body + "\n"], content_type=NDJSON
            )
        if isinstance(behaviour, CutStream):
            if not stream:
                text = json.dumps(self._final(name, behaviour.reply, behaviour.reply.text))
                return await self.stream_lines(
                    request,
                    [text[: len(text) // 2], text[len(text) // 2 :]],
                    content_type="application/json; charset=utf-8",
                    cut_after=1,
                )
            return await self.stream_lines(
                request,
                self._lines(name, behaviour.reply),
                content_type=NDJSON,
                cut_after=behaviour.after,
                chunk_delay=behaviour.reply.chunk_delay,
            )
        if isinstance(behaviour, ContextTooLong):
            return self._error(400, CONTEXT_TOO_LONG_MESSAGE)
        if isinstance(behaviour, StreamError):
            if not stream:
                return self._error(500, behaviour.message)
            pieces = behaviour.reply.pieces()[: behaviour.after]
            lines = [self._chunk(name, p) for p in pieces]
            lines.append(json.dumps({"error": behaviour.message}) + "\n")
            return await self.stream_lines(request, lines, content_type=NDJSON)
        if isinstance(behaviour, Drop):
            return await self.drop(request)
        raise AssertionError(f"unknown behaviour {behaviour!r}")

    # ------------------------------------------------------------ rendering

    def _chunk(self, model: str, text: str) -> str:
        line = {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": text},
            "done": False,
        }
        return json.dumps(line) + "\n"

    def _final(self, model: str, reply: Reply, text: str) -> dict[str, Any]:
        return {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": text},
            "done_reason": reply.finish_reason,
            "done": True,
            "total_duration": 4883583458,
            "load_duration": 1334875,
            "prompt_eval_count": reply.input_tokens,
            "prompt_eval_duration": 342546000,
            "eval_count": reply.output_tokens,
            "eval_duration": 4535599000,
        }

    def _lines(self, model: str, reply: Reply) -> list[str]:
        lines = [self._chunk(model, piece) for piece in reply.pieces()]
        lines.append(json.dumps(self._final(model, reply, "")) + "\n")
        return lines

    def _error(self, status: int, message: str) -> web.Response:
        return self.json_response({"error": message}, status)

    @staticmethod
    async def _json_body(request: web.Request) -> dict[str, Any] | None:
        try:
            body = json.loads(await request.read() or b"null")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None
