"""The locality guard: private content leaves this process only over a local transport.

The router keeps cloud models out of a private task's plan and the gateway checks again before it
calls a provider; this is the last line, where the HTTP request is made. The gateway marks the
span in which a private task's request is sent (`private_content()`, a context variable, so it
follows the request through the provider's code into the transport); the HTTP client every
provider uses (`providers/_http.py`) calls `check_destination` before every request, which
refuses — before any connection is opened — a request made in that span unless its destination
is this machine (a loopback address or a unix socket) and the provider section is not marked
`remote = true`.

The guard decides from the request URL and the section's `remote` flag alone, never from the
provider's `is_local` or the router's plan, so a bug in either cannot send private code away.
It lives with the providers because their transports enforce it; the gateway only sets the mark.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol
from urllib.parse import urlsplit

from magray_lsp.errors import PrivacyViolation


class ParsedURL(Protocol):
    """A parsed URL as the HTTP clients hold it (``yarl.URL``, ``httpx.URL``)."""

    @property
    def scheme(self) -> str: ...

    @property
    def host(self) -> str | None: ...


# The label of the private request being sent, or None when the content in flight is not private.
_PRIVATE_IN_FLIGHT: ContextVar[str | None] = ContextVar("magray_private_in_flight", default=None)

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


@contextmanager
def private_content(label: str = "private content", *, active: bool = True) -> Iterator[None]:
    """Mark the code inside as sending private content (a no-op when ``active`` is false)."""
    if not active:
        yield
        return
    token = _PRIVATE_IN_FLIGHT.set(label)
    try:
        yield
    finally:
        _PRIVATE_IN_FLIGHT.reset(token)


def private_in_flight() -> bool:
    return _PRIVATE_IN_FLIGHT.get() is not None


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1, ::ffff:127.x).

    Only literals and the conventional names count: ``127.0.0.1.example.com`` is a DNS name that
    can point anywhere.
    """
    host = host.strip().lower().strip("[]")
    if host in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_local_url(url: str | ParsedURL) -> bool:
    """True when ``url`` points at this machine: a loopback host or a unix socket."""
    if isinstance(url, str):
        if url.startswith(("unix:", "http+unix:")):
            return True
        try:
            parts = urlsplit(url)
            scheme, host = parts.scheme, parts.hostname or ""
        except ValueError:
            return False
    else:
        scheme, host = url.scheme, url.host or ""
    if scheme in ("unix", "http+unix"):
        return True
    return bool(host) and is_loopback_host(host)


def check_destination(url: ParsedURL, *, provider: str, remote: bool) -> None:
    """Raise ``PrivacyViolation`` when private content is in flight and ``url`` is not local."""
    label = _PRIVATE_IN_FLIGHT.get()
    if label is None:
        return
    if remote:
        why = "its section is marked remote = true"
    elif not is_local_url(url):
        why = f"{url.host or 'its destination'} is not this machine"
    else:
        return
    raise PrivacyViolation(f"locality guard: {label} was not sent to {provider} ({why})")
