"""The hard budget against what a provider really bills: 3 processes, 60 requests in flight,
half of them cancelled mid-stream, every answer using more tokens than the estimate assumed.

The fake bills like a provider: a completed answer at the usage it reports (the whole prompt,
about ten times the router's estimate, and every one of the `max_tokens` it was sent); a stream
the client walked away from at the prompt plus the text it had sent. It counts tokens with the
project's estimator (`context/tokens.py`), the only tokenizer both sides share here, so the
client's estimate of a cancelled call can be checked to the pico-dollar; against a real provider
that estimate is off by the estimator's error (a few percent, 30 % for the worst file measured).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.unit.gateway._spend_worker import task

from magray_lsp.catalog import ModelRef
from magray_lsp.config.models import BudgetConfig, ProviderConfig
from magray_lsp.context.tokens import estimate_tokens
from magray_lsp.cost.ledger import Ledger
from magray_lsp.providers.base import ChatRequest, Message
from magray_lsp.routing.pricing import charged_cost, most_usage

WORKER = Path(__file__).with_name("_spend_worker.py")
PER_IN, PER_OUT = Decimal(1), Decimal(2)  # USD per million tokens
LIMIT = Decimal("0.03")
PROCESSES, PER_PROCESS = 3, 20
SSE = "text/event-stream; charset=utf-8"


class BillingFake(FakeOpenAI):
    """OpenAI's streaming wire format; every request billed as a provider would."""

    def __init__(self) -> None:
        super().__init__()
        self.bills: list[tuple[str, int, int]] = []  # (how it ended, input, output tokens)
        self._bill_lock = threading.Lock()

    def bill(self, how: str, input_tokens: int, output_tokens: int) -> None:
        with self._bill_lock:
            self.bills.append((how, input_tokens, output_tokens))

    def billed_usd(self) -> Decimal:
        return sum(
            (Decimal(i) * PER_IN + Decimal(o) * PER_OUT for _, i, o in self.bills), Decimal(0)
        ) / Decimal(1_000_000)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        prompt = "".join(m["content"] for m in body["messages"])
        input_tokens = estimate_tokens(prompt, "python")
        words = " ".join(f"word{i}" for i in range(40))
        if "CANCEL-ME" not in prompt:
            # the model used every token it was allowed: more than the estimate, never more
            reply = Reply(text=words, input_tokens=input_tokens, output_tokens=body["max_tokens"])
            self.bill("completed", input_tokens, body["max_tokens"])
            return await self.stream_lines(
                request, self._stream_lines(body, reply), content_type=SSE
            )
        # three chunks, then the model keeps "thinking" until the client walks away
        reply = Reply(text=words)
        lines = self._stream_lines(body, reply)[:4]  # the role chunk and three text chunks
        sent = "".join(reply.pieces()[:3])
        resp = web.StreamResponse(status=200, headers={"Content-Type": SSE})
        await resp.prepare(request)
        try:
            for line in lines:
                await resp.write(line.encode())
            for _ in range(3000):
                if request.transport is None or request.transport.is_closing():
                    break
                await asyncio.sleep(0.01)
        finally:
            self.bill("disconnected", input_tokens, estimate_tokens(sent, "python"))
        return resp


@pytest.fixture
def fake() -> Iterator[BillingFake]:
    with BillingFake() as server:
        yield server


def settings(fake: BillingFake) -> dict[str, Any]:
    return {
        "llm": {
            "openai": {
                "api_key": "sk-spend",
                "base_url": fake.base_url,
                "timeout_seconds": 30,
                "max_concurrency": 64,
                "models": {"default": "gpt-4o-mini"},
                "prices": {
                    "gpt-4o-mini": {"input_per_mtok": str(PER_IN), "output_per_mtok": str(PER_OUT)}
                },
            },
            "local": {"enabled": False},
        },
        "routing": {"default": "openai.default"},
        "retry": {"max_attempts": 1, "deadline_seconds": 60},
        "budget": {"monthly_usd": str(LIMIT)},
    }


def most_one_request_costs() -> Decimal:
    """The most any one of the workers' requests can cost: what each of them reserves."""
    t = task("w0-r00", cancel=True)  # the longest name: the largest prompt
    request = ChatRequest(
        "gpt-4o-mini", (Message("system", t.system), Message("user", t.prompt)), max_tokens=60
    )
    prices = {"gpt-4o-mini": {"input_per_mtok": PER_IN, "output_per_mtok": PER_OUT}}
    most, _ = charged_cost(
        ModelRef("openai", "openai", "gpt-4o-mini"),
        ProviderConfig.model_validate({"prices": prices}),
        most_usage(request, t),
        local=True,
        budget=BudgetConfig(monthly_usd=LIMIT),
    )
    assert most is not None
    return most


def test_three_processes_sixty_requests_half_cancelled_spend_what_was_billed(
    fake: BillingFake, tmp_path: Path
) -> None:
    config = tmp_path / "settings.json"
    config.write_text(json.dumps(settings(fake)))
    ledger_path, go = tmp_path / "ledger.sqlite3", tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(config), str(ledger_path), str(go), str(seed),
             str(PER_PROCESS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(PROCESSES)
    ]  # fmt: skip
    go.touch()
    results = []
    for proc in workers:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    totals = {k: sum(r[k] for r in results) for k in ("ok", "cancelled", "refused")}
    assert [r["errors"] for r in results] == [[]] * PROCESSES
    assert sum(totals.values()) == PROCESSES * PER_PROCESS

    with Ledger(ledger_path) as ledger:
        spent = ledger.month_spend()
        rows = ledger.recent(1000)
        reservations = ledger.read("SELECT COUNT(*) FROM reservations")[0][0]
    # every dollar the provider billed is in the month, and nothing else
    assert spent == fake.billed_usd() > 0
    cancelled = [r for r in rows if r.outcome == "cancelled"]
    completed = [r for r in rows if r.outcome == "ok"]
    assert len(cancelled) == totals["cancelled"] == sum(b[0] == "disconnected" for b in fake.bills)
    assert len(completed) == totals["ok"] == sum(b[0] == "completed" for b in fake.bills)
    assert all(r.tokens_estimated and r.cost_usd for r in cancelled)
    # usage above the estimate: every completed answer cost several times what was estimated
    assert all(
        r.cost_usd is not None and r.estimated_usd is not None and r.cost_usd > 3 * r.estimated_usd
        for r in completed
    )
    # the limit is passed by at most one request's maximum cost (here: not at all) ...
    most = most_one_request_costs()
    assert spent <= LIMIT + most
    # ... and it was reached: requests were refused
    assert totals["refused"] > 0 and totals["cancelled"] > 0 and totals["ok"] > 0
    assert reservations == 0
    print(
        f"\nspend: {totals} · billed ${fake.billed_usd()} = month ${spent} · limit ${LIMIT} · "
        f"overshoot ${max(spent - LIMIT, Decimal(0))} (one request at most ${most})"
    )
