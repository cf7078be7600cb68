"""Team mode: one monthly budget for a team and a cap per member, enforced in a shared Redis.

The gateway calls this at the points it calls the local ``BudgetGuard``:

- ``reserve(estimate)`` before a paid call: one atomic script (``team.lua``) checks that the
  team's and the member's month spend, plus every open reservation, plus this estimate stay within
  both limits (``>=`` at a limit counts as spent), and holds the estimate; or raises
  ``TeamBudgetExceeded`` naming the limit that stopped it. Holds expire if a client dies.
- ``record_in(tx, entry, hold)`` inside the transaction that writes the request's ledger row: what
  the team counts for it (the real cost; the estimate for a broken or cancelled answer whose price
  is unknown) joins this machine's local month total (``team_local``).
- ``settle(hold, entry, total)`` after that commit: one script frees the hold, brings this
  machine's counted total up to its local total and appends the row (never code, prompts or
  paths) to the team's capped usage stream for the month. It stays on the answer's path (about
  0.3 ms), so the status sent with the answer counts the answer's own cost.
- ``release(hold)`` when the call failed before costing anything.

A dead or slow Redis never hangs a request: each call is bounded (``team_store``), and
``on_unreachable`` decides: ``refuse`` every request, ``local_only`` (paid ones refused, free local
ones answered) or ``allow`` (spend counted locally, merged into the team once Redis is back).
Settlements that could not reach Redis are merged at the next contact, their holds released and
their rows appended then; those rows wait in the ledger file (``team_unsent``), so a process
that ends before the Redis is back leaves them to the next process. If Redis lost its data
(restarted without persistence) its epoch key is gone; each machine notices at its next call,
and re-adds its month-to-date from its ledger once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from magray_lsp.config.models import TeamConfig
from magray_lsp.cost.budget import _limit_pico
from magray_lsp.cost.ledger import Ledger, LedgerEntry, LedgerError, LedgerTx, from_pico, to_pico
from magray_lsp.cost.prices import format_usd
from magray_lsp.cost.team_local import TeamLedger, TeamTotal, entry_row
from magray_lsp.cost.team_member import resolve_member
from magray_lsp.cost.team_status import TeamStatus
from magray_lsp.cost.team_store import (
    MONTH_TTL_SECONDS,
    STREAM_MAXLEN,
    TeamRedis,
    TeamRedisError,
    month_of,
)
from magray_lsp.errors import BudgetExceeded

log = logging.getLogger(__name__)

Limit = Literal["team", "member", "unreachable"]
#: holds waiting for the Redis to come back (beyond that, the oldest are left to expire there)
PENDING_MAX = 10_000
_BATCH = 500
#: at most this long a call waits for another one's sync (and never past its deadline)
SYNC_WAIT_SECONDS = 10.0
#: code-action titles refresh the team's figures in the background when older than this
STATUS_MAX_AGE = 30.0


class TeamBudgetExceeded(BudgetExceeded):
    """A team limit refused a paid request; ``limit`` says which one (or that none could be
    checked)."""

    def __init__(self, message: str, *, limit: Limit) -> None:
        super().__init__(message)
        self.limit = limit


@dataclass(frozen=True, slots=True)
class TeamHold:
    """Money held in the team's Redis for one request in flight."""

    id: str
    amount_pico: int
    member: str


def counted_pico(entry: LedgerEntry, hold: TeamHold | None) -> int:
    """What the team counts for a ledger row: its cost; for tokens at an unknown price (an answer
    that broke off or was cancelled), the estimate that was held; else nothing."""
    if entry.cost_usd is not None:
        return to_pico(entry.cost_usd)
    if hold is not None and entry.input_tokens + entry.output_tokens > 0:
        return hold.amount_pico
    return 0


def _limit_arg(limit: Decimal | None) -> str:
    return "" if limit is None else str(_limit_pico(limit))


class TeamBudget:
    """Reserve → settle/release against ``[team]``; one per gateway, used from its event loop."""

    def __init__(
        self,
        cfg: TeamConfig,
        ledger: Ledger,
        *,
        workspace: str | Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (cfg.redis_url and cfg.name):
            raise ValueError("team mode needs [team] redis_url and name")
        self.cfg = cfg
        self.team = cfg.name
        self.member, self.member_source = resolve_member(cfg, workspace)
        self.local = TeamLedger(ledger, cfg.name)
        self.redis = TeamRedis(cfg.redis_url, cfg.name, timeout=cfg.timeout_seconds)
        self._status = TeamStatus(
            cfg.name, self.member, cfg.monthly_usd, cfg.member_monthly_usd, cfg.warn_at,
            cfg.on_unreachable,
        )  # fmt: skip
        #: the figures of the last reply, turned into ``status`` when someone reads it
        self._figures: tuple[int, int, int, int] | None = None
        self._limits = [_limit_arg(cfg.monthly_usd), _limit_arg(cfg.member_monthly_usd)]
        self._clock = clock
        self._epoch = ""
        self._synced_month: str | None = None
        self._sync_lock = asyncio.Lock()
        #: holds whose settlement or release could not reach Redis (released at next contact)
        self._orphans: deque[str] = deque(maxlen=PENDING_MAX)
        #: whether the ledger may keep usage rows the stream has not received (``team_unsent``):
        #: rows of this process's outages, or of an earlier process that ended during one
        self._unsent = True
        self._tasks: set[asyncio.Task[None]] = set()
        self._flusher: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._updated_at = -math.inf  # monotonic time of the last answer (or failure)

    @classmethod
    def for_config(
        cls, cfg: TeamConfig, ledger: Ledger, *, workspace: str | Path | None = None
    ) -> TeamBudget | None:
        """The team budget of a configuration, None without team mode."""
        return cls(cfg, ledger, workspace=workspace) if cfg.enabled else None

    @property
    def status(self) -> TeamStatus:
        """The team's month as of the last answer from its Redis."""
        if self._figures is not None:
            spent, reserved, member_spent, member_reserved = self._figures
            self._figures = None
            self._status = replace(
                self._status,
                spent=from_pico(spent),
                reserved=from_pico(reserved),
                member_spent=from_pico(member_spent),
                member_reserved=from_pico(member_reserved),
                reachable=True,
                reason=None,
            )
        return self._status

    # -- the gateway's calls ---------------------------------------------------------------------

    async def reserve(
        self, estimate: Decimal, *, deadline: float | None = None, ttl: float = 600.0
    ) -> TeamHold | None:
        """Hold ``estimate`` against both limits, or raise ``TeamBudgetExceeded``. Free requests
        hold nothing (and are refused only with ``on_unreachable = "refuse"`` while the Redis is
        down). ``deadline`` (event-loop time) bounds the calls; ``ttl`` is the hold's life."""
        amount = to_pico(estimate)
        if amount == 0 and self.cfg.on_unreachable != "refuse":
            return None
        hold = TeamHold(os.urandom(16).hex(), amount, self.member) if amount else None
        args = [
            self.member, str(amount), *self._limits, str(int(ttl * 1000)), hold.id if hold else ""
        ]  # fmt: skip
        try:
            reply = await self._call("reserve", month_of(self._clock()), args, deadline)
        except TeamRedisError as exc:
            if hold is not None and exc.sent:  # it may have been made before the failure
                self._orphans.append(hold.id)
            self._lost(exc)
            self._apply_policy(exc, paid=amount > 0)
            return None
        if reply[0] == "team":
            raise TeamBudgetExceeded(self._refusal("team", amount), limit="team")
        if reply[0] == "member":
            raise TeamBudgetExceeded(self._refusal("member", amount), limit="member")
        return hold

    def record_in(self, tx: LedgerTx, entry: LedgerEntry, hold: TeamHold | None) -> TeamTotal:
        """Count ``entry`` locally, in the ledger transaction that records it."""
        member = hold.member if hold is not None else self.member
        return self.local.record_in(tx, entry, member, counted_pico(entry, hold))

    async def settle(self, hold: TeamHold | None, entry: LedgerEntry, total: TeamTotal) -> None:
        """Free ``hold`` and count the row's cost in one script; never raises (what could not
        reach the Redis is merged at the next contact)."""
        row = entry_row(entry, total.member, total.counted)
        args = [
            total.member, hold.id if hold else "", total.client, str(total.pico),
            str(STREAM_MAXLEN), str(MONTH_TTL_SECONDS), row,
        ]  # fmt: skip
        try:
            await self._call("settle", total.month, args, None)
        except TeamRedisError as exc:
            if hold is not None:
                self._orphans.append(hold.id)
            self._synced_month = None  # the next contact sends this machine's totals first
            self._lost(exc)
            try:  # appended at the next contact, by this process or the next one
                await asyncio.to_thread(self.local.keep_unsent, entry.id, total.month, row)
                self._unsent = True
            except LedgerError as err:
                log.warning("team %s: a usage row for the stream was lost: %s", self.team, err)

    async def release(self, hold: TeamHold | None) -> None:
        """Free ``hold`` (the call cost nothing); never raises."""
        if hold is None:
            return
        try:
            await self._call("release", month_of(self._clock()), [hold.member, hold.id], None)
        except TeamRedisError as exc:
            self._orphans.append(hold.id)
            self._lost(exc)

    async def refresh(self, deadline: float | None = None) -> TeamStatus:
        """Ask the Redis for the month's figures now (status, titles, doctor)."""
        try:
            await self._call("status", month_of(self._clock()), [self.member], deadline)
        except TeamRedisError as exc:
            self._lost(exc)
        return self.status

    def refresh_soon(self, max_age: float = STATUS_MAX_AGE) -> None:
        """Refresh the figures in the background when they are older than ``max_age`` s (for
        titles, which must not wait on the network)."""
        stale = time.monotonic() - self._updated_at > max_age
        if stale and (self._refresher is None or self._refresher.done()):
            self._refresher = self._spawn(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        await self.refresh()

    async def aclose(self) -> None:
        """Finish background work (re-sent rows) briefly, then close the connections."""
        if self._tasks:
            pending = set(self._tasks)
            await asyncio.wait(pending, timeout=max(1.0, self.cfg.timeout_seconds * 4))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.redis.aclose()

    # -- the conversation with Redis -------------------------------------------------------------

    async def _call(
        self, op: str, month: str, args: Sequence[str], deadline: float | None
    ) -> list[str]:
        """``op`` after making sure this machine's totals are in the current epoch."""
        for _ in range(2):
            if self._synced_month != month:
                await self._sync(month, deadline)
            reply = await self.redis.script(op, month, [self._epoch, *args], deadline=deadline)
            self._update(reply)
            if reply[0] != "epoch":
                self._flush_pending()
                return reply
            # The epoch changed since we synced: the Redis lost its data (or was reset).
            log.warning(
                "team %s: the Redis state was reset; re-adding this machine's spend", self.team
            )
            self._synced_month = None
        raise TeamRedisError("the team's Redis state was reset twice during one call", sent=True)

    async def _sync(self, month: str, deadline: float | None) -> None:
        """Once per process and month, and after an outage or a reset: send this machine's
        month totals (the script merges them: nothing counts twice) and learn the epoch."""
        # the call holding the lock is bounded itself (Redis timeout, ledger busy timeout);
        # waiting for it never outlasts this request's deadline
        wait = SYNC_WAIT_SECONDS
        if deadline is not None:
            wait = min(wait, deadline - asyncio.get_running_loop().time())
        try:
            async with asyncio.timeout(max(wait, 0)):
                await self._sync_lock.acquire()
        except TimeoutError:
            raise TeamRedisError("another call is still syncing with the team's Redis") from None
        try:
            if self._synced_month == month:
                return
            client, totals, newest = await asyncio.to_thread(self.local.totals, month)
            pairs = [
                item for member, pico in sorted(totals.items()) for item in (member, str(pico))
            ]
            args = ["", self.member, uuid.uuid4().hex, client, str(MONTH_TTL_SECONDS), *pairs]
            reply = await self.redis.script("sync", month, args, deadline=deadline)
            self._epoch, self._synced_month = reply[1], month
            self._update(reply)
            if len(reply) > 6 and reply[6] == "1":
                self._spawn(self._replay(month, newest))
        finally:
            self._sync_lock.release()

    def _update(self, reply: list[str]) -> None:
        self._updated_at = time.monotonic()
        self._figures = (int(reply[2]), int(reply[3]), int(reply[4]), int(reply[5]))

    def _lost(self, exc: TeamRedisError) -> None:
        self._updated_at = time.monotonic()
        self._status = replace(self.status, reachable=False, reason=str(exc))

    def _apply_policy(self, exc: TeamRedisError, *, paid: bool) -> None:
        policy = self.cfg.on_unreachable
        if policy == "allow" or (policy == "local_only" and not paid):
            return
        consequence = (
            "every request is refused until it is back"
            if policy == "refuse"
            else "paid models are refused until it is back; local models still answer"
        )
        raise TeamBudgetExceeded(
            f'team budget of "{self.team}" cannot be checked ({exc}); '
            f'[team] on_unreachable = "{policy}": {consequence}',
            limit="unreachable",
        )

    def _refusal(self, which: Literal["team", "member"], amount: int) -> str:
        s = self.status
        if which == "team":
            head = f'team budget {format_usd(s.limit)} of team "{self.team}" reached'
            spent, held = s.spent, s.reserved
        else:
            head = (
                f"member budget {format_usd(s.member_limit)} for {self.member} "
                f'(team "{self.team}") reached'
            )
            spent, held = s.member_spent, s.member_reserved
        return (
            f"{head}: {format_usd(spent)} spent, {format_usd(held)} reserved; this request "
            f"needs about {format_usd(from_pico(amount))}"
        )

    # -- background: what an outage or a reset left to do ----------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _flush_pending(self) -> None:
        if (self._orphans or self._unsent) and (self._flusher is None or self._flusher.done()):
            self._flusher = self._spawn(self._flush())

    async def _flush(self) -> None:
        """Release orphaned holds and append rows that missed the stream, in batches (a row
        appended twice, when the process ends in between, is counted once by the usage view)."""
        with contextlib.suppress(TeamRedisError, LedgerError):
            while self._orphans:
                ids = [self._orphans.popleft() for _ in range(min(_BATCH, len(self._orphans)))]
                try:
                    await self.redis.script(
                        "release", month_of(self._clock()), [self._epoch, self.member, *ids]
                    )
                except TeamRedisError:
                    self._orphans.extendleft(reversed(ids))
                    raise
            while self._unsent:
                self._unsent = False  # a settlement failing meanwhile sets it again
                try:
                    kept = await asyncio.to_thread(self.local.unsent, _BATCH)
                    if kept:
                        await self._append([(month, row) for _, month, row in kept])
                        await asyncio.to_thread(self.local.sent, [rid for rid, _, _ in kept])
                except BaseException:
                    self._unsent = True  # still kept: the next contact tries again
                    raise
                if len(kept) == _BATCH:
                    self._unsent = True  # more may wait

    async def _replay(self, month: str, upto: int) -> None:
        """Re-append this machine's rows of ``month`` recorded before the sync (the Redis lost
        them, or never had them); the usage view drops duplicates by request id."""
        try:
            rows = await asyncio.to_thread(self.local.rows, month, upto)
            for start in range(0, len(rows), _BATCH):
                await self._append([(month, r) for r in rows[start : start + _BATCH]])
        except TeamRedisError as exc:
            log.warning("team %s: re-sending this machine's usage rows failed: %s", self.team, exc)

    async def _append(self, rows: list[tuple[str, str]]) -> None:
        async def op(client: Any) -> None:
            pipe = client.pipeline(transaction=False)
            for month, row in rows:
                pipe.xadd(
                    self.redis.keys.usage(month),
                    {"row": row},
                    maxlen=STREAM_MAXLEN,
                    approximate=True,
                )
            await pipe.execute()

        await self.redis.run("append usage rows", op)
