"""The team's Redis: key names, the Lua script (``team.lua``) and bounded calls to it.

The script runs on connections of its own, one command and its reply at a time, without
redis-py's client and pool layers: their per-command bookkeeping more than doubled the time of
a bare round trip (``bench/bench_team.py``, (a) vs (a0)). Other commands (reading the usage
stream, re-sending rows, ``doctor``) use a redis-py client.

Every call is bounded by an ``asyncio.timeout`` around the whole of it (connect, ``EVALSHA``, a
re-load after ``NOSCRIPT``), never longer than what is left of the request's deadline, and by the
socket connect timeout (the client's connections also have a read timeout). A call that times
out is tried once more (an event loop blocked for a moment looks the same as a hung Redis). A
failure marks the Redis down; for ``RETRY_SECONDS`` after that calls fail at once, without a
network round trip, and then one call probes it again.
The URL's password never appears in a message.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

from magray_lsp.cache.redis_tier import _url_secrets, mask_url
from magray_lsp.errors import MagrayError

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.connection import AbstractConnection

log = logging.getLogger(__name__)
T = TypeVar("T")

#: after a failure, calls fail fast this long; then one call tries the Redis again
RETRY_SECONDS = 2.0
#: calls in flight per process; more concurrent calls wait for one (not counted in their timeout).
#: A call is one round trip (~0.2 ms), so a few serve any editor; every extra connection is
#: one more handshake when a busy machine starts many windows at once.
MAX_CONNECTIONS = 4
#: without a request deadline (settlements), a call waits at most this long for a connection
QUEUE_WAIT_SECONDS = 10.0
#: month keys outlive their month by a year, for the usage view of past months
MONTH_TTL_SECONDS = 400 * 86400
#: the usage stream of one team and month keeps about this many rows (older ones are trimmed)
STREAM_MAXLEN = 200_000

SCRIPT = (resources.files("magray_lsp.cost") / "team.lua").read_text(encoding="utf-8")
#: what ``EVALSHA`` calls it; ``doctor`` checks the Redis holds this exact script
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()


class TeamRedisError(MagrayError):
    """The team's Redis could not be used for this call (down, slow, refused the command).
    ``sent``: the command may have reached the Redis (so its effect may have happened)."""

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


def month_of(ts: float) -> str:
    """The UTC calendar month of epoch seconds ``ts``, as the keys spell it: ``2025-03``."""
    return _month_of_minute(int(ts // 60))  # a month starts on a whole minute


@functools.lru_cache(maxsize=4)
def _month_of_minute(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m")


class TeamKeys:
    """Key names of one team. ``{team}`` is a hash tag: one cluster slot, as scripts need."""

    def __init__(self, team: str) -> None:
        self.team = team
        self.base = f"magray:team:{{{team}}}"

    @property
    def epoch(self) -> str:
        return f"{self.base}:epoch"

    def spend(self, month: str) -> str:
        return f"{self.base}:{month}:spend"

    def clients(self, month: str) -> str:
        return f"{self.base}:{month}:clients"

    def usage(self, month: str) -> str:
        return f"{self.base}:{month}:usage"

    @property
    def holds(self) -> str:
        return f"{self.base}:holds"

    @property
    def holdamt(self) -> str:
        return f"{self.base}:holdamt"

    @property
    def reserved(self) -> str:
        return f"{self.base}:reserved"

    @functools.lru_cache(maxsize=4)  # noqa: B019 (a handful of months per process)
    def script_keys(self, month: str) -> tuple[str, ...]:
        """KEYS of ``team.lua``, in its order."""
        return (
            self.epoch,
            self.spend(month),
            self.clients(month),
            self.usage(month),
            self.holds,
            self.holdamt,
            self.reserved,
        )


class TeamRedis:
    """One team's Redis connection pool, the registered script and the outage state."""

    def __init__(
        self,
        url: str,
        team: str,
        *,
        timeout: float,
        retry_seconds: float = RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.display_url = mask_url(url)
        self.keys = TeamKeys(team)
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self._url = url
        self._secrets = _url_secrets(url)
        self._clock = clock
        self._client: Redis | None = None
        #: the script's connections: all of them, and those not in use
        self._conns: list[AbstractConnection] = []
        self._idle: list[AbstractConnection] = []
        self._retry_at = 0.0
        self._last_ok = -math.inf  # when a call last succeeded (``clock`` time)
        self.max_connections = max_connections
        self._slots = asyncio.Semaphore(max_connections)
        #: why the last call failed, while the Redis counts as down (None: up or untried)
        self.down_reason: str | None = None

    @property
    def down(self) -> bool:
        return self.down_reason is not None

    def client(self) -> Redis:
        """The pool, made on first use (in the running event loop)."""
        if self._client is None:
            from redis.asyncio import BlockingConnectionPool, Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import ConnectionError

            try:
                pool = BlockingConnectionPool.from_url(
                    self._url,
                    # a few connections serve many requests (each call is one round trip);
                    # waiting for one counts in the call's timeout
                    max_connections=self.max_connections,
                    timeout=None,
                    socket_timeout=self.timeout,
                    socket_connect_timeout=self.timeout,
                    # one immediate retry on a broken connection (e.g. a pooled one the Redis
                    # closed when it restarted); every operation of the script is idempotent.
                    # Never on a timeout: that would double the wait on a hung Redis.
                    retry=Retry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
                    health_check_interval=0,
                    decode_responses=True,
                )
            except (ValueError, TypeError) as exc:
                raise TeamRedisError(
                    f"invalid team redis_url {self.display_url} ({self.clean(exc)})"
                ) from None
            self._client = Redis.from_pool(pool)
        return self._client

    async def script(
        self,
        op: str,
        month: str,
        args: Sequence[str | int],
        *,
        deadline: float | None = None,
    ) -> list[str]:
        """Run ``team.lua``'s ``op`` on ``month``'s keys; its reply as strings."""
        keys = self.keys.script_keys(month)
        command = ("EVALSHA", SCRIPT_SHA, len(keys), *keys, op, *args)
        reply = await self._bounded(op, lambda: self.evalsha(command), deadline)
        if not isinstance(reply, list) or len(reply) < 6:
            raise TeamRedisError(
                f"unexpected reply of the team script to {op}: {reply!r}", sent=True
            )
        return [str(item) for item in reply]

    async def evalsha(self, command: tuple[str | int, ...]) -> Any:
        """One attempt at ``command`` (an ``EVALSHA`` of the script) on a connection of the
        script's own, unbounded: ``script`` bounds it. A connection the Redis closed (it
        restarted, or dropped an idle client) is replaced once: every operation of the script is
        idempotent. A Redis without the script (restarted or flushed) gets it loaded."""
        from redis.exceptions import ConnectionError, NoScriptError

        conn = self._idle.pop() if self._idle else self._connection()
        try:
            for attempt in (1, 2):
                try:
                    await conn.send_command(*command)
                    try:
                        return await conn.read_response()
                    except NoScriptError:
                        await conn.send_command("SCRIPT", "LOAD", SCRIPT)
                        await conn.read_response()
                        await conn.send_command(*command)
                        return await conn.read_response()
                except ConnectionError:
                    await conn.disconnect()
                    if attempt == 2:
                        raise
        finally:
            # back for the next call; a read that was cut off (timeout, cancel) disconnected
            # it, so it never hands one call the reply of another
            self._idle.append(conn)

    def _connection(self) -> AbstractConnection:
        pool = self.client().connection_pool  # its settings: the URL's, the connect timeout
        # No socket timeout: ``_run`` bounds the whole call already, and with one redis-py
        # wraps every send in ``asyncio.wait_for``, a task and a loop iteration of its own.
        conn = pool.connection_class(**{**pool.connection_kwargs, "socket_timeout": None})
        self._conns.append(conn)
        return conn

    async def run(
        self,
        what: str,
        op: Callable[[Redis], Awaitable[T]],
        *,
        deadline: float | None = None,
    ) -> T:
        """``op(client)`` within the timeout (and ``deadline``, event-loop time); raises
        ``TeamRedisError`` — at once while the Redis is down and not due for a probe."""
        return await self._bounded(what, lambda: op(self.client()), deadline)

    async def _bounded(
        self, what: str, attempt: Callable[[], Awaitable[T]], deadline: float | None
    ) -> T:
        """``attempt()`` within the timeout and ``deadline``, once more after a timeout.

        The timeout measures the call itself: waiting for one of the ``max_connections`` slots
        (other calls of this process in flight) is bounded by the deadline only, so a burst of
        requests does not turn into timeouts — each waiting call then checks again whether the
        Redis went down meanwhile, and fails at once if it did."""
        self._fail_fast()
        if self._slots.locked():  # all connections busy: wait for one, within the deadline
            loop = asyncio.get_running_loop()
            wait = QUEUE_WAIT_SECONDS if deadline is None else deadline - loop.time()
            try:
                async with asyncio.timeout(max(wait, 0)):
                    await self._slots.acquire()
            except TimeoutError:
                raise TeamRedisError(
                    f"no connection to the team Redis at {self.display_url} freed up in time"
                ) from None
        else:
            await self._slots.acquire()  # free: returns at once
        try:
            self._fail_fast()
            return await self._run(what, attempt, deadline)
        finally:
            self._slots.release()

    def _fail_fast(self) -> None:
        if self.down_reason is not None and self._clock() < self._retry_at:
            raise TeamRedisError(self.down_reason)

    async def _run(self, what: str, op: Callable[[], Awaitable[T]], deadline: float | None) -> T:
        from redis.exceptions import RedisError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            now = self._clock()
            timeout = self.timeout
            if deadline is not None:
                timeout = min(timeout, deadline - loop.time())
                if timeout <= 0:
                    raise TeamRedisError("no time left before the request's deadline")
            try:
                async with asyncio.timeout(timeout):
                    result = await op()
                break
            except (RedisError, OSError, TimeoutError) as exc:
                slow = isinstance(exc, TimeoutError | RedisTimeoutError)
                left = None if deadline is None else deadline - loop.time()
                if slow and attempt == 1 and (left is None or left > 0):
                    # Once more: the timer also fires when this process's event loop was blocked
                    # (a busy machine; another part of the process starting up), not only when
                    # the Redis hangs. Every operation of the script is idempotent.
                    continue
                reason = (
                    f"team Redis at {self.display_url} did not answer {what} within "
                    f"{timeout:.2g} s" + (", twice" if attempt == 2 else "")
                    if slow
                    else f"team Redis at {self.display_url} failed {what}: {self.clean(exc)}"
                )
                # A slow answer while other calls got theirs is a busy machine, not an outage:
                # only this call fails; the others keep using the Redis.
                if not (slow and self._last_ok >= now):
                    await self._mark_down(reason)
                raise TeamRedisError(reason, sent=True) from None
        self._last_ok = self._clock()
        if self.down_reason is not None:
            log.info("team Redis at %s is reachable again", self.display_url)
            self.down_reason = None
        return result

    async def _mark_down(self, reason: str) -> None:
        if self.down_reason is None:
            log.warning("%s", reason)
        self.down_reason = reason
        self._retry_at = self._clock() + self.retry_seconds
        await self._disconnect()  # drop connections that may be half-way through a reply

    async def _disconnect(self) -> None:
        for conn in self._conns:
            try:
                await conn.disconnect(nowait=True)
            except Exception:  # best effort on a broken connection
                log.debug("team Redis disconnect failed", exc_info=True)
        if self._client is not None:
            try:
                await self._client.connection_pool.disconnect()
            except Exception:  # best effort on a broken pool
                log.debug("team Redis pool disconnect failed", exc_info=True)

    def clean(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def aclose(self) -> None:
        await self._disconnect()
        self._conns.clear()
        self._idle.clear()
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.aclose()
            except Exception:  # closing a broken connection
                log.debug("team Redis close failed", exc_info=True)
