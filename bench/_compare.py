"""What the magray-vs-LiteLLM benchmarks share: the fakes, the LiteLLM worker, magray's gateway.

Three processes take part, so that no client competes with a server (or with the other client)
for one GIL: the fakes (`_fake_server.py`), LiteLLM's Router (`_litellm_worker.py`, in its own
venv because litellm's dependencies must not touch the project's pins) and this one, which runs
magray's gateway and the raw-httpx baseline itself and drives the other two over pipes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _common import ROOT, setup_path, stop_child

setup_path()

import httpx  # noqa: E402

from magray_lsp.catalog import Catalog  # noqa: E402
from magray_lsp.config.loader import load_config  # noqa: E402
from magray_lsp.config.models import CacheConfig  # noqa: E402
from magray_lsp.cost.ledger import Ledger  # noqa: E402
from magray_lsp.gateway import Gateway, Outcome  # noqa: E402
from magray_lsp.resilience.health import HealthBoard  # noqa: E402
from magray_lsp.task import Task  # noqa: E402

LITELLM_VENV = ROOT / "bench" / ".venv-litellm"
LITELLM_VERSION = "1.110.2"
API_KEY = "sk-bench"
SYSTEM = "You explain code."
PROMPT = "def add(a, b):\n    return a + b\n"
#: the models the two fakes report (see _fake_server.py)
PRIMARY_MODEL, SECONDARY_MODEL = "gpt-4o-mini", "gpt-4o"


class Fakes:
    """The fake primary and secondary providers in a child process."""

    def __init__(self, latency: float, chunks: int) -> None:
        self.latency = latency
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "_fake_server.py"),
                f"--latency={latency}",
                f"--chunks={chunks}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.urls: dict[str, str] = self._read()

    def _read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake providers did not start")
        return json.loads(line)

    def command(self, text: str) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self._read()

    def fail(self, name: str, seconds: float) -> float:
        """``name`` fails every request for ``seconds``; returns when (monotonic) it recovers."""
        self.command(f"fail {name} {seconds}")
        return time.monotonic() + seconds

    def close(self) -> None:
        stop_child(self.proc)

    def __enter__(self) -> Fakes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def litellm_python() -> Path:
    """The LiteLLM venv's interpreter; created on first use (``make bench`` does it too)."""
    python = LITELLM_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import fastapi, orjson, soundfile, importlib.metadata as m; "
            "print(m.version('litellm'))",
        ],
        capture_output=True,
        text=True,
    )
    if probe.stdout.strip() != LITELLM_VERSION:
        # the in-memory cache path imports these, though litellm does not depend on them
        packages = [
            f"litellm=={LITELLM_VERSION}",
            "fastapi==0.165.0",
            "orjson==3.13.0",
            "soundfile==0.14.0",
        ]
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return python


class LiteLLM:
    """LiteLLM's Router in its own venv and process, driven by JSON lines."""

    def __init__(self) -> None:
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False"}
        self.proc = subprocess.Popen(
            [str(litellm_python()), str(ROOT / "bench" / "_litellm_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.version = ""

    def ask(self, op: str, **args: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the LiteLLM worker died during {op}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"LiteLLM worker, {op}: {answer['error']}")
        return answer

    def setup(self, fakes: Fakes, *, cache: bool, cooldown: bool = True) -> None:
        answer = self.ask(
            "setup",
            primary=fakes.urls["primary"],
            secondary=fakes.urls["secondary"],
            cache=cache,
            cooldown=cooldown,
        )
        self.version = answer["version"]

    def close(self) -> None:
        stop_child(self.proc)

    def __enter__(self) -> LiteLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def settings(fakes: Fakes, concurrency: int = 64) -> dict[str, Any]:
    """Two OpenAI-compatible sections, primary then secondary for every action; magray's
    default retry policy (3 attempts per model, exponential backoff from 0.5 s)."""

    def section(url: str, model: str) -> dict[str, Any]:
        return {
            "kind": "openai",
            "api_key": API_KEY,
            "base_url": url,
            "timeout_seconds": 10,
            "models": {"default": model},
            "prices": {model: {"input_per_mtok": "1", "output_per_mtok": "2"}},
            "max_concurrency": concurrency,
        }

    order = ["primary.default", "secondary.default"]
    return {
        "llm": {
            "primary": section(fakes.urls["primary"], PRIMARY_MODEL),
            "secondary": section(fakes.urls["secondary"], SECONDARY_MODEL),
            "local": {"enabled": False},
        },
        "routing": {
            "default": "primary.default",
            "rules": {action: order for action in ("explain", "document", "refactor")},
        },
    }


def make_gateway(
    fakes: Fakes,
    tmp: Path,
    *,
    cache: bool = False,
    breaker: bool = True,
    concurrency: int = 64,
) -> Gateway:
    loaded = load_config(settings=settings(fakes, concurrency), env={}, include_user=False)
    health = HealthBoard() if breaker else HealthBoard(breaker_threshold=10**9)
    name = uuid.uuid4().hex[:8]
    from magray_lsp.cache import ResponseCache

    return Gateway(
        Catalog(loaded),
        ledger=Ledger(tmp / f"ledger-{name}.sqlite3"),
        cache=ResponseCache(CacheConfig(dir=str(tmp / f"cache-{name}"))) if cache else None,
        health=health,
        workspace="bench",
    )


def task(key: str = "") -> Task:
    """An explain task; with ``key`` the cache can answer it (the same key: a hit)."""
    return Task(
        action="explain",
        system=SYSTEM,
        prompt=PROMPT,
        language="python",
        unit="add",
        context_tokens=120,
        max_output_tokens=200,
        cache_key=key,
        source_path="bench.py",
    )


async def magray_request(gateway: Gateway, *, stream: bool, key: str = "") -> Outcome:
    """One request through the gateway: ``run`` (the outcome only) or ``stream`` (every delta)."""
    if not stream:
        return await gateway.run(task(key))
    outcome = None
    async for event in gateway.stream(task(key)):
        if isinstance(event, Outcome):
            outcome = event
    assert outcome is not None
    return outcome


def chat_body(counter: int, *, stream: bool) -> dict[str, Any]:
    """The raw clients' request: the prompt numbered, so no cache anywhere can answer it."""
    body: dict[str, Any] = {
        "model": PRIMARY_MODEL,
        "max_tokens": 200,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"{counter} {PROMPT}"},
        ],
    }
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


class Raw:
    """The baseline: one POST with httpx over the aiohttp transport (what magray's providers and
    LiteLLM 1.110 both use by default), a pooled client, the body read fully."""

    def __init__(self, base_url: str) -> None:
        from httpx_aiohttp import AiohttpTransport

        self.client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
            transport=AiohttpTransport(
                limits=httpx.Limits(max_connections=1000, max_keepalive_connections=1000),
                trust_env=False,
            ),
            trust_env=False,
        )
        self.counter = 0

    async def request(self, *, stream: bool) -> None:
        self.counter += 1
        await self.post(chat_body(self.counter, stream=stream))

    async def post(self, body: dict[str, Any]) -> None:
        """One POST of ``body``, the response read fully."""
        async with self.client.stream("POST", "/chat/completions", json=body) as response:
            response.raise_for_status()
            async for _ in response.aiter_bytes():
                pass

    async def aclose(self) -> None:
        await self.client.aclose()


class RawAiohttp:
    """The floor under both: the same POST with aiohttp alone (the transport under httpx here),
    a pooled session, the body read fully."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session: Any = None
        self.counter = 0

    async def request(self, *, stream: bool) -> None:
        self.counter += 1
        await self.post(chat_body(self.counter, stream=stream))

    async def post(self, body: dict[str, Any]) -> None:
        """One POST of ``body``, the response read fully."""
        import aiohttp

        if self.session is None:  # created on the loop that uses it
            self.session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {API_KEY}"},
                connector=aiohttp.TCPConnector(limit=1000),
                timeout=aiohttp.ClientTimeout(total=10),
                trust_env=False,
            )
        async with self.session.post(f"{self.base_url}/chat/completions", json=body) as response:
            response.raise_for_status()
            async for _ in response.content.iter_any():
                pass

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()


def temp_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="magray-bench-")
