"""The headless pipeline behind `magray-lsp explain|document|refactor FILE:LINE[:COL]`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from magray_lsp.actions.explain import explain_task
from magray_lsp.actions.source import parse_location
from magray_lsp.catalog import Catalog
from magray_lsp.cli import dump, find_workspace
from magray_lsp.config.loader import load_config
from magray_lsp.cost.prices import format_usd, price_usd
from magray_lsp.gateway import Gateway, Outcome
from magray_lsp.providers.base import TextDelta, Usage


def summary_line(outcome: Outcome) -> str:
    usage = outcome.usage
    tokens = f"{usage.input_tokens}→{usage.output_tokens} tokens" if usage else "tokens unknown"
    fallback = f" · fell back from {outcome.fallback_from}" if outcome.fallback_from else ""
    cached = " · cached" if outcome.cached else ""
    return (
        f"── {outcome.ref.provider} · {outcome.ref.model} · {tokens} · "
        f"{format_usd(outcome.cost_usd)} · {outcome.latency_ms / 1000:.1f} s{cached}{fallback}"
    )


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    usage = outcome.usage
    return {
        "text": outcome.text,
        "provider": outcome.ref.provider,
        "model": outcome.ref.model,
        "route": outcome.route,
        "inputTokens": usage.input_tokens if usage else None,
        "outputTokens": usage.output_tokens if usage else None,
        "costUsd": str(outcome.cost_usd) if outcome.cost_usd is not None else None,
        "latencyMs": round(outcome.latency_ms, 1),
        "finishReason": outcome.finish_reason,
        "cached": outcome.cached,
        "fallbackFrom": outcome.fallback_from,
    }


async def run_action(args: argparse.Namespace) -> int:
    location = parse_location(args.location)
    workspace = args.workspace or find_workspace(location.path)
    loaded = load_config(workspace=workspace, extra_files=args.config)
    catalog = Catalog(loaded)
    gateway = Gateway(catalog)
    task = explain_task(location, model_pin=args.model)
    try:
        if args.dry_run:
            ref, why = gateway.choose(task)
            estimate = price_usd(
                ref.kind, ref.model, Usage(task.context_tokens, task.max_output_tokens),
                catalog.sections[ref.provider].prices,
            )
            plan = {"provider": ref.provider, "model": ref.model, "why": why,
                    "contextTokens": task.context_tokens, "maxOutputTokens": task.max_output_tokens,
                    "estimatedCostUsd": str(estimate) if estimate is not None else None}
            print(dump(plan) if args.json else
                  f"would use {ref.provider} · {ref.model} ({why}); ~{task.context_tokens} tokens in, "
                  f"≤{task.max_output_tokens} out, ≤{format_usd(estimate)}")
            return 0
        outcome: Outcome | None = None
        async for event in gateway.stream(task):
            if isinstance(event, TextDelta):
                if not args.json:
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
            else:
                outcome = event
        assert outcome is not None
        if args.json:
            print(dump(outcome_json(outcome)))
        else:
            print("\n\n" + summary_line(outcome))
        return 0
    finally:
        await catalog.aclose()
