"""L3: answers on disk in a ``diskcache.Cache``, shared by every server process on the machine.

diskcache is SQLite underneath and safe across processes. A lookup is one indexed SELECT in WAL
mode (about 8 µs), which never waits for writers: it runs on the event loop, on a connection of
its own whose busy timeout is a few milliseconds, because handing it to a thread and back costs
ten times the read. Writes, deletes, and a read that did find the file locked (rare: a
checkpoint or a recovery) run on one dedicated worker thread, which may wait up to
``DISK_TIMEOUT_SECONDS``; its connection and the loop's are closed by ``aclose``.
Values are JSON text (a ``Record``); the ``Disk`` subclass below refuses to unpickle anything a
foreign writer may have put in the directory.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import diskcache

log = logging.getLogger(__name__)

T = TypeVar("T")

#: SQLite busy timeout: a cache read or write waits at most this long for another process.
DISK_TIMEOUT_SECONDS = 1.0
#: ... and a read on the event loop this long, before it goes to the worker thread instead
LOOP_READ_TIMEOUT_SECONDS = 0.005


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/magray`` (``~/.cache/magray`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "magray"


def responses_dir(configured: str | None) -> Path:
    """Where answers live: ``<cache dir>/responses``; ``cache.dir`` defaults as above."""
    root = Path(configured).expanduser() if configured else default_cache_dir()
    return root / "responses"


class _Refused(Exception):
    """A stored value or key is pickled: never unpickled, treated as corrupt."""


class _JsonOnlyDisk(diskcache.Disk):  # type: ignore[misc]
    """diskcache's ``Disk`` minus unpickling: keys and values we write are plain ``str``."""

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:  # a pickled key: not ours
            return None
        return super().get(key, raw)

    def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> Any:
        if mode == diskcache.core.MODE_PICKLE:
            raise _Refused
        try:
            return super().fetch(mode, filename, value, read)
        except UnicodeDecodeError:  # a value file torn by a crash or overwritten: not ours
            raise _Refused from None


class DiskTier:
    """Async facade over a ``diskcache.Cache`` in ``directory`` (opened on first use).

    Errors never reach the caller: a busy database is a miss (or a skipped write), any other
    failure produces one warning through ``on_warning`` and the tier keeps trying quietly.
    """

    def __init__(self, directory: Path, *, on_warning: Callable[[str], None]) -> None:
        self.directory = directory
        self._on_warning = on_warning
        self._cache: Any = None
        #: the same cache with a short busy timeout, for reads on the event loop's thread
        self._loop_reader: Any = None
        self._broken = False
        self._warned = False
        self._closed = False
        self._open_lock = asyncio.Lock()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="magray-cache-disk"
        )

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    async def _ready(self) -> Any:
        if self._cache is not None:
            return self._cache
        if self._broken or self._closed:
            return None
        async with self._open_lock:
            if self._cache is None and not self._broken and not self._closed:
                try:
                    self._cache = await self._call(self._open)
                except Exception as exc:
                    self._broken = True
                    self._warn(f"cannot open the disk cache at {self.directory}: {exc}")
                if self._cache is not None:
                    try:
                        self._loop_reader = await self._call(
                            self._open_cache, LOOP_READ_TIMEOUT_SECONDS
                        )
                    except Exception as exc:  # reads go to the worker thread then
                        log.debug("no event-loop reader for the disk cache: %s", exc)
        return self._cache

    def _open(self) -> Any:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            return self._open_cache()
        except sqlite3.DatabaseError as exc:  # "file is not a database", a torn page, ...
            if isinstance(exc, sqlite3.OperationalError):
                raise  # locked, read-only, no space: not corruption, nothing to move aside
            moved = self._quarantine()
            log.warning("disk cache index was corrupt (%s); moved to %s", exc, moved)
            return self._open_cache()

    def _open_cache(self, timeout: float = DISK_TIMEOUT_SECONDS) -> Any:
        return diskcache.Cache(str(self.directory), timeout=timeout, disk=_JsonOnlyDisk)

    def _quarantine(self) -> Path:
        """Move a corrupt index aside (kept for a post-mortem) so a fresh one can be made; the
        answers it indexed are only a cache, losing them costs a provider call each."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.directory / f"cache.db.corrupt-{stamp}-{os.getpid()}"
        for suffix in ("", "-wal", "-shm"):
            source = self.directory / f"cache.db{suffix}"
            if source.exists():
                source.replace(target.with_name(target.name + suffix))
        return target

    def _warn(self, message: str) -> None:
        if self._warned:
            log.debug("%s", message)
            return
        self._warned = True
        self._on_warning(message)

    def _failed(self, what: str, exc: BaseException) -> None:
        if isinstance(exc, diskcache.Timeout):
            log.debug("disk cache busy during %s", what)
        else:
            self._warn(f"disk cache {what} failed ({type(exc).__name__}: {exc}); continuing")

    async def get(self, key: str) -> object | None:
        """The raw stored value (normally a JSON ``str``), or ``None``.

        A value that cannot even be read (pickled, missing file) is deleted and reads as ``None``.
        """
        cache = await self._ready()
        if cache is None:
            return None
        try:
            reader = self._loop_reader
            if reader is not None:
                try:
                    found: object | None = reader.get(key)
                    return found
                except sqlite3.OperationalError:  # locked meanwhile: the worker waits for it
                    pass
            return await self._call(cache.get, key)
        except _Refused:
            await self.delete(key)
            return None
        except Exception as exc:  # never an error to the caller: a miss
            self._failed("read", exc)
            return None

    async def put(self, key: str, value: str, ttl_seconds: float | None) -> None:
        cache = await self._ready()
        if cache is None:
            return
        try:
            await self._call(cache.set, key, value, ttl_seconds)
        except Exception as exc:
            self._failed("write", exc)

    async def delete(self, key: str) -> None:
        cache = await self._ready()
        if cache is None:
            return
        try:
            await self._call(cache.delete, key)
        except Exception as exc:
            self._failed("delete", exc)

    async def clear(self) -> list[str]:
        """Remove every entry (of every process); return the keys that were removed."""
        cache = await self._ready()
        if cache is None:
            return []
        try:
            return await self._call(self._clear_sync, cache)
        except Exception as exc:
            self._failed("clear", exc)
            return []

    @staticmethod
    def _clear_sync(cache: Any) -> list[str]:
        keys = [k for k in cache.iterkeys() if isinstance(k, str)]
        cache.clear(retry=True)
        return keys

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._open_lock:
            cache, self._cache = self._cache, None
            reader, self._loop_reader = self._loop_reader, None
        try:
            if reader is not None:
                reader.close()  # this thread's connection (the loop's reads)
                await self._call(reader.close)  # the worker's, which opened it
            if cache is not None:
                await self._call(cache.close)
        finally:
            self._executor.shutdown(wait=False)
