"""Command line: `magray-lsp [serve] | explain | document | refactor | run NAME | actions |
doctor | stats | dashboard | clear-cache | schema`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from magray_lsp import __version__, event_loop
from magray_lsp.cli_common import ACTIONS, find_workspace
from magray_lsp.errors import MagrayError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="magray-lsp",
        description="LLM code actions (explain, document, refactor) routed to the right provider.",
    )
    parser.add_argument("--version", action="version", version=f"magray-lsp {__version__}")
    sub = parser.add_subparsers(dest="command")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="extra config file on top of the user and workspace files",
    )
    common.add_argument(
        "--workspace",
        type=Path,
        metavar="DIR",
        help="workspace root (default: nearest folder with .magray.toml)",
    )

    for action in ACTIONS:
        p = sub.add_parser(action, parents=[common], help=f"{action} the code at FILE:LINE[:COL]")
        p.add_argument("location", metavar="FILE:LINE[:COL]")
        p.add_argument(
            "--model",
            metavar="PROVIDER.ALIAS",
            help="pin the model: provider.alias or provider/model-id",
        )
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.add_argument(
            "--dry-run",
            action="store_true",
            help="show the routing decision and cost estimate without calling a provider",
        )
        if action != "explain":
            p.add_argument("--apply", action="store_true", help="write the edit to the file")
        if action == "refactor":
            p.add_argument("--instruction", "-i", help="what to change (default: simplify)")

    run = sub.add_parser(
        "run",
        parents=[common],
        help="run an action by name (custom, fix, tests, or a built-in) at FILE:LINE[:COL]",
    )
    run.add_argument("name", metavar="NAME", help="see `magray-lsp actions`")
    run.add_argument("location", metavar="FILE:LINE[:COL]")
    run.add_argument("--model", metavar="PROVIDER.ALIAS", help="pin the model")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="show the routing decision and cost estimate without calling a provider",
    )
    run.add_argument("--apply", action="store_true", help="write the edit (or the new file)")
    run.add_argument("--input", "-i", help="the action's {input} (refactor: the instruction)")
    run.add_argument(
        "--diagnostic",
        action="append",
        default=[],
        metavar="TEXT",
        help="a problem at FILE:LINE for fix (default: the syntax errors in the unit)",
    )
    actions = sub.add_parser(
        "actions", parents=[common], help="list the actions defined here and where"
    )
    actions.add_argument("--json", action="store_true")

    serve = sub.add_parser("serve", help="run the language server on stdio (the default)")
    serve.add_argument(
        "--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio (loopback only)"
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="let --tcp listen on an address other machines can reach (unauthenticated!)",
    )
    serve.add_argument("--log-file", type=Path, help="write the server log here")
    # vscode-languageclient and other clients append --stdio; stdio is the default anyway
    serve.add_argument("--stdio", action="store_true", help="use stdio (the default)")

    doctor = sub.add_parser("doctor", parents=[common], help="check config, keys and providers")
    doctor.add_argument("--json", action="store_true")
    stats = sub.add_parser("stats", parents=[common], help="spend vs budget, provider health")
    stats.add_argument("--json", action="store_true")
    stats.add_argument("--days", type=int, help="look back N days instead of this month")
    stats.add_argument("--provider", help="only this provider")
    stats.add_argument(
        "--team", action="store_true", help="the [team]'s month: per member, model and day"
    )
    stats.add_argument("--month", metavar="YYYY-MM", help="with --team: another UTC month")
    dashboard = sub.add_parser(
        "dashboard", parents=[common], help="usage dashboard and /metrics on a loopback web page"
    )
    dashboard.add_argument(
        "--host", default="127.0.0.1", help="loopback address only (default: 127.0.0.1)"
    )
    dashboard.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    dashboard.add_argument("--no-browser", action="store_true", help="only print the URL")
    dashboard.add_argument(
        "--ledger", type=Path, metavar="PATH", help="usage ledger (default: the shared one)"
    )
    dashboard.add_argument(
        "--team", action="store_true", help="open the [team] view (per member, model and day)"
    )
    sub.add_parser("clear-cache", parents=[common], help="remove every cached answer")
    sub.add_parser("schema", help="print the JSON Schema of the configuration")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "schema":
            from magray_lsp.config.models import MagrayConfig

            print(json.dumps(MagrayConfig.model_json_schema(), indent=2))
            return 0
        if args.command == "doctor":
            from magray_lsp.doctor import run_doctor

            return event_loop.run(run_doctor(args))
        if args.command == "clear-cache":
            return event_loop.run(clear_cache(args))
        if args.command == "stats":
            from magray_lsp.stats import run_stats

            return event_loop.run(run_stats(args))
        if args.command == "dashboard":
            from magray_lsp.dashboard.command import run_dashboard

            return event_loop.run(run_dashboard(args))
        if args.command in ACTIONS:
            from magray_lsp.headless import run_headless

            return event_loop.run(run_headless(args))
        if args.command == "run":
            from magray_lsp.headless_actions import run_named

            return event_loop.run(run_named(args))
        if args.command == "actions":
            from magray_lsp.headless_actions import list_actions

            return list_actions(args)
        from magray_lsp.lsp.server import create_server

        configure_logging(getattr(args, "log_file", None))
        server = create_server()
        tcp = getattr(args, "tcp", None)
        if tcp:
            from magray_lsp.lsp.tcp import serve_tcp

            host, port = tcp_address(tcp, allow_remote=args.allow_remote)
            return event_loop.run(serve_tcp(server, host, port))
        return server.start_io()  # LSP: 0 after `shutdown`, 1 without
    except MagrayError as exc:
        print(f"magray-lsp: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def tcp_address(spec: str, *, allow_remote: bool) -> tuple[str, int]:
    """`HOST:PORT` for `serve --tcp` (HOST defaults to 127.0.0.1). The TCP connection carries
    code and spends the user's API keys with no authentication, so an address other machines can
    reach is refused unless `allow_remote`, and then warned about."""
    from magray_lsp.providers.locality import is_loopback_host

    host, _, port_text = spec.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise MagrayError(f"--tcp {spec}: expected HOST:PORT, e.g. 127.0.0.1:2087")
    if not is_loopback_host(host):
        if not allow_remote:
            raise MagrayError(
                f"--tcp {spec}: refusing to listen on {host}, which other machines may reach: "
                "the connection is not authenticated, so anyone who connects could read your code "
                "and spend your API keys. Use 127.0.0.1 (or an SSH tunnel), or add --allow-remote "
                "if that is really what you want"
            )
        print(
            f"magray-lsp: WARNING: listening on {host}:{port_text} without authentication or "
            "encryption: anyone who can reach it can read the code sent to it and spend your "
            "API keys",
            file=sys.stderr,
        )
    return host, int(port_text)


async def clear_cache(args: argparse.Namespace) -> int:
    from magray_lsp.cache import ResponseCache
    from magray_lsp.config.loader import load_config

    loaded = load_config(
        workspace=args.workspace or find_workspace(Path.cwd()), extra_files=args.config
    )
    cache = ResponseCache(loaded.config.cache, on_warning=lambda m: print(m, file=sys.stderr))
    try:
        removed = await cache.clear()
    finally:
        await cache.aclose()
    print(f"removed {removed} cached answers")
    return 0


def configure_logging(path: Path | None) -> None:
    """Server logs go to a file or stderr, never stdout (that is the LSP channel)."""
    import logging

    handler: logging.Handler = (
        logging.FileHandler(path) if path else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
