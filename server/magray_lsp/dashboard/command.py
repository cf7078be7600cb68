"""`magray-lsp dashboard`: serve the usage dashboard on loopback until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import sys
import webbrowser
from pathlib import Path

from magray_lsp.cli_common import find_workspace
from magray_lsp.config.loader import load_config
from magray_lsp.cost.ledger import default_ledger_path
from magray_lsp.dashboard.server import loopback_host, start_dashboard


async def run_dashboard(args: argparse.Namespace) -> int:
    loopback_host(args.host)  # refuse a non-loopback address before reading any config
    workspace: Path = args.workspace or find_workspace(Path.cwd())
    config = load_config(workspace=workspace, extra_files=args.config).config
    budget, team = config.budget, (config.team if config.team.enabled else None)
    if args.team and team is None:
        print("no team configured: set [team] redis_url and name", file=sys.stderr)
        return 1
    ledger: Path = args.ledger or default_ledger_path()
    running = await start_dashboard(
        ledger, lambda: budget, host=args.host, port=args.port, team=lambda: team
    )
    url = running.url + ("team" if args.team else "")
    print(f"magray dashboard: {url}  (ledger {ledger}; Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        # webbrowser may block while it starts a browser; keep the server answering meanwhile
        await asyncio.to_thread(_open_browser, url)
    try:
        await asyncio.Event().wait()
    finally:
        await running.aclose()
    return 0


def _open_browser(url: str) -> None:
    if not webbrowser.open(url):
        print(f"could not start a browser; open {url} yourself", file=sys.stderr)
