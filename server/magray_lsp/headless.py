"""The headless pipeline behind `magray-lsp explain|document|refactor FILE:LINE[:COL]`."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from magray_lsp.actions.perform import run_action
from magray_lsp.actions.source import parse_location
from magray_lsp.actions.target import target_from_location
from magray_lsp.actions.tasks import MAX_OUTPUT_TOKENS, prepare
from magray_lsp.catalog import Catalog
from magray_lsp.cli_common import dump, find_workspace
from magray_lsp.config.loader import load_config
from magray_lsp.cost.ledger import Ledger, default_ledger_path
from magray_lsp.cost.prices import format_usd
from magray_lsp.gateway import Fallback, Gateway, GatewayEvent, Outcome
from magray_lsp.privacy.policy import is_private
from magray_lsp.providers.base import TextDelta
from magray_lsp.routing.router import Plan
from magray_lsp.task import Task


def summary_line(outcome: Outcome) -> str:
    usage = outcome.usage
    tokens = f"{usage.input_tokens}→{usage.output_tokens} tokens" if usage else "tokens unknown"
    fallback = f" · fell back from {outcome.fallback_from}" if outcome.fallback_from else ""
    cached = " · cached" if outcome.cached else (" · shared" if outcome.coalesced else "")
    month = ""
    if outcome.month_usd is not None:
        limit = f"/{format_usd(outcome.budget_usd)}" if outcome.budget_usd is not None else ""
        month = f" · month {format_usd(outcome.month_usd)}{limit}"
    return (
        f"── {outcome.ref.provider} · {outcome.ref.model} · {tokens} · "
        f"{format_usd(outcome.cost_usd)} · {outcome.latency_ms / 1000:.1f} s"
        f"{month}{cached}{fallback}"
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
        "attempts": list(outcome.attempts),
        "monthUsd": _money(outcome.month_usd),
        "budgetUsd": _money(outcome.budget_usd),
    }


async def run_headless(args: argparse.Namespace) -> int:
    location = parse_location(args.location)
    workspace = args.workspace or find_workspace(location.path)
    loaded = load_config(workspace=workspace, extra_files=args.config)
    private = is_private(location.path.resolve(), workspace, loaded.config.privacy)
    target = target_from_location(location, private=private)
    instruction = getattr(args, "instruction", None)
    catalog = Catalog(loaded)
    if args.dry_run:
        gateway = Gateway(catalog, ledger=Ledger(default_ledger_path()), workspace=str(workspace))
        try:
            budget = gateway.context_budget(private, MAX_OUTPUT_TOKENS[args.command])
            prepared = prepare(
                args.command,
                target,
                instruction=instruction,
                model_pin=args.model,
                context_budget=budget,
            )
            plan = gateway.plan(prepared.task)
            print(dump(plan_json(plan, prepared.task)) if args.json else plan.describe())
        finally:
            await gateway.aclose()
        return 0
    gateway = Gateway.open(
        catalog,
        workspace=str(workspace),
        on_warning=lambda msg: print(f"magray-lsp: {msg}", file=sys.stderr),
    )
    on_event = event_printer(streaming=args.command == "explain" and not args.json)
    try:
        result = await run_action(
            gateway,
            args.command,
            target,
            instruction=instruction,
            model_pin=args.model,
            on_event=on_event,
        )
    finally:
        await gateway.aclose()
    outcome = result.outcome
    diff = ""
    if result.edits:
        diff = unified_diff(target.doc.text, result.new_text, str(location.path))
    if args.json:
        data = outcome_json(outcome)
        data.update(
            action=args.command,
            unit=result.prepared.context.unit,
            contextTokens=result.prepared.task.context_tokens,
            diff=diff or None,
        )
        print(dump(data))
    elif args.command == "explain":
        print("\n\n" + summary_line(outcome))
    else:
        print(diff or "(no change)")
        print(summary_line(outcome))
    if getattr(args, "apply", False) and result.edits:
        location.path.write_bytes(result.new_text.encode())
        print(f"applied to {location.path}", file=sys.stderr)
    return 0


def event_printer(*, streaming: bool) -> Callable[[GatewayEvent], None]:
    """Prints the answer as it streams (when `streaming`) and each fallback to stderr."""

    def on_event(event: GatewayEvent) -> None:
        if isinstance(event, TextDelta) and streaming:
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, Fallback):
            print(
                f"\n[{event.failed} failed ({event.error}); trying {event.next}]", file=sys.stderr
            )

    return on_event


def unified_diff(old: str, new: str, path: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def plan_json(plan: Plan, task: Task) -> dict[str, Any]:
    return {
        "why": plan.why,
        "contextTokens": task.context_tokens,
        "maxOutputTokens": task.max_output_tokens,
        "provider": plan.primary.ref.provider,
        "model": plan.primary.ref.model,
        "estimatedCostUsd": _money(plan.primary.estimate_usd),
        "candidates": [
            {
                "model": c.ref.label,
                "score": round(c.score, 3),
                "window": c.window,
                "local": c.local,
                "estimatedCostUsd": _money(c.estimate_usd),
                "priceAssumed": c.price_assumed,
            }
            for c in plan.candidates
        ],
        "rejected": [{"model": label, "reason": reason} for label, reason in plan.rejected],
    }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
