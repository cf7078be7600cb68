"""The HTTP surface: loopback only, GET/HEAD only, Host-checked, static files from the package
only, JSON numbers that match the seed, and 400/503 answers that say what is wrong."""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from tests.dashboard import seed
from tests.dashboard.serving import Start

from magray_lsp.cost.ledger import Ledger
from magray_lsp.dashboard.server import STATIC_FILES, NotLoopback, loopback_host


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com", "10.0.0.1"])
def test_only_loopback_addresses_are_accepted(host: str) -> None:
    with pytest.raises(NotLoopback, match="only listens on loopback"):
        loopback_host(host)


def test_loopback_addresses() -> None:
    assert loopback_host("127.0.0.1") == "127.0.0.1"
    assert loopback_host("localhost") == "127.0.0.1"
    assert loopback_host("::1") == "::1"


async def test_binds_loopback_and_serves_the_page(
    start: Start, seeded: Path, http: httpx.AsyncClient
) -> None:
    dash = await start(seeded)
    assert dash.host == "127.0.0.1" and dash.url == f"http://127.0.0.1:{dash.port}/"
    page = await http.get(dash.url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    # nothing is loaded from the internet: every script and stylesheet is one of ours
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs and all(r.startswith("/") for r in refs), refs
    for name in STATIC_FILES:
        if name == "index.html":
            continue
        got = await http.get(f"{dash.url}static/{name}")
        assert got.status_code == 200 and got.content, name
    head = await http.head(f"{dash.url}static/vendor/uPlot.iife.min.js")
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_no_write_methods(
    method: str, start: Start, seeded: Path, http: httpx.AsyncClient
) -> None:
    dash = await start(seeded)
    for path in ("", "api/dashboard", "metrics", "nowhere"):
        got = await http.request(method, dash.url + path)
        assert got.status_code == 405, (method, path)
        assert got.headers["allow"] == "GET, HEAD"


async def test_host_header_must_be_the_dashboards_own(
    start: Start, seeded: Path, http: httpx.AsyncClient
) -> None:
    """DNS rebinding: evil.example resolving to 127.0.0.1 still sends Host: evil.example."""
    dash = await start(seeded)
    for host in (f"evil.example:{dash.port}", "127.0.0.1", f"127.0.0.1:{dash.port + 1}"):
        got = await http.get(dash.url + "api/dashboard", headers={"Host": host})
        assert got.status_code == 403, host
        assert got.json()["error"]["reason"] == "bad_host"
    ok = await http.get(dash.url + "api/dashboard", headers={"Host": f"localhost:{dash.port}"})
    assert ok.status_code == 200


async def test_only_known_static_files(start: Start, seeded: Path, http: httpx.AsyncClient) -> None:
    dash = await start(seeded)
    for path in ("static/../reader.py", "static/%2e%2e/reader.py", "static/app.py", "static/"):
        assert (await http.get(dash.url + path)).status_code == 404, path


async def test_api_numbers_match_the_seed(
    start: Start, seeded: Path, http: httpx.AsyncClient
) -> None:
    dash = await start(seeded)
    data = (await http.get(dash.url + "api/dashboard")).json()
    month = seed.in_month()
    assert data["filters"]["range"] == "month"
    assert data["totals"]["requests"] == len(month)
    assert Decimal(data["totals"]["cost_usd"]) == seed.total_cost(month)
    assert Decimal(data["budget"]["spent_usd"]) == seed.total_cost(month)
    assert Decimal(data["budget"]["limit_usd"]) == seed.BUDGET
    assert data["options"] == {
        "providers": ["anthropic", "ollama", "openai"],
        "workspaces": [seed.ALPHA, seed.BETA],
        "actions": ["document", "explain", "refactor"],
    }
    by_provider = {p["provider"]: p for p in data["providers"]}
    anthropic = seed.of(seed.ANTHROPIC, month)
    assert by_provider["anthropic"]["latency_ms"]["p50"] == seed.nearest_rank(anthropic, 50)
    assert by_provider["anthropic"]["success_rate"] == seed.success_rate(anthropic)
    assert [o["provider"] for o in data["outages"]] == ["openai", "anthropic"]
    assert data["outages"][1]["recovery_s"] == pytest.approx(seed.ANTHROPIC_RECOVERY_S)
    # metadata only: the recent table has exactly these fields
    assert len(data["recent"]) == len(month)
    assert set(data["recent"][0]) == {
        "ts", "workspace", "action", "source_path", "provider", "model", "input_tokens",
        "output_tokens", "cost_usd", "outcome", "error_type", "cached", "fallback_count",
        "latency_ms",
    }  # fmt: skip

    beta = (await http.get(dash.url + "api/dashboard?range=all&workspace=/work/beta")).json()
    assert beta["totals"]["requests"] == sum(e.workspace == seed.BETA for e in seed.SEED)
    assert {r["workspace"] for r in beta["recent"]} == {seed.BETA}


async def test_bad_filters_are_400_with_a_reason(
    start: Start, seeded: Path, http: httpx.AsyncClient
) -> None:
    dash = await start(seeded)
    got = await http.get(dash.url + "api/dashboard?range=custom&from=2026-03-05&to=2026-03-01")
    assert got.status_code == 400
    assert got.json()["error"] == {
        "reason": "bad_filter",
        "message": "'from' (2026-03-05) is after 'to' (2026-03-01)",
    }


async def test_broken_ledgers_are_503_and_the_server_keeps_going(
    start: Start, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    path = tmp_path / "ledger.sqlite3"
    dash = await start(path)
    got = await http.get(dash.url + "api/dashboard")
    assert got.status_code == 503 and got.json()["error"]["reason"] == "missing"

    path.write_bytes(b"garbage" * 1000)
    got = await http.get(dash.url + "api/dashboard")
    assert got.status_code == 503 and got.json()["error"]["reason"] == "corrupt"
    assert str(path) in got.json()["error"]["message"]

    path.unlink()
    seed.seed_ledger(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        got = await http.get(dash.url + "api/dashboard")
        assert got.status_code == 503 and got.json()["error"]["reason"] == "locked"
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    got = await http.get(dash.url + "api/dashboard")  # the same server, the ledger is fine now
    assert got.status_code == 200 and got.json()["totals"]["requests"] == len(seed.in_month())


async def test_an_empty_ledger_is_an_empty_state_not_an_error(
    start: Start, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger(path).close()
    data = (await http.get((await start(path)).url + "api/dashboard")).json()
    assert data["empty"] is True
    assert data["totals"]["requests"] == 0 and data["recent"] == [] and data["models"] == []


@pytest.mark.parametrize(
    ("query", "since"),
    [
        ("range=24h", seed.NOW - seed.DAY),
        ("range=7d", seed.NOW - 7 * seed.DAY),
        ("range=month", seed.MONTH_START),
        ("range=all", None),
    ],
)
async def test_per_provider_numbers_match_brute_force(
    query: str, since: float | None, start: Start, seeded: Path, http: httpx.AsyncClient
) -> None:
    dash = await start(seeded)
    data = (await http.get(f"{dash.url}api/dashboard?{query}")).json()
    window = [e for e in seed.SEED if since is None or e.ts >= since]
    providers = {p["provider"]: p for p in data["providers"]}
    assert set(providers) == {e.provider for e in window}
    for name, got in providers.items():
        rows = [e for e in window if e.provider == name]
        assert got["requests"] == len(rows), name
        assert got["success_rate"] == seed.success_rate(rows), name
        assert Decimal(got["cost_usd"]) == seed.total_cost(rows), name
        for p in (50, 90, 99):
            assert got["latency_ms"][f"p{p}"] == seed.nearest_rank(rows, p), (name, p)


@pytest.mark.parametrize("action", ["explain", "document", "refactor", "simplify"])
@pytest.mark.parametrize(
    ("query", "since"),
    [("range=24h", seed.NOW - seed.DAY), ("range=month", seed.MONTH_START), ("range=all", None)],
)
async def test_the_action_filter_matches_brute_force(
    action: str,
    query: str,
    since: float | None,
    start: Start,
    seeded: Path,
    http: httpx.AsyncClient,
) -> None:
    """A filtered view, read from the rollups keyed by action (raw rows at the window's
    edges): the same numbers as counting the seed's rows of that action by hand."""
    dash = await start(seeded)
    data = (await http.get(f"{dash.url}api/dashboard?{query}&action={action}")).json()
    assert data["filters"]["action"] == action
    assert {"explain", "document", "refactor"} <= set(data["options"]["actions"])
    rows = [e for e in seed.SEED if e.action == action and (since is None or e.ts >= since)]
    assert data["totals"]["requests"] == len(rows)
    assert Decimal(data["totals"]["cost_usd"]) == seed.total_cost(rows)
    assert {r["action"] for r in data["recent"]} <= {action}
    providers = {p["provider"]: p for p in data["providers"] if p["requests"]}
    assert set(providers) == {e.provider for e in rows}
    for name, got in providers.items():
        mine = [e for e in rows if e.provider == name]
        assert got["requests"] == len(mine), name
        assert got["success_rate"] == seed.success_rate(mine), name
        for p in (50, 90):
            assert got["latency_ms"][f"p{p}"] == seed.nearest_rank(mine, p), (name, p)
