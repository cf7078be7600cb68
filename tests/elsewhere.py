"""Destinations that are not loopback, reachable from the tests, that notice every connection.

Privacy tests must show that private code is refused *before* a connection is even attempted to
anything that is not loopback. Fakes on 127.0.0.1 cannot show that for a real non-loopback host,
so this module offers:

- `non_loopback_address()`: an address of this machine on another interface (e.g. eth0's), which
  the locality guard must treat as remote, yet a test can listen on;
- `Tripwire`: a TCP listener that counts accepted connections and, optionally, forwards them to a
  real fake (so a public request still gets an answer through it);
- `Resolver`: a name only the test's resolver knows, pointing at such a listener (the guard must
  not trust a DNS name, whatever it resolves to); `Resolver.new_loop` makes an event loop whose
  lookups it sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import ipaddress
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any, Self

_SIOCGIFADDR = 0x8915


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (None when there is none)."""
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                packed = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()))
            except OSError:  # no IPv4 address on this interface
                continue
        address = socket.inet_ntoa(packed[20:24])
        if not ipaddress.ip_address(address).is_loopback:
            with contextlib.suppress(OSError), socket.socket() as probe:
                probe.bind((address, 0))  # usable for listening here
                return address
    return None


class Tripwire:
    """Counts TCP connections to ``host:port``; forwards each to ``target`` when one is given,
    else closes it at once. Runs its own event loop in a thread."""

    def __init__(self, host: str, target: tuple[str, int] | None = None) -> None:
        self.host = host
        self.target = target
        self.port = 0
        self.accepted = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def reset(self) -> None:
        with self._lock:
            self.accepted = 0

    def start(self) -> Self:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            server = loop.run_until_complete(asyncio.start_server(self._handle, self.host, 0))
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            server.close()
            loop.run_until_complete(server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, name="tripwire", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.accepted += 1
        if self.target is None:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Resolver:
    """Names only this test process resolves (``socket.getaddrinfo`` is patched while active),
    counting every lookup of them: a refused request must not even resolve its host."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.lookups = 0
        self._original = socket.getaddrinfo
        self._lock = threading.Lock()

    def _getaddrinfo(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name in self.names:
            with self._lock:
                self.lookups += 1
            host = self.names[name]
        return self._original(host, *args, **kwargs)

    @staticmethod
    def new_loop(factory: Callable[[], asyncio.AbstractEventLoop]) -> asyncio.AbstractEventLoop:
        """A loop from ``factory`` whose ``getaddrinfo`` calls ``socket.getaddrinfo``, as asyncio's
        does: uvloop's resolves in libuv, where the patch never sees the lookup."""
        loop = factory()
        if not type(loop).__module__.startswith("uvloop"):
            return loop
        loop.close()
        return _socket_lookup_uvloop()()

    @contextlib.contextmanager
    def active(self) -> Iterator[Self]:
        socket.getaddrinfo = self._getaddrinfo
        try:
            yield self
        finally:
            socket.getaddrinfo = self._original


def _socket_lookup_uvloop() -> type[asyncio.AbstractEventLoop]:
    import uvloop

    class SocketLookupUVLoop(uvloop.Loop):
        async def getaddrinfo(
            self, host: Any, port: Any, *, family: int = 0, type: int = 0, proto: int = 0,
            flags: int = 0,
        ) -> Any:  # fmt: skip
            lookup = functools.partial(socket.getaddrinfo, host, port, family, type, proto, flags)
            return await self.run_in_executor(None, lookup)

    return SocketLookupUVLoop
