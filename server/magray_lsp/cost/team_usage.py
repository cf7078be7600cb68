"""The team's usage view: who spent what on which model, per day, against the team budget.

Totals come from the spend hash the reservation script keeps (exact, per member); the breakdowns
come from the month's usage stream (ledger rows without code, prompts or paths). The stream is
capped and a row may be appended twice (re-sent after an outage or a reset), so rows are counted
once per request id, and the view says how many rows it read. Read-only: it never writes.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from magray_lsp.config.models import TeamConfig
from magray_lsp.cost.ledger import from_pico
from magray_lsp.cost.team_store import STREAM_MAXLEN, TeamRedis, month_of

_PAGE = 5000


@dataclass
class Breakdown:
    """Requests, money and tokens of one member, model or day."""

    requests: int = 0
    cost_usd: Decimal = Decimal(0)
    input_tokens: int = 0
    output_tokens: int = 0
    errors: int = 0
    cached: int = 0

    def add(self, row: dict[str, Any]) -> None:
        self.requests += 1
        self.cost_usd += from_pico(int(row.get("cost") or 0))
        self.input_tokens += int(row.get("in") or 0)
        self.output_tokens += int(row.get("out") or 0)
        self.errors += row.get("outcome") not in ("ok", None)
        self.cached += bool(row.get("cached"))


@dataclass
class TeamUsage:
    team: str
    month: str
    redis: str  # the URL, password masked
    limit: Decimal | None
    member_limit: Decimal | None
    warn_at: float
    spent: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)
    #: member → exact month spend (from the spend hash)
    member_spent: dict[str, Decimal] = field(default_factory=dict)
    members: dict[str, Breakdown] = field(default_factory=dict)
    models: dict[str, Breakdown] = field(default_factory=dict)
    days: dict[str, Breakdown] = field(default_factory=dict)
    rows: int = 0  # distinct requests in the stream
    duplicates: int = 0  # rows appended twice (re-sent), counted once
    skipped: int = 0  # stream entries that are not usage rows
    error: str | None = None  # why nothing could be read

    @property
    def fraction(self) -> float | None:
        if self.limit is None:
            return None
        return float(self.spent / self.limit) if self.limit > 0 else 1.0

    @property
    def warn(self) -> bool:
        return self.limit is not None and self.spent >= self.limit * Decimal(str(self.warn_at))

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.spent >= self.limit

    def jsonable(self) -> dict[str, Any]:
        def rows(table: dict[str, Breakdown], key: str) -> list[dict[str, Any]]:
            return [{key: name, **_breakdown(b)} for name, b in table.items()]

        members = []
        for name in sorted(set(self.member_spent) | set(self.members)):
            b = self.members.get(name, Breakdown())
            spent = self.member_spent.get(name, Decimal(0))
            share = None
            if self.member_limit is not None:
                share = float(spent / self.member_limit) if self.member_limit > 0 else 1.0
            members.append({"member": name, "spentUsd": spent, "ofMemberLimit": share,
                            **_breakdown(b)})  # fmt: skip
        return {
            "team": self.team,
            "month": self.month,
            "redis": self.redis,
            "error": self.error,
            "spentUsd": self.spent,
            "reservedUsd": self.reserved,
            "limitUsd": self.limit,
            "memberLimitUsd": self.member_limit,
            "fraction": self.fraction,
            "warn": self.warn,
            "exhausted": self.exhausted,
            "members": sorted(members, key=lambda m: -m["spentUsd"]),
            "models": sorted(rows(self.models, "model"), key=lambda m: -m["costUsd"]),
            "days": sorted(rows(self.days, "day"), key=lambda d: d["day"]),
            "rows": self.rows,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "streamCap": STREAM_MAXLEN,
        }


def _breakdown(b: Breakdown) -> dict[str, Any]:
    return {
        "requests": b.requests,
        "costUsd": b.cost_usd,
        "inputTokens": b.input_tokens,
        "outputTokens": b.output_tokens,
        "errors": b.errors,
        "cacheHits": b.cached,
    }


async def read_usage(
    cfg: TeamConfig,
    month: str | None = None,
    *,
    breakdowns: bool = True,
    redis: TeamRedis | None = None,
) -> TeamUsage:
    """The team's month (default: this UTC month); ``breakdowns=False`` reads the totals only,
    not the usage rows. A Redis that cannot be read gives a view with ``error`` set, never an
    exception."""
    if not (cfg.redis_url and cfg.name):
        raise ValueError("the team view needs [team] redis_url and name")
    own = redis is None
    # reading a month of rows may take a while; the totals alone (``/metrics``) may not
    timeout = max(cfg.timeout_seconds, 5.0) if breakdowns else cfg.timeout_seconds
    store = redis or TeamRedis(cfg.redis_url, cfg.name, timeout=timeout)
    month = month or month_of(time.time())
    usage = TeamUsage(
        cfg.name, month, store.display_url, cfg.monthly_usd, cfg.member_monthly_usd, cfg.warn_at
    )
    try:
        await _read(store, usage, breakdowns)
    except Exception as exc:  # TeamRedisError, or a reply of an unexpected shape
        usage.error = str(exc)
    finally:
        if own:
            await store.aclose()
    return usage


async def _read(store: TeamRedis, usage: TeamUsage, breakdowns: bool) -> None:
    keys = store.keys

    async def hash_of(key: str) -> dict[str, str]:
        async def op(r: Any) -> dict[str, str]:
            found: dict[str, str] = await r.hgetall(key)
            return found

        return await store.run(f"read {key}", op)

    spend = await hash_of(keys.spend(usage.month))
    held = await hash_of(keys.reserved)
    usage.spent = from_pico(int(spend.get("team", 0)))
    usage.reserved = from_pico(max(int(held.get("team", 0)), 0))
    usage.member_spent = {k[2:]: from_pico(int(v)) for k, v in spend.items() if k.startswith("m:")}
    if not breakdowns:
        return
    seen: set[str] = set()
    members: dict[str, Breakdown] = defaultdict(Breakdown)
    models: dict[str, Breakdown] = defaultdict(Breakdown)
    days: dict[str, Breakdown] = defaultdict(Breakdown)
    start = "-"
    stream = keys.usage(usage.month)
    while True:
        page = await _page(store, stream, start)
        for entry_id, fields in page:
            row = _row(fields)
            if row is None:  # not a row of ours (written by hand, or by something else)
                usage.skipped += 1
                continue
            rid = str(row.get("id") or entry_id)
            if rid in seen:
                usage.duplicates += 1
                continue
            seen.add(rid)
            members[str(row.get("member", "?"))].add(row)
            models[f"{row.get('provider', '?')}/{row.get('model', '?')}"].add(row)
            day = datetime.fromtimestamp(float(row.get("ts") or 0), UTC).strftime("%Y-%m-%d")
            days[day].add(row)
        if len(page) < _PAGE:
            break
        start = "(" + page[-1][0]  # exclusive: after the last id read
    usage.rows = len(seen)
    usage.members, usage.models, usage.days = dict(members), dict(models), dict(days)


async def _page(store: TeamRedis, stream: str, start: str) -> list[tuple[str, dict[str, str]]]:
    async def op(r: Any) -> list[tuple[str, dict[str, str]]]:
        found: list[tuple[str, dict[str, str]]] = await r.xrange(
            stream, min=start, max="+", count=_PAGE
        )
        return found

    return await store.run("read usage rows", op)


def _row(fields: dict[str, str]) -> dict[str, Any] | None:
    """A stream entry's row (a JSON object with an id in the field ``row``), else None."""
    try:
        row = json.loads(fields.get("row") or "null")
    except ValueError:
        return None
    return row if isinstance(row, dict) and row.get("id") else None
