"""The one entry point for "run this Task": pick the model, call the provider, price the result.

Streaming passes straight through: callers receive each ``TextDelta`` as the provider yields it,
then one ``Outcome``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

from magray_lsp.catalog import Catalog, ModelRef
from magray_lsp.cost.prices import price_usd
from magray_lsp.errors import MalformedResponse
from magray_lsp.providers.base import ChatRequest, Completion, Message, TextDelta, Usage
from magray_lsp.task import Task


@dataclass(frozen=True, slots=True)
class Outcome:
    text: str
    ref: ModelRef
    usage: Usage | None
    cost_usd: Decimal | None
    latency_ms: float
    finish_reason: str | None
    route: str  # why this model was chosen
    cached: bool = False
    fallback_from: str | None = None


GatewayEvent = TextDelta | Outcome


class Gateway:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def choose(self, task: Task) -> tuple[ModelRef, str]:
        if task.model_pin:
            return self.catalog.resolve(task.model_pin), f"pinned to {task.model_pin}"
        ref = self.catalog.default_model()
        if self.catalog.loaded.config.routing.default:
            return ref, "[routing] default"
        if ref.kind == "local":
            return ref, "no cloud provider configured: embedded local model"
        return ref, f"first configured provider ({ref.provider})"

    def request_for(self, task: Task, ref: ModelRef) -> ChatRequest:
        defaults = self.catalog.sections[ref.provider].defaults
        return ChatRequest(
            model=ref.model,
            messages=(Message("system", task.system), Message("user", task.prompt)),
            max_tokens=defaults.max_tokens or task.max_output_tokens,
            temperature=defaults.temperature,
            top_p=defaults.top_p,
        )

    async def stream(self, task: Task) -> AsyncIterator[GatewayEvent]:
        ref, why = self.choose(task)
        provider = self.catalog.provider(ref.provider)
        started = time.perf_counter()
        parts: list[str] = []
        async for event in provider.generate(self.request_for(task, ref), stream=True):
            if isinstance(event, TextDelta):
                parts.append(event.text)
                yield event
                continue
            yield self._outcome(event, ref, why, "".join(parts), started)
            return
        raise MalformedResponse("stream ended without a completion", provider=ref.provider)

    async def run(self, task: Task) -> Outcome:
        async for event in self.stream(task):
            if isinstance(event, Outcome):
                return event
        raise MalformedResponse("no outcome")  # pragma: no cover - stream() always ends with one

    def _outcome(
        self, done: Completion, ref: ModelRef, why: str, text: str, started: float
    ) -> Outcome:
        cfg = self.catalog.sections[ref.provider]
        cost = price_usd(ref.kind, ref.model, done.usage, cfg.prices) if done.usage else None
        return Outcome(
            text=text,
            ref=ref,
            usage=done.usage,
            cost_usd=cost,
            latency_ms=(time.perf_counter() - started) * 1000,
            finish_reason=done.finish_reason,
            route=why,
        )
