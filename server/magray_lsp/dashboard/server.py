"""The dashboard's HTTP server: read-only, loopback-only, one page plus a JSON API and /metrics.

Routes (GET and HEAD only; any other method is 405):

- ``/`` — the page; ``/static/<name>`` — its script, styles and the vendored uPlot.
- ``/api/dashboard?range=&from=&to=&provider=&workspace=&action=`` — what the page shows, as JSON;
  400 for a bad filter, 503 with ``{"error": {"reason", "message"}}`` when the ledger is missing,
  damaged or locked (the server keeps running and the next request tries again).
- ``/metrics`` — Prometheus text format (see ``metrics_text``), plus the team's gauges.
- ``/team`` and ``/api/team?month=`` — the ``[team]`` view, read from its Redis (``team_view``).

It binds to a loopback address only and checks the ``Host`` header, so a web page elsewhere
cannot read the numbers through DNS rebinding. Ledger queries run in worker threads, each on its
own short-lived read-only connection: a dashboard never holds the ledger open between requests and
never blocks the language server's event loop when it runs in-process.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from magray_lsp.config.models import BudgetConfig
from magray_lsp.dashboard import metrics_text, queries
from magray_lsp.dashboard.filters import BadFilter, parse_filters
from magray_lsp.dashboard.reader import LedgerReader, LedgerUnavailable
from magray_lsp.dashboard.team_view import TeamSource, add_team_routes, team_metrics
from magray_lsp.errors import MagrayError

log = logging.getLogger(__name__)

#: file name → content type; nothing outside this list is ever served
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "team.html": "text/html; charset=utf-8",
    "team.js": "text/javascript; charset=utf-8",
    "vendor/uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "vendor/uPlot.min.css": "text/css; charset=utf-8",
    "vendor/uPlot.LICENSE": "text/plain; charset=utf-8",
}
_SECURITY_HEADERS = {
    # Everything comes from this server; no inline script, no third party, no framing.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_READ_METHODS = frozenset({"GET", "HEAD"})
_QUERY_THREADS = 2  # at most this many ledger queries at once, however many tabs refresh

Budget = Callable[[], BudgetConfig]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class NotLoopback(MagrayError):
    """The dashboard was asked to listen somewhere other than this machine's loopback."""


def loopback_host(host: str) -> str:
    """The address to bind for ``host``; raises ``NotLoopback`` for anything but loopback."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise NotLoopback(
            f"the dashboard only listens on loopback (127.0.0.1 or ::1); {host!r} is not an "
            "IP address"
        ) from None
    if not address.is_loopback:
        raise NotLoopback(
            f"the dashboard only listens on loopback (127.0.0.1 or ::1), not {host}: it has no "
            "authentication"
        )
    return str(address)


def _load_static() -> dict[str, bytes]:
    root = resources.files("magray_lsp.dashboard") / "static"
    return {name: root.joinpath(name).read_bytes() for name in STATIC_FILES}


@dataclass
class _State:
    ledger_path: Path
    budget: Budget
    clock: Callable[[], float]
    static: dict[str, bytes]
    allowed_hosts: set[str]
    limiter: asyncio.Semaphore


_STATE = web.AppKey("state", _State)


def create_app(
    ledger_path: Path,
    budget: Budget,
    *,
    clock: Callable[[], float] = time.time,
    team: TeamSource | None = None,
) -> web.Application:
    """The application; ``allowed_hosts`` is filled in by ``start_dashboard`` once bound."""
    app = web.Application(middlewares=[_guard])
    app[_STATE] = _State(
        Path(ledger_path), budget, clock, _load_static(), set(), asyncio.Semaphore(_QUERY_THREADS)
    )
    app.router.add_get("/", _index)
    app.router.add_get("/static/{name:.+}", _static)
    app.router.add_get("/api/dashboard", _api_dashboard)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/team", _team_page)
    add_team_routes(app, team or (lambda: None))
    return app


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read-only, this-machine-only; security headers on every answer."""
    state = request.app[_STATE]
    response: web.StreamResponse
    if request.method not in _READ_METHODS:
        response = _error(405, "method_not_allowed", "the dashboard is read-only: GET and HEAD")
        response.headers["Allow"] = "GET, HEAD"
    elif request.host.lower() not in state.allowed_hosts:
        response = _error(
            403,
            "bad_host",
            f"Host {request.host!r} is not this dashboard's address; open "
            f"http://{sorted(state.allowed_hosts)[0]}/",
        )
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = _error(exc.status, "not_found" if exc.status == 404 else "http", exc.reason)
    response.headers.update(_SECURITY_HEADERS)
    return response


def _error(status: int, reason: str, message: str) -> web.Response:
    return web.json_response({"error": {"reason": reason, "message": message}}, status=status)


async def _index(request: web.Request) -> web.StreamResponse:
    return _file(request, "index.html")


async def _team_page(request: web.Request) -> web.StreamResponse:
    return _file(request, "team.html")


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in STATIC_FILES or name == "index.html":
        raise web.HTTPNotFound(reason=f"no such file: /static/{name}")
    return _file(request, name)


def _file(request: web.Request, name: str) -> web.Response:
    body = request.app[_STATE].static[name]
    return web.Response(body=body, headers={"Content-Type": STATIC_FILES[name]})


async def _in_thread(request: web.Request, work: Callable[[LedgerReader], Any]) -> Any:
    """Open the ledger read-only in a worker thread, run ``work`` on it, close it."""
    state = request.app[_STATE]

    def run() -> Any:
        reader = LedgerReader(state.ledger_path)
        try:
            return work(reader)
        finally:
            reader.close()

    async with state.limiter:
        return await asyncio.to_thread(run)


async def _api_dashboard(request: web.Request) -> web.StreamResponse:
    state = request.app[_STATE]
    now = state.clock()
    try:
        filters = parse_filters(request.query, now)
    except BadFilter as exc:
        return _error(400, "bad_filter", str(exc))
    try:
        data = await _in_thread(
            request, lambda r: queries.dashboard(r, filters, state.budget(), now=now)
        )
    except LedgerUnavailable as exc:
        return _error(503, exc.reason, str(exc))
    return web.Response(
        text=json.dumps(data, separators=(",", ":")), content_type="application/json"
    )


async def _metrics(request: web.Request) -> web.StreamResponse:
    state = request.app[_STATE]
    now = state.clock()
    try:
        filters = parse_filters(request.query, now)
        text = await _in_thread(
            request,
            lambda r: metrics_text.exposition(
                r,
                state.budget(),
                provider=filters.provider,
                workspace=filters.workspace,
                action=filters.action,
                now=now,
            ),
        )
        status = 200
    except BadFilter as exc:
        text, status = f"# bad filter: {exc}\n", 400
    except LedgerUnavailable as exc:
        text, status = metrics_text.unavailable(str(exc)), 503
    if status != 400:
        text += await team_metrics(request)  # the team's gauges, read from its Redis
    return web.Response(
        body=text.encode(), status=status, headers={"Content-Type": metrics_text.CONTENT_TYPE}
    )


# --- running it -----------------------------------------------------------------------------------


@dataclass
class RunningDashboard:
    """A started dashboard; ``url`` is where a browser should go."""

    url: str
    host: str
    port: int
    runner: web.AppRunner

    async def aclose(self) -> None:
        await self.runner.cleanup()


async def start_dashboard(
    ledger_path: Path,
    budget: Budget,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Callable[[], float] = time.time,
    team: TeamSource | None = None,
) -> RunningDashboard:
    """Serve the dashboard on loopback ``host``:``port`` (0: a free port) in the running loop."""
    bind = loopback_host(host)
    app = create_app(ledger_path, budget, clock=clock, team=team)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, bind, port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise MagrayError(f"cannot listen on {bind}:{port}: {exc.strerror or exc}") from None
    bound_port = int(runner.addresses[0][1])
    shown = f"[{bind}]" if ":" in bind else bind
    app[_STATE].allowed_hosts.update({f"{shown}:{bound_port}", f"localhost:{bound_port}"})
    return RunningDashboard(f"http://{shown}:{bound_port}/", bind, bound_port, runner)
