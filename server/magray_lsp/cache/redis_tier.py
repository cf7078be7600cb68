"""L2: a Redis shared by a team (or by several machines), used only when ``redis_url`` is set.

Redis is an optimisation, never a dependency: every call has a short socket timeout, no retries,
and any failure turns the tier off for ``retry_seconds`` (one warning per outage) while memory and
disk carry on. Keys are ``magray:v1:<cache key>``; values are JSON ``Record`` text written with
``SET ... EX ttl``. The URL's password never appears in a message.

Redis is off this machine: a private entry (an answer to private code) is refused here, where it
would be written, whatever the caller — the same way the transport guard refuses to send private
code anywhere but this machine (``providers/locality.py``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from magray_lsp.cache.entry import Record
from magray_lsp.errors import PrivacyViolation

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

T = TypeVar("T")

KEY_PREFIX = "magray:v1:"
#: Socket connect and read timeout: a dead or unreachable Redis never stalls an action longer.
SOCKET_TIMEOUT_SECONDS = 0.5
#: After a failure, Redis is left alone this long before one call tries it again.
RETRY_SECONDS = 30.0
_SCAN_BATCH = 500


def mask_url(url: str) -> str:
    """``url`` with its password (userinfo or ``?password=``) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            if ":" in userinfo:
                user = userinfo.split(":", 1)[0]
                netloc = f"{user}:***@{hostport}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(k, "***" if k.lower() == "password" else v) for k, v in pairs], safe="*"
            )
        masked = f"{parts.scheme}://{netloc}{parts.path}" if "//" in url else url.split("?")[0]
        masked += f"?{query}" if query else ""
        return masked + (f"#{parts.fragment}" if parts.fragment else "")
    except ValueError:
        return "<unparsable redis url>"


class RedisTier:
    """Async Redis access that never raises; each call is bounded by a short timeout."""

    def __init__(
        self,
        url: str,
        *,
        on_warning: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        retry_seconds: float = RETRY_SECONDS,
        timeout: float = SOCKET_TIMEOUT_SECONDS,
        prefix: str = KEY_PREFIX,
    ) -> None:
        self.display_url = mask_url(url)
        self.prefix = prefix
        self.retry_seconds = retry_seconds
        self._url = url
        self._secrets = _url_secrets(url)
        self._on_warning = on_warning
        self._clock = clock
        self._timeout = timeout
        self._client: Redis | None = None
        self._disabled = False  # the URL itself is unusable: no retry can help
        self._down = False
        self._outage = 0  # incremented each time Redis goes down
        self._next_attempt = 0.0
        self._warned_refusal = False

    @property
    def available(self) -> bool:
        """False while Redis is considered down (or the URL is unusable)."""
        return not self._disabled and not self._down

    def _get_client(self) -> Redis | None:
        if self._client is None and not self._disabled:
            try:
                from redis.asyncio import Redis
                from redis.asyncio.retry import Retry
                from redis.backoff import NoBackoff
            except ImportError:
                self._disable("redis_url is set but the `redis` package is not installed")
                return None
            try:
                self._client = Redis.from_url(
                    self._url,
                    socket_timeout=self._timeout,
                    socket_connect_timeout=self._timeout,
                    retry=Retry(NoBackoff(), 0),
                    health_check_interval=0,
                )
            except (ValueError, TypeError) as exc:
                self._disable(f"invalid redis_url {self.display_url} ({self._clean(exc)})")
        return self._client

    def _disable(self, why: str) -> None:
        self._disabled = True
        self._on_warning(f"Redis cache disabled: {why}; using memory and disk only")

    def _clean(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _may_try(self) -> bool:
        if self._disabled:
            return False
        if not self._down:
            return True
        now = self._clock()
        if now < self._next_attempt:
            return False
        self._next_attempt = now + self.retry_seconds  # one probe per interval
        return True

    async def _run(self, what: str, op: Callable[[Redis], Awaitable[T]]) -> tuple[bool, T | None]:
        """``(True, result)`` or ``(False, None)`` when Redis is off or the call failed."""
        if not self._may_try():
            return False, None
        client = self._get_client()
        if client is None:
            return False, None
        from redis.exceptions import ResponseError

        outage = self._outage
        try:
            # The socket timeouts bound each step; this bounds DNS and anything else.
            async with asyncio.timeout(self._timeout * 4):
                result = await op(client)
        except ResponseError as exc:
            # Redis is up but refused this command (ACL, WRONGTYPE, read-only replica, OOM).
            if not self._warned_refusal:
                self._warned_refusal = True
                self._on_warning(
                    f"Redis cache at {self.display_url} refused {what}: {self._clean(exc)}"
                )
            else:
                log.debug("Redis refused %s: %s", what, self._clean(exc))
            self._mark_up(outage)  # it answered, so it is reachable
            return False, None
        except Exception as exc:  # connection, timeout, protocol: Redis is down for now
            if outage == self._outage:  # a call from before the outage began says nothing new
                await self._mark_down(what, exc)
            return False, None
        self._mark_up(outage)
        return True, result

    def _mark_up(self, outage: int) -> None:
        """A call that began during the current outage succeeded: Redis is back."""
        if self._down and outage == self._outage:
            self._down = False
            log.info("Redis cache at %s is reachable again", self.display_url)

    async def _mark_down(self, what: str, exc: BaseException) -> None:
        was_down = self._down
        self._down = True
        self._next_attempt = self._clock() + self.retry_seconds
        if not was_down:
            self._outage += 1
            self._on_warning(
                f"Redis cache at {self.display_url} is unavailable ({what}: {self._clean(exc)}); "
                f"using memory and disk only, retrying every {self.retry_seconds:g} s"
            )
        else:
            log.debug("Redis cache still unavailable: %s", self._clean(exc))
        client = self._client
        if client is not None:
            try:
                await client.connection_pool.disconnect()
            except Exception:  # best effort on a broken pool
                log.debug("Redis pool disconnect failed", exc_info=True)

    async def get(self, key: str) -> bytes | None:
        ok, value = await self._run("get", lambda r: r.get(self.prefix + key))
        return value if ok and isinstance(value, bytes) else None

    async def put(self, key: str, record: Record, ttl_seconds: float | None) -> None:
        """Store ``record``; raise ``PrivacyViolation`` (writing nothing) if it is private."""
        if record.answer.private:
            raise PrivacyViolation(
                f"refusing to write a private answer to the shared Redis cache {self.display_url}"
            )
        value = record.to_json()
        ex = None if ttl_seconds is None else max(1, math.ceil(ttl_seconds))
        await self._run("set", lambda r: r.set(self.prefix + key, value, ex=ex))

    async def delete(self, key: str) -> None:
        await self._run("delete", lambda r: r.delete(self.prefix + key))

    async def clear(self) -> list[str]:
        """Delete every ``prefix*`` key (SCAN + UNLINK, never FLUSHDB); return the keys removed."""

        async def op(r: Redis) -> list[str]:
            removed: list[str] = []
            batch: list[bytes] = []
            async for name in r.scan_iter(match=self.prefix + "*", count=_SCAN_BATCH):
                batch.append(name)
                if len(batch) >= _SCAN_BATCH:
                    removed += await _unlink(r, batch, self.prefix)
                    batch = []
            if batch:
                removed += await _unlink(r, batch, self.prefix)
            return removed

        ok, keys = await self._run("clear", op)
        return keys if ok and keys is not None else []

    async def ping(self) -> bool:
        """True when Redis answers now (a probe that obeys the retry interval)."""
        ok, _ = await self._run("ping", lambda r: r.ping())
        return ok

    async def aclose(self) -> None:
        client, self._client = self._client, None
        self._disabled = True
        if client is not None:
            try:
                await client.aclose()
            except Exception:  # closing a broken connection
                log.debug("Redis close failed", exc_info=True)


async def _unlink(r: Redis, names: list[bytes], prefix: str) -> list[str]:
    await r.unlink(*names)
    return [n.decode("utf-8", "replace")[len(prefix) :] for n in names]


def _url_secrets(url: str) -> list[str]:
    """Password-like pieces of ``url`` (raw and percent-decoded) to scrub from messages."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        if parts.password:
            found += [parts.password, unquote(parts.password)]
        for k, v in parse_qsl(parts.query, keep_blank_values=True):
            if k.lower() == "password" and v:
                found.append(v)
    except ValueError:
        pass
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)
