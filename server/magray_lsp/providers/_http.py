"""HTTP plumbing shared by the HTTP providers: one pooled client, error mapping, stream framing.

The client uses the aiohttp transport (``httpx-aiohttp``): httpx's own pool is several times slower
under concurrency, and the httpx API stays the same for the adapters.
"""

from __future__ import annotations

import functools
import json
import re
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

import httpx

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

#: Largest response body read from a provider (streamed or not); far above any real answer.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024

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


def make_client(
    *,
    base_url: str,
    timeout_seconds: float,
    headers: Mapping[str, str],
    max_concurrency: int,
    provider: str = "",
    remote: bool = False,
) -> httpx.AsyncClient:
    """One pooled client per provider, sized from the section's ``max_concurrency``; every call
    inherits its timeouts.

    The transport is wrapped in the locality guard: while private content is in flight, a request
    to anywhere but this machine (or to a section marked ``remote``) is refused unsent.
    """
    from httpx_aiohttp import AiohttpTransport

    connections = pool_size(max_concurrency)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    timeout = httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds))
    return httpx.AsyncClient(
        base_url=base_url,
        headers=dict(headers),
        timeout=timeout,
        transport=LocalityGuardTransport(
            CappedTransport(
                AiohttpTransport(limits=limits, trust_env=False, verify=_ssl_context()),
                provider=provider or base_url,
            ),
            provider=provider or base_url,
            remote=remote,
        ),
        trust_env=False,
    )


class LocalityGuardTransport(httpx.AsyncBaseTransport):
    """Checks every request against the locality guard before the inner transport sees it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, provider: str, remote: bool) -> None:
        self._inner = inner
        self._provider = provider
        self._remote = remote

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        check_destination(request.url, provider=self._provider, remote=self._remote)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class CappedTransport(httpx.AsyncBaseTransport):
    """Caps every response body at ``MAX_RESPONSE_BYTES``: a provider that streams forever (or
    sends a gigabyte of JSON) fails with ``AnswerTooLong`` instead of filling memory. Applies to
    streamed and whole bodies alike, before any adapter parses a byte."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, provider: str) -> None:
        self._inner = inner
        self._provider = provider

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        limit = MAX_RESPONSE_BYTES
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await response.aclose()
            raise self._too_large(f"announced a {int(declared)}-byte body")
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _CappedStream(response.stream, limit, self._too_large)
        return response

    def _too_large(self, what: str) -> AnswerTooLong:
        return AnswerTooLong(
            f"the response {what}, over the {MAX_RESPONSE_BYTES}-byte limit; cut off",
            provider=self._provider,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _CappedStream(httpx.AsyncByteStream):
    def __init__(
        self,
        inner: httpx.AsyncByteStream,
        limit: int,
        too_large: Callable[[str], AnswerTooLong],
    ) -> None:
        self._inner = inner
        self._limit = limit
        self._too_large = too_large

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        async for chunk in self._inner:
            received += len(chunk)
            if received > self._limit:
                raise self._too_large(f"passed {self._limit} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def post_request(client: httpx.AsyncClient, path: str, body: Any) -> httpx.Request:
    """What ``client.build_request("POST", path, json=body)`` builds, for ``client.send``; but
    the endpoint's URL is merged with the base URL once per client and path, not parsed and
    joined again for every request (a tenth of the client's time per call under load)."""
    endpoints = _ENDPOINTS.get(client)
    if endpoints is None:
        endpoints = _ENDPOINTS[client] = {}
    url = endpoints.get(path)
    if url is None:
        url = endpoints[path] = client.build_request("POST", path).url
    request = httpx.Request(
        "POST",
        url,
        headers=client.headers,
        json=body,
        extensions={"timeout": client.timeout.as_dict()},
    )
    if client.cookies:
        client.cookies.set_cookie_header(request)
    return request


_ENDPOINTS: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[str, httpx.URL]] = (
    weakref.WeakKeyDictionary()
)


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: loading the CA bundle costs tens of ms."""
    return httpx.create_ssl_context(trust_env=False)


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


async def check_response(response: httpx.Response, *, provider: str) -> None:
    """Raise the mapped error for a non-2xx response (reads the body first)."""
    if response.status_code < 400:
        return
    body = await response.aread()
    raise error_for_status(
        response.status_code,
        error_message(body),
        provider=provider,
        headers={k.lower(): v for k, v in response.headers.items()},
    )


def map_transport_error(exc: Exception, *, provider: str) -> ProviderError:
    """Map httpx/aiohttp transport exceptions; the aiohttp cause tells refused from slow."""
    cause = exc.__cause__
    try:
        import aiohttp

        if isinstance(cause, aiohttp.ClientConnectorError):
            return Unavailable(f"cannot connect: {cause}", provider=provider)
        if isinstance(cause, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
            return ServerError(f"connection dropped: {cause}", provider=provider)
    except ImportError:  # pragma: no cover - aiohttp is a dependency
        pass
    if isinstance(exc, httpx.ConnectError):
        return Unavailable(f"cannot connect: {exc}", provider=provider)
    if isinstance(exc, httpx.TimeoutException):
        return Timeout(f"timed out: {type(exc).__name__}", provider=provider)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return ServerError(f"connection dropped: {exc}", provider=provider)
    return Unavailable(f"{type(exc).__name__}: {exc}", provider=provider)


def parse_json(raw: bytes | str, *, provider: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise MalformedResponse(f"invalid JSON from provider: {exc}", provider=provider) from None


async def iter_sse(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """Yield ``(event, data)`` for each server-sent event (``event`` is "" when unnamed)."""
    event = ""
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield event, "\n".join(data)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
    if data:
        yield event, "\n".join(data)


async def iter_ndjson(response: httpx.Response, *, provider: str) -> AsyncIterator[Any]:
    async for line in response.aiter_lines():
        if line.strip():
            yield parse_json(line, provider=provider)


@functools.lru_cache(maxsize=256)
def is_loopback_url(url: str) -> bool:
    """True when ``url`` points at this machine (used to classify providers as local).

    Cached: the router asks for every candidate of every request."""
    return is_local_url(url)
