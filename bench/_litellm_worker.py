"""LiteLLM's side of the comparison benchmarks; runs in its own venv (bench/.venv-litellm).

It never imports magray_lsp. The orchestrator (bench/_compare.py) starts it, sends one JSON
command per line on stdin and reads one JSON answer per line on stdout:

    {"op": "setup", "primary": URL, "secondary": URL, "cache": bool, "cooldown": bool}
    {"op": "one", "stream": bool}                 → {"seconds": s, "model": m}
    {"op": "latency", "n": N, "stream": bool}     → {"seconds": [s, ...]}
    {"op": "throughput", "n": N, "concurrency": C, "stream": bool}
        → {"seconds": s, "cpu": process CPU seconds, "errors": e}
    {"op": "run_for", "seconds": S, "stream": bool} → {"requests": [[t0, latency, model, err]]}
    {"op": "quit"}

The Router mirrors magray's defaults: two deployments (primary → fallback secondary), 2 retries
after the first attempt on the same deployment (magray: ``retry.max_attempts = 3``), a 10 s
timeout, and, with ``cooldown``, a deployment cooled down after 5 failures for 10 s (magray's
breaker: 5 consecutive failures, 10 s). No network: LITELLM_LOCAL_MODEL_COST_MAP=True and
telemetry off.
"""

from __future__ import annotations

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ.setdefault("LITELLM_TELEMETRY", "False")
os.environ.setdefault("LITELLM_LOG", "ERROR")

import asyncio
import json
import sys
import time
from typing import Any

import litellm  # type: ignore[import-not-found]
from litellm import Router

litellm.telemetry = False
litellm.suppress_debug_info = True
MESSAGES = [
    {"role": "system", "content": "You explain code."},
    {"role": "user", "content": "def add(a, b):\n    return a + b\n"},
]


class Side:
    def __init__(self) -> None:
        self.router: Any = None
        self.cache = False
        self.counter = 0

    def setup(self, cmd: dict[str, Any]) -> dict[str, Any]:
        def deployment(name: str, model: str, url: str) -> dict[str, Any]:
            return {
                "model_name": name,
                "litellm_params": {
                    "model": f"openai/{model}",
                    "api_base": url,
                    "api_key": "sk-bench",
                    "timeout": 10,
                },
            }

        self.cache = bool(cmd.get("cache"))
        litellm.cache = litellm.Cache(type="local") if self.cache else None
        extra: dict[str, Any] = (
            {"allowed_fails": 5, "cooldown_time": 10}
            if cmd.get("cooldown", True)
            else {"disable_cooldowns": True}
        )
        self.router = Router(
            model_list=[
                deployment("primary", "gpt-4o-mini", cmd["primary"]),
                deployment("secondary", "gpt-4o", cmd["secondary"]),
            ],
            fallbacks=[{"primary": ["secondary"]}],
            num_retries=2,
            timeout=10,
            cache_responses=self.cache,
            **extra,
        )
        return {"ok": True, "version": _version()}

    async def request(self, stream: bool) -> str:
        """One chat completion through the Router; the model that answered."""
        if self.cache:
            messages = MESSAGES  # the same request every time: hits after the first
        else:  # a unique prompt, so no layer can answer from memory
            self.counter += 1
            messages = [MESSAGES[0], {"role": "user", "content": f"{self.counter} {MESSAGES[1]}"}]
        response = await self.router.acompletion(
            model="primary",
            messages=messages,
            max_tokens=200,
            stream=stream,
            caching=self.cache,
        )
        if not stream:
            return str(response.model)
        model = ""
        async for chunk in response:
            model = model or str(getattr(chunk, "model", "") or "")
        return model

    async def one(self, cmd: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        model = await self.request(bool(cmd.get("stream")))
        return {"seconds": time.perf_counter() - start, "model": model}

    async def latency(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """``n`` sequential requests: each one's latency in seconds."""
        stream, out = bool(cmd.get("stream")), []
        for _ in range(int(cmd["n"])):
            start = time.perf_counter()
            await self.request(stream)
            out.append(time.perf_counter() - start)
        return {"seconds": out}

    async def throughput(self, cmd: dict[str, Any]) -> dict[str, Any]:
        n, concurrency, stream = int(cmd["n"]), int(cmd["concurrency"]), bool(cmd.get("stream"))
        left = n
        errors = 0

        async def worker() -> None:
            nonlocal left, errors
            while left > 0:
                left -= 1
                try:
                    await self.request(stream)
                except Exception:
                    errors += 1

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return {
            "seconds": time.perf_counter() - start,
            "cpu": time.process_time() - cpu,
            "errors": errors,
        }

    async def run_for(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Back-to-back requests for ``seconds``: (monotonic start, latency, model, error)."""
        until = time.monotonic() + float(cmd["seconds"])
        out: list[list[Any]] = []
        while time.monotonic() < until:
            t0 = time.monotonic()
            try:
                model, err = await self.request(bool(cmd.get("stream"))), ""
            except Exception as exc:
                model, err = "", type(exc).__name__
            out.append([t0, time.monotonic() - t0, model, err])
        return {"requests": out}


def _version() -> str:
    from importlib.metadata import version

    return version("litellm")


async def main() -> None:
    side = Side()
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "quit":
            break
        try:
            if op == "setup":
                answer = side.setup(cmd)
            else:
                answer = await getattr(side, op)(cmd)
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
