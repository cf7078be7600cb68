"""`magray-lsp doctor`: is the configuration valid, which keys are present, which providers answer.

Keys are reported as present or missing, never printed.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from magray_lsp.actions.definitions import action_set
from magray_lsp.catalog import Catalog
from magray_lsp.cli import dump, find_workspace
from magray_lsp.config.loader import load_config
from magray_lsp.config.models import provider_kind
from magray_lsp.errors import MagrayError
from magray_lsp.providers._http import is_loopback_url
from magray_lsp.resilience.health import HealthBoard
from magray_lsp.routing.router import Router
from magray_lsp.task import Task

CHECK_TIMEOUT_SECONDS = 8.0
_KEYLESS_KINDS = {"local", "ollama"}


def display_url(url: str | None) -> str | None:
    """A base URL fit to print: credentials in the userinfo and the query are masked."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(f"{k}=***" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


async def _probe(catalog: Catalog, name: str) -> dict[str, Any]:
    cfg = catalog.sections[name]
    kind = provider_kind(name, cfg) or "?"
    row: dict[str, Any] = {"provider": name, "kind": kind, "baseUrl": display_url(cfg.base_url)}
    reason = catalog.disabled_reason(name)
    if cfg.api_key is not None:
        row["apiKey"] = "present"
    elif kind in _KEYLESS_KINDS or (
        kind == "openai" and cfg.base_url and is_loopback_url(cfg.base_url)
    ):
        row["apiKey"] = "not needed"
    else:
        row["apiKey"] = "missing"
    if reason:
        row.update(status="disabled", detail=reason)
        return row
    try:
        provider = catalog.provider(name)
        models = await asyncio.wait_for(provider.list_models(), CHECK_TIMEOUT_SECONDS)
        row.update(status="ok", local=provider.is_local, models=[m.id for m in models][:10])
    except TimeoutError:
        row.update(status="unreachable", detail=f"no answer in {CHECK_TIMEOUT_SECONDS:.0f} s")
    except MagrayError as exc:
        row.update(status="error", detail=str(exc))
    return row


async def run_doctor(args: argparse.Namespace) -> int:
    workspace: Path = args.workspace or find_workspace(Path.cwd())
    loaded = load_config(workspace=workspace, extra_files=args.config)
    catalog = Catalog(loaded)
    found = action_set(catalog)
    problems = [*loaded.problems, *found.problems]  # broken custom actions (the rest work)
    try:
        rows = await asyncio.gather(*(_probe(catalog, n) for n in catalog.sections))
        try:  # what an explanation of a typical function would use right now
            typical = Task(action="explain", system="", prompt="", context_tokens=2000)
            plan = Router(catalog, HealthBoard()).plan(typical)
            default = f"{plan.primary.ref.label} ({plan.why})"
        except MagrayError as exc:
            default = f"none ({exc})"
    finally:
        await catalog.aclose()
    usable = [r for r in rows if r["status"] == "ok"]
    if args.json:
        print(
            dump(
                {
                    "configFiles": loaded.sources,
                    "default": default,
                    "notes": loaded.notes,
                    "actions": [a.name for a in found.custom()],
                    "problems": problems,
                    "providers": rows,
                }
            )
        )
    else:
        print("config files: " + (", ".join(loaded.sources) or "none (built-in defaults)"))
        print(f"explain would use: {default}")
        for note in loaded.notes:
            print(f"  note: {note}")
        custom = ", ".join(a.name for a in found.custom()) or "none"
        print(f"custom actions: {custom} (see `magray-lsp actions`)")
        for problem in problems:
            print(f"  error: {problem}")
        for r in rows:
            line = f"  {r['status']:<11} {r['provider']:<14} kind={r['kind']:<11} key={r['apiKey']}"
            if r.get("detail"):
                line += f"  — {r['detail']}"
            elif r.get("models"):
                line += f"  — models: {', '.join(r['models'][:5])}"
            print(line)
    return 0 if usable else 1
