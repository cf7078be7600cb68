"""HTTP plumbing shared by the HTTP providers: one pooled aiohttp client, error mapping, framing.

Each provider talks to its server through one `HttpClient`: an ``aiohttp.ClientSession`` made on
first use inside the running loop, with a pool sized from the section's ``max_concurrency``. The
client does per request only what must be done per request: endpoint URLs are parsed once per
path, the default headers once per client. Every request first passes the locality guard; every
body, whole or streamed, is capped at ``MAX_RESPONSE_BYTES``; every aiohttp failure reaches the
adapter already mapped to the error taxonomy.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import json
import re
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from magray_lsp import __version__
from magray_lsp.errors import (
    AnswerTooLong,
    AuthError,
    BadRequest,
    ContentFiltered,
    ContextTooLong,
    MalformedResponse,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
    Unavailable,
)
from magray_lsp.providers.locality import check_destination, is_local_url

if TYPE_CHECKING:
    from multidict import CIMultiDictProxy

#: Largest response body read from a provider (streamed or not); far above any real answer.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: Longest connect time, whatever the section's timeout (a dead host should fail over fast).
MAX_CONNECT_SECONDS = 10.0
#: How long the end of a body may lag behind the protocol's last event: the answer does not wait
#: for it, the connection goes back to the pool when it comes, and is closed if it has not come
#: by then.
DRAIN_SECONDS = 1.0
#: Sending a request (waiting for a pooled connection, connecting, writing the body) and waiting
#: for the response's headers together take at most this many times the section's
#: ``timeout_seconds``: each of these phases gets a whole timeout. aiohttp bounds the connection
#: and the wait for the headers, not the writing, so a server that stops reading the request
#: body would otherwise stall the send for good.
SEND_TIMEOUTS = 3
#: A body up to aiohttp's write buffer limit is handed to the transport whole: its writing never
#: waits for the server to read, and the read timeout starts right after it. Only a larger body
#: (a long prompt) can stall, so only its send pays for the bound above (a timer, ~6 µs).
BUFFERED_BODY_BYTES = 0x10000
#: What every provider request says it is (a section's own `headers` may override it).
USER_AGENT = f"magray-lsp/{__version__}"
#: Seconds an idle pooled connection is kept (httpx's default, which the providers used before).
KEEPALIVE_SECONDS = 5.0

# Phrases providers use when the prompt exceeds the model's window.
_CONTEXT_PATTERNS = re.compile(
    r"context[_ ]length|context window|maximum context|too many tokens|prompt is too long|"
    r"input is too long|exceeds the maximum|token limit|max_tokens.*too large|too long",
    re.IGNORECASE,
)
_FILTER_PATTERNS = re.compile(r"content[_ ]filter|content management policy|safety", re.IGNORECASE)
#: Connections beyond `max_concurrency`: the gateway never runs more generation calls at once,
#: and these leave room for a model list or `doctor` probe meanwhile.
SPARE_CONNECTIONS = 2


def pool_size(max_concurrency: int) -> int:
    """Connections in a provider's pool: its section's ``max_concurrency`` plus the spares."""
    return max_concurrency + SPARE_CONNECTIONS


#: Request JSON as httpx wrote it: compact, UTF-8 as is, no NaN (one encoder: `json.dumps`
#: with options builds a new one per call); encoded by `HttpClient._send`.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class Reply:
    """A response read whole: status, headers (case-insensitive) and the capped body."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: CIMultiDictProxy[str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    async def aread(self) -> bytes:
        """The body (already read): the same call as on a `StreamReply`."""
        return self.content


class StreamReply:
    """A response whose body is read as it arrives, capped and with errors mapped.

    An adapter that saw its protocol's last event sets ``finished``: the rest of the body
    (normally nothing but its end) is then not waited for (see `HttpClient.stream`)."""

    __slots__ = (
        "_client",
        "_content",
        "_received",
        "_response",
        "finished",
        "headers",
        "status_code",
    )

    def __init__(self, client: HttpClient, response: aiohttp.ClientResponse) -> None:
        self._client = client
        self._response = response
        self._content = response.content
        self._received = 0
        self.finished = False
        self.status_code = response.status
        self.headers = response.headers

    async def aread(self) -> bytes:
        """The rest of the body."""
        return await self._client._read(self._response)

    async def read_chunk(self) -> bytes:
        """The next piece of the body, as much as has arrived; ``b""`` at its end."""
        try:
            chunk = await self._content.readany()
        except _TRANSPORT_ERRORS as exc:
            raise map_transport_error(exc, provider=self._client.provider) from None
        self._received += len(chunk)
        if self._received > MAX_RESPONSE_BYTES:
            raise self._client.too_large(f"passed {MAX_RESPONSE_BYTES} bytes")
        return chunk

    async def aiter_lines(self) -> AsyncIterator[str]:
        """The body's lines, without their endings."""
        lines = LineSplitter()
        while chunk := await self.read_chunk():
            for line in lines.feed(chunk):
                yield line
                if self.finished:  # the adapter saw the protocol's last line
                    return
        for line in lines.close():
            yield line


_utf8_decode = codecs.utf_8_decode


class LineSplitter:
    """UTF-8 bytes in any chunking → lines; ``\n``, ``\r\n`` and a lone ``\r`` end a line (as
    server-sent events allow), and a last line without an ending counts too."""

    __slots__ = ("_partial", "_pending")

    def __init__(self) -> None:
        self._partial = b""  # the first bytes of a character cut between two chunks
        self._pending = ""

    def feed(self, chunk: bytes) -> list[str]:
        if self._partial:
            chunk = self._partial + chunk
        # the incremental decoder's own step, without its Python wrapper
        decoded, used = _utf8_decode(chunk, "replace", False)
        self._partial = chunk[used:] if used != len(chunk) else b""
        text = self._pending + decoded if self._pending else decoded
        held = ""
        if "\r" in text:
            if text.endswith("\r"):  # maybe the first half of a \r\n: wait for the next byte
                text, held = text[:-1], "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            self._pending = text + held
            return []
        *lines, rest = text.split("\n")
        self._pending = rest + held
        return lines

    def close(self) -> list[str]:
        text = self._pending + _utf8_decode(self._partial, "replace", True)[0]
        self._pending, self._partial = "", b""
        if not text:
            return []
        return [text[:-1] if text.endswith("\r") else text]


class HttpClient:
    """One provider's pooled connection to its server.

    The session is made on first use, inside the running loop (constructing a provider does no
    I/O), with ``max_concurrency`` + spare connections. Timeouts: connecting at most
    ``MAX_CONNECT_SECONDS``; waiting for a pooled connection, and for each read, at most the
    section's ``timeout_seconds`` (a stream that keeps sending may run longer in total).
    Redirects are not followed: the locality guard checked the URL asked for, not another.
    """

    def __init__(
        self,
        *,
        base_url: str,
        timeout_seconds: float,
        headers: Mapping[str, str],
        max_concurrency: int,
        provider: str = "",
        remote: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.provider = provider or base_url
        self.headers = dict(headers)
        if not any(name.lower() == "user-agent" for name in self.headers):
            self.headers["User-Agent"] = USER_AGENT
        self.connections = pool_size(max_concurrency)
        self.timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeout_seconds,
            sock_connect=min(MAX_CONNECT_SECONDS, timeout_seconds),
            sock_read=timeout_seconds,
        )
        self.send_seconds = SEND_TIMEOUTS * timeout_seconds
        self._remote = remote
        self._urls: dict[str, URL] = {}
        self._session: aiohttp.ClientSession | None = None

    def url(self, path: str) -> URL:
        """``base_url`` + ``path``, parsed once per path."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = URL(self.base_url + path)
        return url

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.connections,
                limit_per_host=0,
                keepalive_timeout=KEEPALIVE_SECONDS,
                ssl=_ssl_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self.headers,
                timeout=self.timeout,
                trust_env=False,
            )
        return self._session

    async def _send(
        self,
        method: str,
        path: str,
        json: Any,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str | int] | None,
    ) -> aiohttp.ClientResponse:
        url = self.url(path)
        check_destination(url, provider=self.provider, remote=self._remote)
        # the JSON encoded here (as the session would) so that its size is known before sending
        data = None if json is None else aiohttp.JsonPayload(json, dumps=_dumps)
        try:
            sending = self._http().request(
                method, url, data=data, headers=headers, params=params, allow_redirects=False
            )
            if data is None or data.size is None or data.size <= BUFFERED_BODY_BYTES:
                response = await sending
            else:
                async with asyncio.timeout(self.send_seconds):
                    response = await sending
        except _TRANSPORT_ERRORS as exc:
            if type(exc) is TimeoutError:  # the send bound's (aiohttp's timeouts are subclasses)
                raise Timeout(
                    f"sending the request and waiting for the response's headers took over "
                    f"{self.send_seconds:g} s",
                    provider=self.provider,
                ) from None
            raise map_transport_error(exc, provider=self.provider) from None
        declared = response.content_length
        if declared is not None and declared > MAX_RESPONSE_BYTES:
            response.close()
            raise self.too_large(f"announced a {declared}-byte body")
        return response

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Reply:
        """Send one request and read its whole (capped) body."""
        response = await self._send(method, path, json, headers, params)
        try:
            body = await self._read(response)
        finally:
            response.release()
        return Reply(response.status, response.headers, body)

    async def post(
        self, path: str, body: Any, *, headers: Mapping[str, str] | None = None
    ) -> Reply:
        return await self.request("POST", path, json=body, headers=headers)

    async def get(
        self,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        return await self.request("GET", path, params=params, headers=headers)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> AsyncIterator[StreamReply]:
        """A response to read as it arrives. However the block ends, the response is let go:
        a connection whose body was read to the end goes back to the pool; one whose protocol
        had ended (``finished``) goes back when the body's end comes, without waiting for it
        here; any other (an error, a cancellation, a reader that stopped early) is closed."""
        response = await self._send(method, path, json, headers, params)
        reply = StreamReply(self, response)
        try:
            yield reply
        finally:
            if reply.finished and not response.closed:
                _linger(response)
            else:
                response.release()

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        limit = MAX_RESPONSE_BYTES
        chunks: list[bytes] = []
        received = 0
        content = response.content
        try:
            while chunk := await content.readany():
                received += len(chunk)
                if received > limit:
                    response.close()
                    raise self.too_large(f"passed {limit} bytes")
                chunks.append(chunk)
        except _TRANSPORT_ERRORS as exc:
            raise map_transport_error(exc, provider=self.provider) from None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def too_large(self, what: str) -> AnswerTooLong:
        return AnswerTooLong(
            f"the response {what}, over the {MAX_RESPONSE_BYTES}-byte limit; cut off",
            provider=self.provider,
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


_TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError)


def _linger(response: aiohttp.ClientResponse) -> None:
    """Let go of a response whose protocol ended but whose body has not yet: aiohttp gives the
    connection back to the pool when the end arrives (nobody needs to read it); if it has not
    arrived within ``DRAIN_SECONDS`` the connection is closed, so a server that holds the body
    open cannot keep a pooled connection."""
    timer = asyncio.get_running_loop().call_later(DRAIN_SECONDS, response.close)
    response.content.on_eof(timer.cancel)


#: Either kind of response: status, headers and ``aread()`` for an error body.
Response = Reply | StreamReply


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client (loading the CA bundle costs tens of ms):
    certifi's bundle, as httpx used, or the system's when certifi is missing."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with aiohttp's usual installs
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Parse ``Retry-After`` (seconds or HTTP date) and ``retry-after-ms``; None when absent/bad."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def error_for_status(
    status: int,
    message: str,
    *,
    provider: str,
    headers: Mapping[str, str] | None = None,
) -> ProviderError:
    """Map an HTTP error status plus the provider's message to the taxonomy."""
    headers = headers or {}
    if status == 429:
        return RateLimited(message, provider=provider, retry_after=retry_after_seconds(headers))
    if status in (401, 403):
        return AuthError(message, provider=provider, status=status)
    if status == 413 or (status in (400, 422) and _CONTEXT_PATTERNS.search(message)):
        return ContextTooLong(message, provider=provider, status=status)
    if status in (400, 422) and _FILTER_PATTERNS.search(message):
        return ContentFiltered(message, provider=provider, status=status)
    if status in (402, 404):  # out of credits / model not found: another provider may work
        return Unavailable(message, provider=provider, status=status)
    if status == 408:
        return Timeout(message, provider=provider, status=status)
    if status >= 500:
        return ServerError(message, provider=provider, status=status)
    return BadRequest(message, provider=provider, status=status)


def error_message(body: bytes) -> str:
    """Best-effort human message from a JSON error body of any of the supported vendors."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500] or "no error body"
    err: Any = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(err, dict):
        msg = err.get("message") or err.get("error") or err.get("detail")
        if isinstance(msg, str):
            return msg[:500]
    if isinstance(err, str):
        return err[:500]
    return text[:500]


def map_transport_error(exc: BaseException, *, provider: str) -> ProviderError:
    """Map an aiohttp failure: refused → Unavailable, slow → Timeout, cut → ServerError."""
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, unreachable, TLS handshake
        return Unavailable(f"cannot connect: {exc}", provider=provider)
    if isinstance(exc, TimeoutError):  # connect, pool wait or a read (ServerTimeoutError too)
        return Timeout(f"timed out: {type(exc).__name__}", provider=provider)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientConnectionError):
        return ServerError(f"connection dropped: {exc}", provider=provider)
    return Unavailable(f"{type(exc).__name__}: {exc}", provider=provider)


def parse_json(raw: bytes | str, *, provider: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise MalformedResponse(f"invalid JSON from provider: {exc}", provider=provider) from None


#: the C scanner under `json.loads`: (value, end) for the JSON value at an index
_scan_once: Callable[[str, int], tuple[Any, int]] = vars(json.JSONDecoder())["scan_once"]


def parse_event(data: str, *, provider: str) -> Any:
    """`parse_json` for one stream event, the same result for every input: the scanner is run
    directly, and `json.loads` (its whitespace, BOM and error handling) only for an event that
    is not one bare JSON value."""
    try:
        value, end = _scan_once(data, 0)
    except (StopIteration, ValueError):
        return parse_json(data, provider=provider)
    return value if end == len(data) else parse_json(data, provider=provider)


async def iter_sse(response: StreamReply) -> AsyncIterator[tuple[str, str]]:
    """Yield ``(event, data)`` for each server-sent event (``event`` is "" when unnamed), read
    straight from the body: one generator, whatever the chunking."""
    lines = LineSplitter()
    event = ""
    data: list[str] = []
    while True:
        chunk = await response.read_chunk()
        for line in lines.feed(chunk) if chunk else [*lines.close(), ""]:
            if line[:6] == "data: ":  # nearly every line
                data.append(line[6:])
            elif not line:
                if data:
                    yield event, "\n".join(data)
                    if response.finished:  # the adapter saw the protocol's last event
                        return
                event, data = "", []
            elif line[0] != ":":  # a ":" line is a comment
                field, _, value = line.partition(":")
                value = value[1:] if value[:1] == " " else value
                if field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
        if not chunk:
            return


@functools.lru_cache(maxsize=256)
def is_loopback_url(url: str) -> bool:
    """True when ``url`` points at this machine (used to classify providers as local).

    Cached: the router asks for every candidate of every request."""
    return is_local_url(url)
