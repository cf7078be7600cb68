"""The event loop the server and the command line run on: uvloop where it is installed, and the
garbage collector's pace for it.

On uvloop (libuv underneath) the gateway spent 10–20% less CPU per request than on asyncio's
own loop at concurrency 100 in three of four paired runs (bench/bench_throughput.py measures
both). It is not available on Windows, and an install can be broken (a wheel built for another
Python); then magray runs on asyncio's loop and says why in one log line, rather than not
starting.
``MAGRAY_EVENT_LOOP=asyncio|uvloop`` overrides the choice; asking for uvloop where it cannot be
imported is an error, not a silent fallback, so a benchmark or a bug report never names the
wrong loop.

Loops are made through ``asyncio.Runner(loop_factory=...)``, not an event loop policy: policies
are deprecated from Python 3.14 on.

`run` also raises the collector's first threshold (`pace_gc`): with 100 requests in flight,
CPython's default of 700 ran a young collection every ~25 requests, each walking every object
those requests hold (aiohttp's, the gateway's), 0.06–0.09 ms of CPU a request in
`bench/bench_throughput.py`, about a tenth of the CPU a request through the gateway costs there.
The requests leave no cyclic garbage behind (those collections freed nothing), so collecting
ten times less often costs no memory worth naming; a young collection now walks more objects
at once (a few ms, rarely).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from magray_lsp.errors import MagrayError

log = logging.getLogger(__name__)

ENV_VAR = "MAGRAY_EVENT_LOOP"
LoopName = Literal["uvloop", "asyncio"]
LOOP_NAMES: tuple[LoopName, ...] = ("uvloop", "asyncio")

T = TypeVar("T")

#: The collector's first threshold in a magray process: ten times CPython's default (700).
YOUNG_GC_THRESHOLD = 10_000


@dataclass(frozen=True)
class LoopChoice:
    """Which loop to run on, how to make one, and why this one."""

    name: LoopName
    factory: Callable[[], asyncio.AbstractEventLoop]
    #: why this loop when it is not uvloop (``MAGRAY_EVENT_LOOP=asyncio``, or why not uvloop)
    why: str = ""
    #: asyncio's loop stands in for a uvloop that could not be had
    fallback: bool = False

    @property
    def label(self) -> str:
        """``uvloop 0.23.0``, or ``asyncio (why)``."""
        return f"uvloop {_uvloop_version()}" if self.name == "uvloop" else f"asyncio ({self.why})"


def choose(env: Mapping[str, str] | None = None) -> LoopChoice:
    """The loop ``MAGRAY_EVENT_LOOP`` asks for, else uvloop when it imports, else asyncio's.
    Raises ``MagrayError`` for an unknown name, or for uvloop asked for and not importable."""
    wanted = (env if env is not None else os.environ).get(ENV_VAR, "").strip().lower()
    if wanted and wanted not in LOOP_NAMES:
        raise MagrayError(f"{ENV_VAR}={wanted}: expected one of {', '.join(LOOP_NAMES)}")
    if wanted == "asyncio":
        return LoopChoice("asyncio", asyncio.new_event_loop, why=f"{ENV_VAR}=asyncio")
    factory, problem = _uvloop_factory()
    if factory is not None:
        return LoopChoice("uvloop", factory)
    if wanted == "uvloop":
        raise MagrayError(f"{ENV_VAR}=uvloop, but {problem}")
    return LoopChoice("asyncio", asyncio.new_event_loop, why=problem, fallback=True)


def run(main: Coroutine[Any, Any, T], choice: LoopChoice | None = None) -> T:
    """``asyncio.run(main)`` on the chosen loop (``choose()`` unless given)."""
    if choice is None:
        try:
            choice = choose()
        except MagrayError:
            main.close()  # never awaited: no "coroutine was never awaited" warning on top
            raise
    if choice.fallback:  # expected on Windows; elsewhere uvloop should have been there
        level = logging.INFO if sys.platform == "win32" else logging.WARNING
        log.log(level, "running on asyncio's event loop: %s", choice.why)
    pace_gc()
    with asyncio.Runner(loop_factory=choice.factory) as runner:
        return runner.run(main)


def pace_gc() -> None:
    """Collect young objects every `YOUNG_GC_THRESHOLD` allocations (net of deallocations)
    rather than every 700; a threshold already higher, or 0 (the collector turned off), stays."""
    young, middle, old = gc.get_threshold()
    if 0 < young < YOUNG_GC_THRESHOLD:
        gc.set_threshold(YOUNG_GC_THRESHOLD, middle, old)


def running_loop_label() -> str:
    """The running loop, as ``LoopChoice.label`` says it (for ``doctor``)."""
    loop = asyncio.get_running_loop()
    if is_uvloop(loop):
        return f"uvloop {_uvloop_version()}"
    try:
        choice = choose()
    except MagrayError as exc:
        return f"asyncio ({exc})"
    if choice.name == "uvloop":  # a loop not made by `run` (a test's, an embedding program's)
        return f"asyncio ({type(loop).__name__}, not started by magray)"
    return choice.label


def is_uvloop(loop: asyncio.AbstractEventLoop) -> bool:
    return type(loop).__module__.split(".")[0] == "uvloop"


def _uvloop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    """uvloop's loop factory, or None and why it cannot be had."""
    if sys.platform == "win32":
        return None, "uvloop does not support Windows"
    try:
        import uvloop
    except ModuleNotFoundError as exc:
        if exc.name == "uvloop":
            return None, "uvloop is not installed"
        return None, f"uvloop could not be imported (ModuleNotFoundError: {exc})"
    except Exception as exc:  # a broken build: a missing symbol, a wheel for another Python...
        return None, f"uvloop could not be imported ({type(exc).__name__}: {exc})"
    return uvloop.new_event_loop, ""


def _uvloop_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("uvloop")
    except metadata.PackageNotFoundError:
        return "?"
