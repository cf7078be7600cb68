"""The dashboard's filters, parsed from a URL query: time range, provider, workspace, action.

The page keeps them in its own URL (``?range=7d&provider=openai``), so a view can be bookmarked,
and sends the same query to the JSON API and ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from magray_lsp.cost.ledger import month_bounds
from magray_lsp.errors import MagrayError

#: range name → seconds back from now (None: a calendar range handled below)
RANGES: dict[str, float | None] = {
    "24h": 86400.0,
    "7d": 7 * 86400.0,
    "30d": 30 * 86400.0,
    "month": None,
    "all": None,
    "custom": None,
}
DEFAULT_RANGE = "month"
_MAX_TEXT = 500  # a provider or workspace name longer than this is not a real filter


class BadFilter(MagrayError):
    """A query parameter the dashboard cannot use; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Filters:
    range: str = DEFAULT_RANGE
    #: window [since, until) in epoch seconds; None: unbounded (until None = now)
    since: float | None = None
    until: float | None = None
    provider: str | None = None
    workspace: str | None = None
    #: one action's requests (a built-in, "fix", "tests" or a custom action's name)
    action: str | None = None
    #: custom range days as given (UTC, both inclusive)
    day_from: str | None = None
    day_to: str | None = None

    def jsonable(self) -> dict[str, Any]:
        return {
            "range": self.range,
            "since": self.since,
            "until": self.until,
            "provider": self.provider,
            "workspace": self.workspace,
            "action": self.action,
            "from": self.day_from,
            "to": self.day_to,
        }


def parse_filters(query: Mapping[str, str], now: float) -> Filters:
    """``range`` (24h, 7d, 30d, month, all, custom + ``from``/``to`` YYYY-MM-DD), ``provider``,
    ``workspace``, ``action``; empty values mean "no filter"."""
    name = (query.get("range") or DEFAULT_RANGE).strip()
    if name not in RANGES:
        raise BadFilter(f"range must be one of {', '.join(RANGES)}; got {name!r}")
    provider = _text(query, "provider")
    workspace = _text(query, "workspace")
    action = _text(query, "action")
    since: float | None
    until: float | None = None
    day_from = day_to = None
    back = RANGES[name]
    if back is not None:
        since = now - back
    elif name == "month":
        since = month_bounds(now)[0]
    elif name == "all":
        since = None
    else:
        day_from, day_to = query.get("from") or "", query.get("to") or ""
        start, end = _day(day_from, "from"), _day(day_to, "to")
        if end < start:
            raise BadFilter(f"'from' ({day_from}) is after 'to' ({day_to})")
        since = _midnight(start)
        until = _midnight(end + timedelta(days=1))  # 'to' is inclusive
    return Filters(name, since, until, provider, workspace, action, day_from, day_to)


def _text(query: Mapping[str, str], key: str) -> str | None:
    value = query.get(key) or ""
    if len(value) > _MAX_TEXT:
        raise BadFilter(f"{key} is too long ({len(value)} characters)")
    return value or None


def _day(text: str, key: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"range=custom needs '{key}' as a date YYYY-MM-DD; got {text!r}") from None


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
