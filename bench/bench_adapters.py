"""Benchmark each streaming adapter against raw aiohttp reading the same stream, per chunk.

    python bench/bench_adapters.py [--requests N] [--repeat R] [--chunks C] [--quick]

For every HTTP wire protocol (OpenAI — also HuggingFace's —, Anthropic, Gemini, Ollama) its
loopback fake runs in a child process (so serving does not compete with the client for this
process's GIL) and answers every request with the same reply of C text chunks. Interleaved
request by request, so drift on a shared machine hits every variant alike:

  raw) one POST with aiohttp alone (a pooled session), the streamed body read fully
  adapter) ``Provider.generate(stream=True)``, every event consumed

The adapter's cost is the difference of medians, also per text chunk; the ratio is adapter over
raw in the same run. Per-round ranges show how steady each difference is.

Then the same streams replayed without a network, to see the adapter's own CPU per event
without the loopback's noise: each body, as the fake sent it, is cut into one piece per event
(as a model's tokens trickle in) and handed to the adapter as aiohttp's response would
(`HttpClient._send` returns a stand-in whose ``content.readany()`` gives the pieces). The
baseline reads the same pieces and does nothing with them.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from _common import (
    ROOT,
    SERVER,
    add_loop_option,
    child_fake,
    command_line,
    is_quick,
    machine,
    median,
    ms,
    reply_chunks,
    run_on_loop,
    setup_path,
    table,
    use_loop,
    write_result,
)

setup_path()

from pydantic import SecretStr  # noqa: E402

from magray_lsp.config.models import ProviderConfig  # noqa: E402
from magray_lsp.providers import create_provider  # noqa: E402
from magray_lsp.providers.base import ChatRequest, Message, Provider  # noqa: E402

API_KEY = "sk-bench"
SYSTEM = "You explain code."
PROMPT = "def add(a, b):\n    return a + b\n"

# The fake in a child process: prints its base URL, stops when stdin closes.
_FAKE = """
import sys
sys.path[:0] = [{root!r}, {server!r}]
from tests.fakes.base import Reply
from tests.fakes.{module} import {cls}
fake = {cls}()
fake.default = Reply(chunks={chunks!r}, input_tokens=120, output_tokens={n})
fake.start()
print(getattr(fake, "base_url", None) or fake.url, flush=True)
sys.stdin.read()
fake.stop()
"""


class Protocol:
    """One wire protocol: its fake, its provider section, and the raw request for the same
    stream (the body the adapter sends, written out here so the bench does not lean on the
    adapter's own code)."""

    def __init__(
        self,
        kind: str,
        fake: tuple[str, str],
        model: str,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str],
        base_suffix: str = "",
    ) -> None:
        self.kind = kind
        self.fake = fake
        self.model = model
        self.path = path
        self.body = body
        self.headers = headers
        self.base_suffix = base_suffix


def _chat_messages() -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}]


PROTOCOLS = [
    Protocol(
        "openai",
        ("openai", "FakeOpenAI"),
        "gpt-4o-mini",
        "/chat/completions",
        {
            "max_tokens": 200,
            "model": "gpt-4o-mini",
            "messages": _chat_messages(),
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        {"Authorization": f"Bearer {API_KEY}"},
    ),
    Protocol(
        "anthropic",
        ("anthropic", "FakeAnthropic"),
        "claude-3-5-haiku-latest",
        "/v1/messages",
        {
            "model": "claude-3-5-haiku-latest",
            "messages": [{"role": "user", "content": PROMPT}],
            "system": SYSTEM,
            "max_tokens": 200,
            "stream": True,
        },
        {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
    ),
    Protocol(
        "google",
        ("gemini", "FakeGemini"),
        "gemini-2.0-flash",
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
        {
            "contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
            "systemInstruction": {"parts": [{"text": SYSTEM}]},
            "generationConfig": {"maxOutputTokens": 200},
        },
        {"x-goog-api-key": API_KEY},
    ),
    Protocol(
        "ollama",
        ("ollama", "FakeOllama"),
        "llama3.1",
        "/api/chat",
        {
            "model": "llama3.1",
            "messages": _chat_messages(),
            "stream": True,
            "options": {"num_predict": 200},
        },
        {},
    ),
]


@contextlib.contextmanager
def fake_for(protocol: Protocol, chunks: int) -> Iterator[str]:
    module, cls = protocol.fake
    code = _FAKE.format(
        root=str(ROOT),
        server=str(SERVER),
        module=module,
        cls=cls,
        chunks=reply_chunks(chunks),
        n=chunks,
    )
    with child_fake(code, f"the fake {cls}") as url:
        yield url


class Pair:
    """The two variants for one protocol, against one fake."""

    def __init__(self, protocol: Protocol, base_url: str) -> None:
        self.protocol = protocol
        self.url = base_url.rstrip("/") + protocol.path
        self.session: Any = None
        cfg = ProviderConfig(
            kind=protocol.kind,
            api_key=SecretStr(API_KEY),
            base_url=base_url,
            timeout_seconds=10,
            max_concurrency=4,
        )
        self.provider: Provider = create_provider(protocol.kind, cfg)
        self.request = ChatRequest(
            protocol.model,
            (Message("system", SYSTEM), Message("user", PROMPT)),
            max_tokens=200,
        )

    async def raw(self) -> None:
        import aiohttp

        if self.session is None:  # created on the loop that uses it
            self.session = aiohttp.ClientSession(
                headers=self.protocol.headers,
                connector=aiohttp.TCPConnector(limit=16),
                timeout=aiohttp.ClientTimeout(total=10),
                trust_env=False,
            )
        async with self.session.post(self.url, json=self.protocol.body) as response:
            response.raise_for_status()
            async for _ in response.content.iter_any():
                pass

    async def adapter(self) -> None:
        async for _ in self.provider.generate(self.request, stream=True):
            pass

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
        await self.provider.aclose()


Sampler = Callable[[], Awaitable[None]]


async def measure(pair: Pair, requests: int, repeat: int) -> dict[str, list[list[float]]]:
    return await interleaved([("raw", pair.raw), ("adapter", pair.adapter)], requests, repeat, 30)


async def interleaved(
    calls: list[tuple[str, Sampler]], requests: int, repeat: int, warmup: int
) -> dict[str, list[list[float]]]:
    """Each call's durations, request by request in turn, per round (after ``warmup`` calls of
    each: connections, parsed URLs, caches)."""
    for _, fn in calls:
        for _ in range(warmup):
            await fn()
    rounds: dict[str, list[list[float]]] = {name: [] for name, _ in calls}
    clock = time.perf_counter
    for _ in range(repeat):
        samples: dict[str, list[float]] = {name: [] for name, _ in calls}
        for _ in range(requests):
            for name, fn in calls:
                start = clock()
                await fn()
                samples[name].append(clock() - start)
        for name, values in samples.items():
            rounds[name].append(values)
    return rounds


class _ReplayContent:
    """What the adapters use of aiohttp's ``StreamReader``: the recorded pieces, then b""."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = iter(pieces)
        self._eof = False
        self._callbacks: list[Callable[[], None]] = []

    async def readany(self) -> bytes:
        piece = next(self._pieces, b"")
        if not piece and not self._eof:
            self._eof = True
            for callback in self._callbacks:
                callback()
        return piece

    def is_eof(self) -> bool:
        return self._eof

    def at_eof(self) -> bool:
        return self._eof

    def on_eof(self, callback: Callable[[], None]) -> None:
        if self._eof:
            callback()
        else:
            self._callbacks.append(callback)

    def exception(self) -> None:
        return None


class _ReplayResponse:
    """What the adapters use of ``aiohttp.ClientResponse``."""

    status = 200
    content_length = None

    def __init__(self, pieces: list[bytes], headers: Any) -> None:
        self.headers = headers
        self.content = _ReplayContent(pieces)
        self.closed = False

    def release(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


def _events(body: bytes, kind: str) -> list[bytes]:
    """``body`` cut after each event (SSE: a blank line; NDJSON: a newline)."""
    end = b"\n" if kind == "ollama" else b"\n\n"
    parts = body.split(end)
    pieces = [p + end for p in parts[:-1]]
    return pieces + ([parts[-1]] if parts[-1] else [])


async def replay(pair: Pair, requests: int, repeat: int) -> dict[str, list[list[float]]]:
    """Both variants on the recorded stream, no network (see the module's docstring)."""
    from magray_lsp.providers._http import HttpClient

    async with pair.session.post(pair.url, json=pair.protocol.body) as response:
        body = await response.read()
        headers = response.headers
    pieces = _events(body, pair.protocol.kind)

    async def send(*_args: Any, **_kwargs: Any) -> Any:
        return _ReplayResponse(pieces, headers)

    async def raw() -> None:
        content = _ReplayContent(pieces)
        while await content.readany():
            pass

    original = HttpClient._send
    HttpClient._send = send  # type: ignore[method-assign]
    try:
        rounds = await interleaved([("raw", raw), ("adapter", pair.adapter)], requests, repeat, 100)
    finally:
        HttpClient._send = original  # type: ignore[method-assign]
    rounds["events"] = [[float(len(pieces))]]
    return rounds


def _row(kind: str, rounds: dict[str, list[list[float]]], per: float) -> tuple[str, ...]:
    raw = median([s for r in rounds["raw"] for s in r])
    adapter = median([s for r in rounds["adapter"] for s in r])
    diffs = [median(a) - median(r) for a, r in zip(rounds["adapter"], rounds["raw"], strict=True)]
    added = adapter - raw
    return (
        kind,
        ms(raw),
        ms(adapter),
        f"{adapter / raw:.2f}×",
        ms(added),
        f"{ms(min(diffs))} … {ms(max(diffs))}",
        f"{added / per * 1e6:.1f}",
    )


async def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    rows = []
    replayed = []
    data: dict[str, Any] = {"args": vars(args), "protocols": {}}
    for protocol in PROTOCOLS:
        with fake_for(protocol, args.chunks) as url:
            pair = Pair(protocol, url + protocol.base_suffix)
            try:
                rounds = await measure(pair, args.requests, args.repeat)
                offline = await replay(pair, args.requests * 4, args.repeat)
            finally:
                await pair.aclose()
        events = offline.pop("events")[0][0]
        replayed.append(_row(protocol.kind, offline, events))
        data["protocols"][protocol.kind + "_replayed"] = {
            "raw_p50_s": median([s for r in offline["raw"] for s in r]),
            "adapter_p50_s": median([s for r in offline["adapter"] for s in r]),
            "events": events,
        }
        raw = median([s for r in rounds["raw"] for s in r])
        adapter = median([s for r in rounds["adapter"] for s in r])
        diffs = [
            median(a) - median(r) for a, r in zip(rounds["adapter"], rounds["raw"], strict=True)
        ]
        added = adapter - raw
        rows.append(
            (
                protocol.kind,
                ms(raw),
                ms(adapter),
                f"{adapter / raw:.2f}×",
                ms(added),
                f"{ms(min(diffs))} … {ms(max(diffs))}",
                f"{added / args.chunks * 1e6:.1f}",
            )
        )
        data["protocols"][protocol.kind] = {"raw_p50_s": raw, "adapter_p50_s": adapter}
    elapsed = time.perf_counter() - started
    out = [
        f"Machine: {machine()}",
        "",
        f"Command: `{command_line()}` (took {elapsed:.0f} s)",
        "",
        f"{args.requests} sequential requests × {args.repeat} rounds per variant, interleaved "
        f"request by request; every reply is {args.chunks} text chunks plus the protocol's "
        "own start/usage/end events, from the protocol's loopback fake in a child process.",
        "",
        table(
            [
                "adapter",
                "raw aiohttp p50 ms",
                "adapter p50 ms",
                "× raw",
                "added ms",
                "per-round range ms",
                "µs per chunk",
            ],
            rows,
            "lrrrrrr",
        ),
        "",
        f"Replayed without a network ({args.requests * 4} × {args.repeat} per variant): each "
        "body cut into one piece per event, the adapter's CPU alone; the last column is per "
        "event (text chunks and the protocol's other events alike).",
        "",
        table(
            [
                "adapter",
                "pieces read p50 ms",
                "adapter p50 ms",
                "× read",
                "added ms",
                "per-round range ms",
                "µs per event",
            ],
            replayed,
            "lrrrrrr",
        ),
    ]
    return "\n".join(out), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per round and variant")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--chunks", type=int, default=20, help="text chunks per reply")
    parser.add_argument("--quick", action="store_true", help="a few requests (smoke test)")
    add_loop_option(parser)
    args = parser.parse_args()
    use_loop(args.loop)
    args.quick = args.quick or is_quick()
    if args.quick:
        args.requests, args.repeat = 10, 1
    md, data = run_on_loop(run(args))
    body = "### Streaming adapters against raw aiohttp (bench_adapters.py)\n\n" + md
    path = write_result("adapters", body, data)
    print(body)
    print(f"\n(written to {path})")


if __name__ == "__main__":
    main()
