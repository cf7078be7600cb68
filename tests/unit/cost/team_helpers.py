"""Helpers of the team-mode tests: a paid request's reserve → record → settle as the gateway does
it, and what the Redis and the ledgers hold afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from redis.asyncio import Redis

from magray_lsp.cost.ledger import Ledger, LedgerEntry, from_pico
from magray_lsp.cost.team import TeamBudget, TeamHold
from magray_lsp.cost.team_store import TeamKeys, month_of

PASSWORD = "team-s3cret-pass"


Make = Callable[..., TeamBudget]


def paid_entry(cost: str | None, **kw: Any) -> LedgerEntry:
    fields: dict[str, Any] = {
        "action": "explain",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "cost_usd": None if cost is None else Decimal(cost),
        "input_tokens": 100,
        "output_tokens": 50,
        "source_path": "/home/ann/secret-project/keys.py",
    }
    fields.update(kw)
    return LedgerEntry(**fields)


async def settle(team: TeamBudget, hold: TeamHold | None, entry: LedgerEntry) -> None:
    """What the gateway does once a call ended: the ledger row (and the team's count of it) in
    one transaction, then the team's settlement."""
    ledger = team.local.ledger

    def body(tx: Any) -> Any:
        tx.record(entry)
        return team.record_in(tx, entry, hold)

    total = ledger.write(body)
    await team.settle(hold, entry, total)


async def pay(team: TeamBudget, estimate: str, cost: str | None, **kw: Any) -> LedgerEntry:
    hold = await team.reserve(Decimal(estimate))
    entry = paid_entry(cost, **kw)
    await settle(team, hold, entry)
    return entry


async def spend_in_redis(raw: Redis, team: str = "core") -> dict[str, Decimal]:
    """The month's settled spend as the Redis holds it: "team" and "m:<member>"."""
    import time

    key = TeamKeys(team).spend(month_of(time.time()))
    fields = cast(dict[str, str], await raw.hgetall(key))  # the client decodes responses
    return {k: from_pico(int(v)) for k, v in fields.items()}


async def stream_rows(raw: Redis, month: str | None = None, team: str = "core") -> list[Any]:
    """The rows of the team's usage stream for ``month`` (default: this one), oldest first."""
    import time

    stream = TeamKeys(team).usage(month or month_of(time.time()))
    entries = cast(list[tuple[str, dict[str, str]]], await raw.xrange(stream))
    return [json.loads(fields["row"]) for _, fields in entries]


def local_counted(ledger: Ledger, team: str = "core") -> Decimal:
    rows = ledger.read(
        "SELECT COALESCE(SUM(counted_pico), 0) FROM team_usage WHERE team = ?", (team,)
    )
    return from_pico(int(rows[0][0]))


# --- editor windows in their own processes (_team_worker.py) -------------------------------------

WORKER = Path(__file__).with_name("_team_worker.py")
ROOT = Path(__file__).resolve().parents[3]


def gateway_settings(
    paid_url: str, redis_url: str, team: dict[str, Any], *, local_url: str | None = None
) -> dict[str, Any]:
    """A paid OpenAI fake at exact prices (and optionally a free local Ollama fake)."""
    llm: dict[str, Any] = {
        "openai": {
            "api_key": "sk-team-test",
            "base_url": paid_url,
            "timeout_seconds": 30,
            "models": {"default": "gpt-4o-mini"},
            "prices": {"gpt-4o-mini": {"input_per_mtok": "1", "output_per_mtok": "2"}},
            "max_concurrency": 64,
        },
        "local": {"enabled": False},
    }
    if local_url:
        llm["ollama"] = {"base_url": local_url, "models": {"default": "llama3.1"}}
    return {
        "llm": llm,
        "routing": {"default": "openai.default"},
        "retry": {"max_attempts": 1, "deadline_seconds": DEADLINE_SECONDS},
        "team": {"redis_url": redis_url, "name": "core", **team},
    }


#: the request deadline in the process tests; no request may take longer
DEADLINE_SECONDS = 20.0


class Window:
    """One worker process: a gateway of one machine (``ledger``) sending requests."""

    def __init__(self, folder: Path, name: str, ledger: Path, spec: dict[str, Any]) -> None:
        self.out = folder / f"{name}.jsonl"
        self.ledger = ledger
        spec_path = folder / f"{name}.json"
        spec_path.write_text(json.dumps({**spec, "ledger": str(ledger), "out": str(self.out)}))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "server"), str(ROOT)])}
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(spec_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def lines(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        text = self.out.read_text()
        return [json.loads(line) for line in text.splitlines() if line.endswith("}")]

    def finish(self, timeout: float = 180) -> list[dict[str, Any]]:
        """Wait for the process (a hang guard, not a measurement); its request lines."""
        try:
            stdout, stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            stdout, stderr = self.proc.communicate()
            raise AssertionError(f"worker {self.out.name} hung: {stderr[-3000:]}") from None
        assert self.proc.returncode == 0 and "done" in stdout, stderr[-3000:]
        return self.lines()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def ledger_ok_ids(path: Path) -> set[str]:
    with Ledger(path) as ledger:
        return {r[0] for r in ledger.read("SELECT id FROM requests WHERE outcome = 'ok'")}


def ledger_totals(paths: Iterable[Path]) -> tuple[Decimal, Decimal]:
    """(sum of recorded costs, sum of what the team counted) over distinct ledger files."""
    cost, counted = Decimal(0), Decimal(0)
    for path in set(paths):
        with Ledger(path) as ledger:
            rows = ledger.read("SELECT COALESCE(SUM(cost_pico), 0) FROM requests")
            cost += from_pico(int(rows[0][0]))
            counted += local_counted(ledger)
    return cost, counted
