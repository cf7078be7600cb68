"""Which event loop magray runs on: uvloop by default, asyncio's on request or when uvloop cannot
be imported (with a log line), a clear error when uvloop is asked for and missing. The command
line cases run `magray-lsp` in a child process with uvloop really made unimportable."""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from magray_lsp import event_loop
from magray_lsp.errors import MagrayError

UVLOOP = version("uvloop")  # what the loop labels name

ENV = event_loop.ENV_VAR


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """No MAGRAY_EVENT_LOOP (the suite may run with one, to test on asyncio's loop)."""
    monkeypatch.delenv(ENV, raising=False)


def test_uvloop_is_the_default(unset: None) -> None:
    choice = event_loop.choose()
    assert (choice.name, choice.fallback) == ("uvloop", False)
    assert choice.label == f"uvloop {version('uvloop')}"
    assert event_loop.run(loop_module()).startswith("uvloop")


@pytest.mark.parametrize("value", ["asyncio", " AsyncIO "])
def test_the_environment_asks_for_asyncio(value: str) -> None:
    choice = event_loop.choose({ENV: value})
    assert (choice.name, choice.fallback) == ("asyncio", False)
    assert choice.label == f"asyncio ({ENV}=asyncio)"
    assert event_loop.run(loop_module(), choice).startswith("asyncio")


@pytest.mark.parametrize("value", ["uvloop", "UVLOOP", ""])
def test_the_environment_asks_for_uvloop_or_leaves_it_to_magray(value: str) -> None:
    choice = event_loop.choose({ENV: value})
    assert choice.name == "uvloop"
    assert event_loop.run(loop_module(), choice).startswith("uvloop")


def test_an_unknown_loop_name_is_a_clear_error_and_the_coroutine_is_not_left_unawaited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(MagrayError, match=f"{ENV}=trio: expected one of uvloop, asyncio"):
        event_loop.choose({ENV: "trio"})
    monkeypatch.setenv(ENV, "trio")
    main = loop_module()
    with pytest.raises(MagrayError):
        event_loop.run(main)
    assert inspect.getcoroutinestate(main) == "CORO_CLOSED"  # no "never awaited" warning


def test_doctor_names_the_loop_a_test_loop_was_not_made_by_magray(unset: None) -> None:
    async def label() -> str:
        return event_loop.running_loop_label()

    assert event_loop.run(label()) == f"uvloop {version('uvloop')}"
    # a loop made elsewhere (here: asyncio's, while uvloop would have been chosen) says so
    elsewhere = asyncio.run(label())
    assert elsewhere.startswith("asyncio (") and elsewhere.endswith(", not started by magray)")


@pytest.fixture
def gc_threshold() -> Iterator[None]:
    """The collector's thresholds as they were, afterwards (`run` changes them for the process)."""
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def young_collections_while_holding(n: int) -> int:
    """Young-generation collections while ``n`` new containers are made and kept alive."""
    gc.collect()  # the young generation's count starts at 0
    before = gc.get_stats()[0]["collections"]
    held: list[list[int]] = [[] for _ in range(n)]
    after = gc.get_stats()[0]["collections"]
    del held
    return int(after - before)


async def collections_in_loop(n: int) -> tuple[int, int]:
    return gc.get_threshold()[0], young_collections_while_holding(n)


def test_run_collects_young_objects_ten_times_less_often(gc_threshold: None) -> None:
    # requests in flight hold thousands of objects: at CPython's pace (700) they are walked
    # every few hundred allocations, at magray's not before 10,000
    gc.set_threshold(700, 10, 10)
    assert young_collections_while_holding(5_000) >= 5
    threshold, collections = event_loop.run(collections_in_loop(5_000))
    assert threshold == event_loop.YOUNG_GC_THRESHOLD == 10_000
    assert collections == 0
    assert gc.get_threshold() == (10_000, 10, 10)  # older generations at their own pace


@pytest.mark.parametrize("young", [50_000, 0])
def test_a_higher_threshold_or_a_collector_turned_off_stays(gc_threshold: None, young: int) -> None:
    gc.set_threshold(young, 20, 30)
    assert event_loop.run(collections_in_loop(0))[0] == young
    assert gc.get_threshold() == (young, 20, 30)


# -- the command line, in a child process ------------------------------------------------------


def magray(
    tmp_path: Path, *args: str, block: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`magray-lsp ARGS` with ``env`` on top of this one; ``block``: a `uvloop` module that raises
    this statement's exception shadows the real one (a broken or missing install)."""
    full = {k: v for k, v in os.environ.items() if k != ENV} | env
    if block is not None:
        shadow = tmp_path / "shadow"
        shadow.mkdir(exist_ok=True)
        (shadow / "uvloop.py").write_text(block + "\n")
        full["PYTHONPATH"] = os.pathsep.join([str(shadow), full.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "magray_lsp", *args],
        cwd=tmp_path,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def doctor_loop(done: subprocess.CompletedProcess[str]) -> str:
    assert done.stdout, done.stderr
    loop: str = json.loads(done.stdout)["eventLoop"]
    return loop


def test_doctor_runs_on_uvloop_and_says_so(tmp_path: Path) -> None:
    done = magray(tmp_path, "doctor", "--json")
    assert doctor_loop(done) == f"uvloop {version('uvloop')}"
    assert "event loop" not in done.stderr
    text = magray(tmp_path, "doctor")
    assert f"event loop: uvloop {version('uvloop')}\n" in text.stdout


def test_doctor_on_asyncio_when_asked(tmp_path: Path) -> None:
    done = magray(tmp_path, "doctor", "--json", **{ENV: "asyncio"})
    assert doctor_loop(done) == f"asyncio ({ENV}=asyncio)"
    assert "event loop" not in done.stderr  # asked for: nothing to warn about


@pytest.mark.parametrize(
    ("block", "why"),
    [
        ("raise ModuleNotFoundError('no uvloop here', name='uvloop')", "uvloop is not installed"),
        (
            "raise ImportError('undefined symbol: PyFoo')",
            "uvloop could not be imported (ImportError: undefined symbol: PyFoo)",
        ),
        (
            "raise RuntimeError('built for another Python')",
            "uvloop could not be imported (RuntimeError: built for another Python)",
        ),
    ],
)
def test_without_uvloop_the_cli_falls_back_to_asyncio_with_one_log_line(
    tmp_path: Path, block: str, why: str
) -> None:
    done = magray(tmp_path, "doctor", "--json", block=block)
    assert doctor_loop(done) == f"asyncio ({why})"
    assert done.stderr.count(f"running on asyncio's event loop: {why}") == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_uvloop_asked_for_but_missing_is_a_clear_error(tmp_path: Path) -> None:
    block = "raise ImportError('undefined symbol: PyFoo')"
    done = magray(tmp_path, "doctor", "--json", block=block, **{ENV: "uvloop"})
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == (
        f"magray-lsp: {ENV}=uvloop, but uvloop could not be imported "
        "(ImportError: undefined symbol: PyFoo)"
    )


def test_an_unknown_loop_name_stops_the_cli_before_it_does_anything(tmp_path: Path) -> None:
    done = magray(tmp_path, "stats", "--json", **{ENV: "tokio"})
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == f"magray-lsp: {ENV}=tokio: expected one of uvloop, asyncio"


async def test_async_tests_run_on_the_loop_the_server_runs_on() -> None:
    """pytest-asyncio makes this test's loop with the conftest's factory (LOOP)."""
    from tests.conftest import LOOP

    running = asyncio.get_running_loop()
    assert event_loop.is_uvloop(running) is (LOOP.name == "uvloop")
    assert event_loop.choose().name == LOOP.name
