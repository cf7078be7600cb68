"""Benchmark start-up and memory of the language server, against baselines run alongside.

    python bench/bench_startup.py [--starts N] [--requests R] [--quick]

a) process start → `initialize` result of `python -m magray_lsp serve`, interleaved start by
   start with `python -c pass` and with a bare pygls server (no features: the floor any pygls
   server pays, mostly importing lsprotocol), plus a process that only imports the server;
b) where the import time goes (`-X importtime` self times by top-level package);
c) resident memory (VmRSS from /proc/<pid>/status) after `initialize`, after the first action
   (which loads the provider stack lazily) and after R requests (edit + listing, cache-hit
   explain, hover in turn), against the bare pygls server idle;
d) import time and memory of `magray_lsp.gateway` (routing, retry, fallback, cache, cost) and of
   the whole server, against `import litellm` in the LiteLLM venv (bench/.venv-litellm, made by
   `make bench`); without that venv the row says so.
Goals (issue): start → initialize < 1 s; idle RSS < 80 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    ROOT,
    add_loop_option,
    command_line,
    fake_openai,
    is_quick,
    load_average,
    machine,
    median,
    ms,
    run_on_loop,
    table,
    use_loop,
    verdict,
    write_result,
)
from bench_lsp import (
    SAMPLE,
    BigFile,
    Client,
    RpcError,
    code_action_params,
    import_profile,
    initialize_params,
    magray_toml,
    run_process,
    server_env,
    session,
)

GOAL_START = 1.0
GOAL_IDLE_RSS_MB = 80.0
SERVE = [sys.executable, "-m", "magray_lsp", "serve"]
# The floor of any pygls server: construct one with no features and serve stdio.
BARE_PYGLS = [
    sys.executable,
    "-c",
    "from pygls.lsp.server import LanguageServer; LanguageServer('bare', '0').start_io()",
]
# Import, then report in-process import seconds and VmRSS; leave without interpreter teardown.
_IMPORT_PROBE = """
import os, time, json
t = time.perf_counter()
import {module}
took = time.perf_counter() - t
rss = [l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1]
print(json.dumps({{"seconds": took, "rss_kb": int(rss)}}), flush=True)
os._exit(0)
"""
LITELLM_PYTHON = Path(
    os.environ.get("BENCH_LITELLM_PYTHON") or ROOT / "bench" / ".venv-litellm" / "bin" / "python"
)


def import_tree(stderr: str) -> list[tuple[int, int, str]]:
    """`-X importtime` lines as (depth, self µs, module), in the order Python reports them."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _, name = line[len("import time:") :].split("|")
        if not own.strip().isdigit():
            continue
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        rows.append((depth, int(own), name.strip()))
    return rows  # post-order: a module's line follows those of the modules it imported


def attribute(rows: list[tuple[int, int, str]], after: str) -> list[tuple[str, str, float]]:
    """Of what is imported after module `after`: self time summed by (what, imported by), where
    `what` is a magray subpackage or a third-party top-level package and `imported by` the
    innermost magray module above it. Largest first, seconds."""
    done = next(i for i, row in enumerate(rows) if row[2] == after)
    later = rows[done + 1 :][::-1]  # reversed post-order: each module before what it imported
    totals: dict[tuple[str, str], float] = {}
    stack: list[tuple[int, str]] = []
    for level, own, name in later:
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, name))
        parts = name.split(".")
        if parts[0] == "magray_lsp":
            what = ".".join(parts[:2])
            owner = "(its own code)"
        else:
            what = parts[0]
            owners = [n for _, n in stack[:-1] if n.startswith("magray_lsp")]
            owner = owners[-1] if owners else "(not under magray_lsp)"
        totals[(what, owner)] = totals.get((what, owner), 0.0) + own / 1e6
    return sorted(((w, o, t) for (w, o), t in totals.items()), key=lambda r: -r[2])


async def magray_import_profile(env: dict[str, str]) -> dict[str, Any]:
    """Where the import time goes once pygls and lsprotocol are loaded (what a bare pygls
    server pays too): magray's own subpackages and the packages they pull in."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-X",
        "importtime",
        "-c",
        "import lsprotocol.types, pygls.lsp.server; import magray_lsp.lsp.server",
        env=env,
        cwd=str(ROOT),
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    rows = attribute(import_tree(err.decode()), "pygls.lsp.server")
    return {"rows": rows[:14], "total": sum(t for _, _, t in rows)}


def rss_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB (2**20 bytes)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


async def time_initialize(command: list[str], env: dict[str, str], ws: Path, log: Path) -> float:
    """Seconds from spawning `command` to reading its `initialize` result."""
    start = time.perf_counter()
    client = await Client.spawn(env, log, command)
    try:
        result, received = await client.send("initialize", initialize_params(ws))
        if isinstance(result, RpcError):
            raise result
        client.notify("initialized", {})
        return received - start
    finally:
        await client.close()


async def startup(
    env: dict[str, str], as_is: dict[str, str], ws: Path, log: Path, n: int, warm: bool = True
) -> dict[str, list[float]]:
    """n rounds, each variant once per round (so drift hits all of them alike)."""
    if warm:  # fill the bytecode cache
        await time_initialize(SERVE, env, ws, log)
        await time_initialize(BARE_PYGLS, env, ws, log)
    out: dict[str, list[float]] = {k: [] for k in ("pass", "bare", "initialize", "as_is")}
    for _ in range(n):
        out["pass"].append(await run_process([sys.executable, "-c", "pass"], env))
        out["bare"].append(await time_initialize(BARE_PYGLS, env, ws, log))
        out["initialize"].append(await time_initialize(SERVE, env, ws, log))
        out["as_is"].append(await time_initialize(SERVE, as_is, ws, log))
    return out


def explain_at(big: BigFile) -> dict[str, Any]:
    pos = {"line": big.line, "character": 10}
    return {
        "command": "magray.explain",
        "arguments": [{"uri": big.uri, "range": {"start": pos, "end": pos}}],
    }


async def memory(
    env: dict[str, str], ws: Path, log: Path, requests: int, settle: float = 1.0
) -> dict[str, Any]:
    """RSS of the bare pygls server and of magray idle, after its first action, and after
    `requests` more requests on a 1,000-line file."""
    out: dict[str, Any] = {}
    # Warm-up: the modules an action loads get their bytecode cached first (a fresh
    # PYTHONPYCACHEPREFIX would compile genai-prices' 1.6 MB price table inside the measured
    # server: +70 MB peak that no installed copy pays). Another unit, so no cache hit later.
    async with session(env, ws, log) as warm:
        other = BigFile(ws, 1200, "warm_up.py")
        await other.open(warm)
        answer, _ = await warm.request("workspace/executeCommand", explain_at(other))
        if not (isinstance(answer, dict) and answer.get("ok")):
            raise RuntimeError(f"explain failed: {answer}")
    async with session(env, ws, log, BARE_PYGLS) as bare:
        await asyncio.sleep(settle)
        out["bare_idle"] = rss_mb(bare.proc.pid)
    async with session(env, ws, log) as client:
        await asyncio.sleep(settle)  # let `initialized` (config pull, diagnostics) finish
        pid = client.proc.pid
        out["idle"] = rss_mb(pid)
        big = BigFile(ws, 1000, "memory.py")
        await big.open(client)
        explain = explain_at(big)
        first, _ = await client.request("workspace/executeCommand", explain)
        if not (isinstance(first, dict) and first.get("ok")):
            raise RuntimeError(f"explain failed: {first}")
        out["after_first_action"] = rss_mb(pid)
        hover = {
            "textDocument": {"uri": big.uri},
            "position": {"line": big.line, "character": 10},
        }
        done = 0
        while done < requests:
            await big.edit_and_list(client, 1)  # didChange (a notification) + codeAction
            result, _ = await client.request("workspace/executeCommand", explain)
            assert isinstance(result, dict) and result.get("ok"), result
            await client.request("textDocument/hover", hover)
            done += 3
        # the same listing at many positions, so per-position memoization would show
        for i in range(min(requests // 10, 100)):
            await client.request(
                "textDocument/codeAction", code_action_params(big.uri, 10 + 9 * i, 4)
            )
        out["requests"] = done
        out["after_requests"] = rss_mb(pid)
    return out


async def import_probe(python: Path, module: str, env: dict[str, str]) -> dict[str, float]:
    """Wall time of the whole process and in-process import time + RSS of one `import`."""
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        str(python),
        "-c",
        _IMPORT_PROBE.format(module=module),
        env=env,
        cwd=str(ROOT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{python} -c 'import {module}' failed: {stderr.decode()[-500:]}")
    probe = json.loads(stdout.decode().strip().splitlines()[-1])
    return {"wall": wall, "seconds": probe["seconds"], "rss_mb": probe["rss_kb"] / 1024}


def litellm_python() -> Path | None:
    """The LiteLLM venv's interpreter if LiteLLM is installed there."""
    if not LITELLM_PYTHON.exists():
        return None
    probe = "import importlib.util as u, sys; sys.exit(u.find_spec('litellm') is None)"
    found = subprocess.run([str(LITELLM_PYTHON), "-c", probe], capture_output=True, check=False)
    return LITELLM_PYTHON if found.returncode == 0 else None


async def imports_vs_litellm(env: dict[str, str], n: int, warm: bool = True) -> dict[str, Any]:
    """Interleaved: each variant once per round. LiteLLM runs with its venv's bytecode as
    installed (pip compiles it); magray's is cached under PYTHONPYCACHEPREFIX."""
    other = litellm_python()
    variants: list[tuple[str, Path, str]] = [
        ("magray_lsp.gateway", Path(sys.executable), "magray_lsp.gateway"),
        ("magray_lsp.lsp.server", Path(sys.executable), "magray_lsp.lsp.server"),
    ]
    if other is not None:
        variants.append(("litellm", other, "litellm"))
    lite_env = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "PYTHONPYCACHEPREFIX")}
    for _, python, module in variants if warm else []:  # warm the bytecode caches
        await import_probe(python, module, lite_env if module == "litellm" else env)
    out: dict[str, Any] = {name: [] for name, _, _ in variants}
    for _ in range(n):
        for name, python, module in variants:
            probe_env = lite_env if module == "litellm" else env
            out[name].append(await import_probe(python, module, probe_env))
    out["litellm_python"] = str(other) if other else None
    if other is not None:
        probe = "import importlib.metadata as m; print(m.version('litellm'))"
        proc = await asyncio.create_subprocess_exec(
            str(other), "-c", probe, stdout=asyncio.subprocess.PIPE
        )
        version, _ = await proc.communicate()
        out["litellm_version"] = version.decode().strip()
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    load_before = load_average()
    with (
        tempfile.TemporaryDirectory(prefix="magray-bench-startup-") as tmpdir,
        fake_openai(20) as url,
    ):
        home = Path(tmpdir) / "home"
        ws = Path(tmpdir) / "ws"
        ws.mkdir()
        (ws / ".magray.toml").write_text(magray_toml(url))
        (ws / "sample.py").write_text(SAMPLE)
        env = server_env(home)
        as_is = server_env(home, bytecode=False)
        log = Path(tmpdir) / "server.log"
        start = await startup(env, as_is, ws, log, args.starts, warm=not args.quick)
        imports = await import_profile(env)
        magray_imports = await magray_import_profile(env)
        mem = await memory(env, ws, log, args.requests, 0.2 if args.quick else 1.0)
        lite = await imports_vs_litellm(env, args.import_rounds, warm=not args.quick)
    return {
        "start": start,
        "imports": {"by_package": imports[0], "total": imports[1]},
        "magray_imports": magray_imports,
        "memory": mem,
        "vs_litellm": lite,
        "elapsed": time.perf_counter() - started,
        "load": [load_before, load_average()],
        "command": command_line(),
        "machine": machine(),
        "args": vars(args),
    }


def report(data: dict[str, Any]) -> str:
    args = argparse.Namespace(**data["args"])
    start = data["start"]
    base = median(start["pass"])
    bare = median(start["bare"])
    init = median(start["initialize"])
    dont_write = os.environ.get("PYTHONDONTWRITEBYTECODE", "") or "unset"

    def row(label: str, samples: list[float]) -> tuple[str, ...]:
        m = median(samples)
        return (label, ms(m), ms(max(samples)), f"{m / base:.1f}×", f"{m / bare:.2f}×")

    start_rows = [
        row("`python -c pass`", start["pass"]),
        row("bare pygls server (no features) → `initialize` result", start["bare"]),
        row("**`python -m magray_lsp serve` → `initialize` result**", start["initialize"]),
        row(f"same, environment as is (PYTHONDONTWRITEBYTECODE={dont_write})", start["as_is"]),
    ]
    total = data["imports"]["total"]
    import_rows = [
        (f"`{name}`", ms(t), f"{t / total:.0%}") for name, t in data["imports"]["by_package"]
    ]
    magray_rows = [
        (f"`{what}`", f"`{owner}`" if owner.startswith("magray") else owner, ms(t))
        for what, owner, t in data["magray_imports"]["rows"]
    ]
    mem = data["memory"]
    idle = mem["idle"]["VmRSS"]
    bare_idle = mem["bare_idle"]["VmRSS"]

    def mem_row(label: str, m: dict[str, float]) -> tuple[str, ...]:
        return (label, f"{m['VmRSS']:.1f}", f"{m['VmHWM']:.1f}", f"{m['VmRSS'] - bare_idle:+.1f}")

    mem_rows = [
        mem_row("bare pygls server, idle after `initialize`", mem["bare_idle"]),
        mem_row("**magray, idle after `initialize`**", mem["idle"]),
        mem_row("magray after its first action (provider stack loaded)", mem["after_first_action"]),
        mem_row(f"magray after {mem['requests']} more requests", mem["after_requests"]),
    ]
    lite = data["vs_litellm"]
    lite_rows = []
    names = [k for k in ("magray_lsp.gateway", "magray_lsp.lsp.server", "litellm") if k in lite]
    gateway_import = median([p["seconds"] for p in lite["magray_lsp.gateway"]])
    for name in names:
        probes = lite[name]
        seconds = median([p["seconds"] for p in probes])
        lite_rows.append(
            (
                f"`import {name}`",
                ms(seconds),
                ms(median([p["wall"] for p in probes])),
                f"{median([p['rss_mb'] for p in probes]):.1f}",
                f"{seconds / gateway_import:.2f}×",
            )
        )
    if lite["litellm_python"] is None:
        where = str(LITELLM_PYTHON).replace(f"{ROOT}/", "")
        lite_note = (
            f"LiteLLM is **not installed** for `{where}` (`make bench` installs it), so this "
            "run has no LiteLLM row."
        )
    else:
        lite_note = f"LiteLLM {lite.get('litellm_version', '?')} from its own venv."
    out = [
        "### Start-up and memory (`bench_startup.py`)",
        "",
        f"Command: `{data['command']}` (took {data['elapsed']:.0f} s). Machine: {data['machine']}; "
        f"1-minute load average {data['load'][0]:.1f} at the start, {data['load'][1]:.1f} at the "
        "end.",
        "",
        f"Start ({args.starts} rounds, the variants interleaved; workspace with a `.magray.toml`; "
        "bytecode cached under a temporary PYTHONPYCACHEPREFIX unless noted). The bare pygls "
        "server is the floor of any pygls server here: it imports pygls and lsprotocol and "
        "answers `initialize` with no features.",
        "",
        table(
            ["process", "median ms", "max ms", "× `python -c pass`", "× bare pygls"],
            start_rows,
            "lrrrr",
        ),
        "",
        f"- Start goal < 1 s: {verdict(init, GOAL_START)} ({ms(init)} ms median, "
        f"{ms(init - bare)} ms more than the bare pygls server).",
        "",
        "Import time of `magray_lsp.lsp.server` (what is loaded before `initialize` is "
        "answered) by top-level package (sum of `-X importtime` "
        f"self times, one run; total {ms(total)} ms, inflated by `-X importtime`):",
        "",
        table(["package", "ms", "share"], import_rows[:10], "lrr"),
        "",
        "What magray adds to that floor: the imports after `lsprotocol.types` and "
        "`pygls.lsp.server` (`-X importtime` self times summed by magray subpackage, or by "
        "third-party package and the innermost magray module that imported it; total "
        f"{ms(data['magray_imports']['total'])} ms, one run, inflated by `-X importtime`):",
        "",
        table(["module or package", "imported by", "ms"], magray_rows, "llr"),
        "",
        "Resident memory (`/proc/<pid>/status`; MB = 2²⁰ bytes). Requests: a 1-char "
        "`didChange` + `codeAction` listing, a cache-hit `magray.explain` and a `hover` in turn "
        "on a 1,000-line file, then listings at other positions:",
        "",
        table(["server", "VmRSS MB", "VmHWM (peak) MB", "− bare pygls idle"], mem_rows, "lrrr"),
        "",
        f"- Idle RSS goal < 80 MB: {verdict(idle, GOAL_IDLE_RSS_MB)} ({idle:.1f} MB; "
        f"{idle - bare_idle:+.1f} MB over the bare pygls server).",
        "",
        f"Import time and memory against LiteLLM ({args.import_rounds} rounds interleaved; "
        "in-process time of the `import` statement, the whole process's wall time, and VmRSS "
        "right after the import). `magray_lsp.gateway` is the part comparable to LiteLLM "
        "(routing, retry, fallback, cache, cost ledger, providers load lazily on first use); "
        "`magray_lsp.lsp.server` is what the server imports before it answers `initialize` "
        "(the gateway, actions and context stack load right after):",
        "",
        table(
            ["import", "import ms (median)", "process wall ms", "RSS MB", "× magray gateway"],
            lite_rows,
            "lrrrr",
        ),
        "",
        f"- {lite_note}",
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=10, help="rounds of server starts")
    parser.add_argument("--requests", type=int, default=1000, help="requests before the RSS")
    parser.add_argument("--import-rounds", type=int, default=7, help="rounds of import probes")
    parser.add_argument("--quick", action="store_true", help="tiny setting (smoke test)")
    add_loop_option(parser)
    args = parser.parse_args()
    use_loop(args.loop)
    if args.quick or is_quick():
        args.quick, args.starts, args.requests, args.import_rounds = True, 1, 30, 1
    data = run_on_loop(main_async(args))
    init = median(data["start"]["initialize"])
    idle = data["memory"]["idle"]["VmRSS"]
    data["goals"] = [
        {
            "goal": "start → `initialize` result < 1 s",
            "measured": f"{ms(init)} ms median (bare pygls: {ms(median(data['start']['bare']))})",
            "met": init < GOAL_START,
        },
        {"goal": "idle RSS < 80 MB", "measured": f"{idle:.1f} MB", "met": idle < GOAL_IDLE_RSS_MB},
    ]
    markdown = report(data)
    write_result("startup", markdown, data)
    print(markdown)


if __name__ == "__main__":
    main()
