"""Filters from the URL query: every range, and clear errors for what cannot be a filter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from magray_lsp.dashboard.filters import BadFilter, parse_filters

NOW = datetime(2026, 3, 15, 12, 30, tzinfo=UTC).timestamp()


def ts(year: int, month: int, day: int) -> float:
    return datetime(year, month, day, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("name", "since"),
    [
        ("24h", NOW - 86400),
        ("7d", NOW - 7 * 86400),
        ("30d", NOW - 30 * 86400),
        ("month", ts(2026, 3, 1)),
        ("all", None),
    ],
)
def test_ranges_end_now(name: str, since: float | None) -> None:
    f = parse_filters({"range": name}, NOW)
    assert (f.range, f.since, f.until) == (name, since, None)


def test_default_is_this_month_without_provider_or_workspace() -> None:
    f = parse_filters({}, NOW)
    assert (f.range, f.since, f.provider, f.workspace) == ("month", ts(2026, 3, 1), None, None)
    assert parse_filters({"provider": "", "workspace": ""}, NOW).provider is None


def test_custom_range_includes_the_last_day() -> None:
    f = parse_filters(
        {"range": "custom", "from": "2026-02-01", "to": "2026-02-28", "provider": "openai"}, NOW
    )
    assert (f.since, f.until) == (ts(2026, 2, 1), ts(2026, 3, 1))
    assert f.provider == "openai"
    assert f.jsonable()["from"] == "2026-02-01"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"range": "week"}, "range must be one of 24h, 7d, 30d, month, all, custom; got 'week'"),
        ({"range": "custom", "from": "2026-02-30", "to": "2026-03-01"}, "'from' as a date"),
        ({"range": "custom", "from": "2026-02-01"}, "'to' as a date YYYY-MM-DD; got ''"),
        ({"range": "custom", "from": "2026-03-02", "to": "2026-03-01"}, "is after 'to'"),
        ({"provider": "x" * 501}, "provider is too long"),
    ],
)
def test_bad_filters_say_what_is_wrong(query: dict[str, str], message: str) -> None:
    with pytest.raises(BadFilter, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_filters(query, NOW)
