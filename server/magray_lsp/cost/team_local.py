"""This machine's share of a team's spend, kept in the usage ledger file next to each row.

For every ledger row of a team-mode request, ``record_in`` adds (in the same transaction as the
row) what the team counts for it, and returns this machine's new month-to-date total for that
team and member. The Redis merges those totals (``team.lua``: a total only ever grows), so a
settlement that is retried, arrives late or is lost counts exactly once, and a Redis that lost
its data gets each machine's whole month back from here.

Tables (created on first use, also in a ledger file that replaced a corrupt one):
- ``team_client``: this ledger's random client id (a new file is a new client);
- ``team_usage``: request id → team, member, month, counted pico-dollars;
- ``team_totals``: (team, member, month) → pico-dollars, the running sum of ``team_usage``;
- ``team_unsent``: usage rows the team's stream has not received yet (its Redis was unreachable
  at the settlement), kept until they are appended, so a process that ends before the Redis
  comes back leaves them to the next one instead of losing them.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from magray_lsp.cost.ledger import Ledger, LedgerEntry, LedgerError, LedgerTx
from magray_lsp.cost.team_store import month_of

_UNSENT_TABLE = """CREATE TABLE IF NOT EXISTS team_unsent (
    request_id TEXT PRIMARY KEY, team TEXT NOT NULL, month TEXT NOT NULL, row TEXT NOT NULL)"""
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS team_client (
        k INTEGER PRIMARY KEY CHECK (k = 0), id TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS team_usage (
        request_id TEXT PRIMARY KEY, team TEXT NOT NULL, member TEXT NOT NULL,
        month TEXT NOT NULL, counted_pico INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS team_usage_month ON team_usage (team, month)",
    """CREATE TABLE IF NOT EXISTS team_totals (
        team TEXT NOT NULL, member TEXT NOT NULL, month TEXT NOT NULL, pico INTEGER NOT NULL,
        PRIMARY KEY (team, member, month))""",
    _UNSENT_TABLE,
)

#: a ledger row as the usage stream carries it (no code, prompt or file path)
_ROW_SQL = """
    SELECT r.id, r.ts, u.member, r.action, r.provider, r.model, r.input_tokens,
           r.output_tokens, u.counted_pico, r.outcome, r.cached, r.error_type, r.latency_ms
    FROM team_usage AS u JOIN requests AS r ON r.id = u.request_id
    WHERE u.team = ? AND u.month = ? AND u.rowid <= ? ORDER BY r.ts
"""


def usage_row(row: Sequence[Any]) -> str:
    """A usage-stream row (compact JSON) from a ``_ROW_SQL``-shaped row."""
    rid, ts, member, action, provider, model, tin, tout, pico, outcome, cached, err, ms = row
    return json.dumps(
        {
            "id": str(rid), "ts": round(float(ts), 3), "member": str(member),
            "action": str(action), "provider": str(provider), "model": str(model),
            "in": int(tin), "out": int(tout), "cost": int(pico), "outcome": str(outcome),
            "cached": bool(cached), "error": err, "ms": round(float(ms)),
        },
        separators=(",", ":"),
    )  # fmt: skip


def entry_row(entry: LedgerEntry, member: str, counted_pico: int) -> str:
    return usage_row(
        (
            entry.id, entry.ts, member, entry.action, entry.provider, entry.model,
            entry.input_tokens, entry.output_tokens, counted_pico, entry.outcome, entry.cached,
            entry.error_type, entry.latency_ms,
        )
    )  # fmt: skip


class TeamLedger:
    """The team tables of one ledger file, for one team."""

    def __init__(self, ledger: Ledger, team: str) -> None:
        self.ledger = ledger
        self.team = team

    def client_id(self) -> str:
        """This ledger's client id (made, with the tables, on first use)."""
        try:
            found = self.ledger.read("SELECT id FROM team_client")
        except LedgerError as exc:
            if "no such table" not in str(exc):
                raise
            found = []
        return str(found[0][0]) if found else self.ledger.write(_client_in)

    def record_in(self, tx: LedgerTx, entry: LedgerEntry, member: str, counted: int) -> TeamTotal:
        """Count ``entry`` for ``member`` (in the transaction that records it)."""
        try:
            return self._record(tx, entry, member, counted)
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            # a ledger file that replaced a corrupt one: start its tables (a failed prepare
            # leaves the transaction as it was)
            _client_in(tx)
            return self._record(tx, entry, member, counted)

    def _record(self, tx: LedgerTx, entry: LedgerEntry, member: str, counted: int) -> TeamTotal:
        month = month_of(entry.ts)
        tx.execute(
            "INSERT INTO team_usage (request_id, team, member, month, counted_pico) "
            "VALUES (?, ?, ?, ?, ?)",
            (entry.id, self.team, member, month, counted),
        )
        total = tx.execute(
            "INSERT INTO team_totals (team, member, month, pico) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (team, member, month) DO UPDATE SET pico = pico + excluded.pico "
            "RETURNING pico",
            (self.team, member, month, counted),
        ).fetchone()[0]
        client = tx.execute("SELECT id FROM team_client").fetchone()
        if client is None:
            client = (_client_in(tx),)
        return TeamTotal(str(client[0]), member, month, int(total), counted)

    def totals(self, month: str) -> tuple[str, dict[str, int], int]:
        """This client's id, its month total per member, and the newest usage row so far (a
        replay after this sync re-sends rows up to it: later ones go out on their own)."""

        client = self.client_id()
        rows = self.ledger.read(
            "SELECT member, pico FROM team_totals WHERE team = ? AND month = ?", (self.team, month)
        )
        [(newest,)] = self.ledger.read("SELECT COALESCE(MAX(rowid), 0) FROM team_usage")
        return client, {str(m): int(p) for m, p in rows}, int(newest)

    def keep_unsent(self, request_id: str, month: str, row: str) -> None:
        """Keep a usage row the stream did not get, until ``sent`` says it was appended."""

        def body(tx: LedgerTx) -> None:
            tx.execute(_UNSENT_TABLE)  # team tables made by an older version lack it
            tx.execute(
                "INSERT OR IGNORE INTO team_unsent (request_id, team, month, row) "
                "VALUES (?, ?, ?, ?)",
                (request_id, self.team, month, row),
            )

        self.ledger.write(body)

    def unsent(self, limit: int) -> list[tuple[str, str, str]]:
        """The oldest ``limit`` kept rows: (request id, month, stream entry)."""
        try:
            found = self.ledger.read(
                "SELECT request_id, month, row FROM team_unsent WHERE team = ? "
                "ORDER BY rowid LIMIT ?",
                (self.team, limit),
            )
        except LedgerError as exc:  # none kept in this file yet
            if "no such table" in str(exc):
                return []
            raise
        return [(str(i), str(m), str(r)) for i, m, r in found]

    def sent(self, request_ids: Sequence[str]) -> None:
        """Forget kept rows the stream now has."""

        def body(tx: LedgerTx) -> None:
            for request_id in request_ids:
                tx.execute("DELETE FROM team_unsent WHERE request_id = ?", (request_id,))

        self.ledger.write(body)

    def rows(self, month: str, upto: int) -> list[str]:
        """This client's usage rows of ``month`` up to row ``upto``, as stream entries, oldest
        first."""
        try:
            found = self.ledger.read(_ROW_SQL, (self.team, month, upto))
        except LedgerError as exc:  # no team table yet: nothing to re-send
            if "no such table" in str(exc):
                return []
            raise
        return [usage_row(row) for row in found]


@dataclass(frozen=True, slots=True)
class TeamTotal:
    """What ``record_in`` returns: this client's new month total for the row's member, and
    what the row itself counted."""

    client: str
    member: str
    month: str
    pico: int
    counted: int


def _client_in(tx: LedgerTx) -> str:
    for statement in _SCHEMA:
        tx.execute(statement)
    tx.execute("INSERT OR IGNORE INTO team_client (k, id) VALUES (0, ?)", (uuid.uuid4().hex,))
    return str(tx.execute("SELECT id FROM team_client").fetchone()[0])
