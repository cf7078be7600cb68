"""Disk-tier lookups run on the event loop (one indexed read, cheaper than a thread hop), so a
read never waits behind the worker thread's writes; a file locked by another connection sends
the read to the worker, which waits for the lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from magray_lsp.cache.disk import DiskTier, responses_dir


def tier(tmp_path: Path, warnings: list[str]) -> DiskTier:
    return DiskTier(responses_dir(str(tmp_path / "cache")), on_warning=warnings.append)


async def test_a_read_does_not_wait_for_the_worker_thread(tmp_path: Path) -> None:
    warnings: list[str] = []
    disk = tier(tmp_path, warnings)
    await disk.put("k", '{"stored": true}', None)
    busy = threading.Event()
    release = threading.Event()

    def slow_write() -> None:  # the worker thread, busy (a large answer being written)
        busy.set()
        release.wait(30)

    blocked = asyncio.get_running_loop().run_in_executor(disk._executor, slow_write)
    try:
        await asyncio.to_thread(busy.wait, 30)
        found = await asyncio.wait_for(disk.get("k"), 10)
        missing = await asyncio.wait_for(disk.get("other"), 10)
        assert not blocked.done()  # both answered while the worker was still busy
    finally:
        release.set()
        await blocked
    assert (found, missing) == ('{"stored": true}', None)
    await disk.aclose()
    assert warnings == []


class _LockedReader:
    """The loop's connection finding the file locked (SQLite's BUSY, which a WAL reader meets
    only during a recovery or a journal-mode change by another process: not producible here
    while this process holds the file open)."""

    def get(self, key: str) -> object:
        raise sqlite3.OperationalError("database is locked")

    def close(self) -> None:
        pass


async def test_a_locked_file_sends_the_read_to_the_worker(tmp_path: Path) -> None:
    warnings: list[str] = []
    disk = tier(tmp_path, warnings)
    await disk.put("k", '"value"', None)
    real = disk._loop_reader
    disk._loop_reader = _LockedReader()
    try:
        assert await disk.get("k") == '"value"'  # the worker's connection read it
        assert await disk.get("other") is None
    finally:
        disk._loop_reader = real
    await disk.aclose()
    assert warnings == []  # a busy read is not worth a warning
