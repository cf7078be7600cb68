"""A window of the ledger as SQL: the rollup's whole hours in the middle, raw requests at the
two partial ends and those the rollup does not include yet (exact, and fast at a million rows),
and the counts per provider/model and the spend per day read through it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from magray_lsp.cost.ledger import Ledger, from_pico
from magray_lsp.cost.ledger.schema import ROLLUP_COLUMNS, hour_of, rollup_table, unfolded

HOUR, DAY = 3600, 86400


def unit_of(unit: int) -> str:
    """SQL: the hour (or day) of a bound parameter, computed exactly as ``hour_of`` does."""
    return f"CAST(? / {unit} AS INTEGER)"


@dataclass(frozen=True, slots=True)
class Window:
    since: float | None
    until: float | None
    workspace: str | None
    provider: str | None
    #: one action's requests only: read from the rollups' twins keyed by action
    #: (`schema.rollup_table`), whose rows `rolled` then filters by action like the edges
    action: str | None = None

    def rolled(self, *, with_provider: bool = True, unit: int = HOUR) -> tuple[str, list[Any]]:
        """WHERE for rollup tables: the whole hours (days) strictly inside the window."""
        col = "hour" if unit == HOUR else "day"
        where: list[str] = ["1"]
        params: list[Any] = []
        if self.since is not None:
            where.append(f"{col} > {unit_of(unit)}")
            params.append(self.since)
        if self.until is not None:
            where.append(f"{col} < {unit_of(unit)}")
            params.append(self.until)
        self._common(where, params, "", with_provider)
        return " AND ".join(where), params

    def edges(
        self, r: str = "r.", *, with_provider: bool = True, unit: int = HOUR
    ) -> list[tuple[str, list[Any]]]:
        """WHEREs for raw requests: the window's rows in its first and in its last (partial) hour,
        and those of the whole hours between that are not in the rollups yet (past the
        watermark: a rowid range, a few rows at most).

        The hour test makes each edge exact and the three disjoint; the ts range (an hour and a
        second) lets the ts index find the rows.
        """
        since, until = self.since, self.until
        same_unit = f"{hour_of(r, unit)} = {unit_of(unit)}"
        middle, middle_params = [unfolded(r)], []
        if since is not None:
            middle.append(f"{hour_of(r, unit)} > {unit_of(unit)}")
            middle_params.append(since)
        if until is not None:
            middle.append(f"{hour_of(r, unit)} < {unit_of(unit)}")
            middle_params.append(until)
        out: list[tuple[str, list[Any]]] = [(" AND ".join(middle), middle_params)]
        if since is not None:
            hi = since + unit + 1 if until is None else min(until, since + unit + 1)
            out.append((f"{r}ts >= ? AND {r}ts < ? AND {same_unit}", [since, hi, since]))
        if until is not None:
            lo = until - unit - 1 if since is None else max(since, until - unit - 1)
            where = f"{r}ts >= ? AND {r}ts < ? AND {same_unit}"
            params: list[Any] = [lo, until, until]
            if since is not None:
                where += f" AND {hour_of(r, unit)} != {unit_of(unit)}"
                params.append(since)
            out.append((where, params))
        return [self._with_common(where, params, r, with_provider) for where, params in out]

    def _with_common(
        self, where: str, params: list[Any], r: str, with_provider: bool
    ) -> tuple[str, list[Any]]:
        clauses = [where]
        self._common(clauses, params, r, with_provider)
        return " AND ".join(clauses), params

    def rows(self, r: str = "") -> tuple[str, list[Any]]:
        """WHERE for raw requests over the whole window (used for index-bounded picks only)."""
        where, params = self._bounds(r)
        self._common(where, params, r, True)
        return " AND ".join(where), params

    def _bounds(self, r: str) -> tuple[list[str], list[Any]]:
        where: list[str] = ["1"]
        params: list[Any] = []
        if self.since is not None:
            where.append(f"{r}ts >= ?")
            params.append(self.since)
        if self.until is not None:
            where.append(f"{r}ts < ?")
            params.append(self.until)
        return where, params

    def _common(self, where: list[str], params: list[Any], r: str, with_provider: bool) -> None:
        if self.action is not None:
            where.append(f"{r}action = ?")
            params.append(self.action)
        if self.workspace is not None:
            where.append(f"{r}workspace = ?")
            params.append(self.workspace)
        if with_provider and self.provider is not None:
            where.append(f"{r}provider = ?")
            params.append(self.provider)


def union(
    rolled: tuple[str, list[Any]],
    edges: list[tuple[str, list[Any]]],
    raw: Callable[[str], str],
    repeat: int = 1,
) -> tuple[str, list[Any]]:
    """The rollup query UNION ALL ``raw(where)`` for each edge (``repeat``: uses of ``where``)."""
    parts, params = [rolled[0]], list(rolled[1])
    for where, edge_params in edges:
        parts.append(raw(where))
        params += edge_params * repeat
    return " UNION ALL ".join(parts), params


# --- counts per provider/model ------------------------------------------------------------------


class Counts(NamedTuple):
    requests: int = 0
    ok: int = 0
    errors: int = 0
    cancelled: int = 0
    budget_refused: int = 0
    cache_hits: int = 0
    fallbacks: int = 0
    cost_pico: int = 0
    priced: int = 0
    unpriced: int = 0
    saved_pico: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    prompt_saved_pico: int = 0

    def plus(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(self, other, strict=True)))

    def block(self, seconds: float | None) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
            "cancelled": self.cancelled,
            "budget_refused": self.budget_refused,
            "success_rate": ratio(self.ok, self.ok + self.errors),
            "requests_per_s": self.requests / seconds if seconds else None,
            "cost_usd": from_pico(self.cost_pico),
            "cost_per_request_usd": (
                from_pico(round(Decimal(self.cost_pico) / self.priced)) if self.priced else None
            ),
            "unpriced": self.unpriced,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "fallbacks": self.fallbacks,
            "fallback_rate": ratio(self.fallbacks, self.requests),
            "cache_hits": self.cache_hits,
            "cache_hit_rate": ratio(self.cache_hits, self.requests),
            "saved_usd": from_pico(self.saved_pico),
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "prompt_cache_saved_usd": from_pico(self.prompt_saved_pico),
        }


assert Counts._fields == tuple(ROLLUP_COLUMNS), "rollup columns and Counts must match"


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def request_source(w: Window) -> tuple[str, list[Any]]:
    """Rollup-shaped rows (hour, workspace, provider, model, first_ts, counts...) for the window."""
    cols = ", ".join(ROLLUP_COLUMNS)
    where, params = w.rolled()
    table = rollup_table("rollup", w.action)
    rolled = f"SELECT hour, workspace, provider, model, first_ts, {cols} FROM {table} WHERE {where}"
    sums = ", ".join(f"SUM({e.format(r='r.')})" for e in ROLLUP_COLUMNS.values())
    return union(
        (rolled, params),
        w.edges(),
        lambda edge: (
            f"SELECT {hour_of('r.')}, r.workspace, r.provider, r.model, MIN(r.ts), {sums} "
            f"FROM requests AS r WHERE {edge} GROUP BY 1, 2, 3, 4"
        ),
    )


def groups(ledger: Ledger, w: Window) -> list[tuple[str, str, float, Counts]]:
    src, params = request_source(w)
    sums = ", ".join(f"SUM({c})" for c in ROLLUP_COLUMNS)
    rows = ledger.read(
        f"SELECT provider, model, MIN(first_ts), {sums} FROM ({src}) "
        "GROUP BY provider, model ORDER BY provider, model",
        params,
    )
    return [(r[0], r[1], r[2], Counts(*(int(x) for x in r[3:]))) for r in rows]


def spend_per_day(ledger: Ledger, w: Window) -> list[dict[str, Any]]:
    src, params = request_source(w)
    rows = ledger.read(
        f"SELECT date(hour * 3600, 'unixepoch'), SUM(cost_pico), SUM(requests) FROM ({src}) "
        "GROUP BY 1 ORDER BY 1",
        params,
    )
    return [{"day": day, "cost_usd": from_pico(int(c)), "requests": int(n)} for day, c, n in rows]
