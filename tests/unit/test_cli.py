"""The headless command line, run as a real subprocess like a user would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "http_headers.py"


def magray(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "magray_lsp", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def short_answers(tmp_path: Path) -> Path:
    """Keep the real local model's answers short: the suite runs on 2 shared cores."""
    config = tmp_path / "short.toml"
    config.write_text("[llm.local.defaults]\nmax_tokens = 48\n")
    return config


def test_explain_on_embedded_local_model_json(short_answers: Path) -> None:
    pytest.importorskip("llama_cpp")
    proc = magray("explain", f"{SAMPLE}:14", "--json", "--config", str(short_answers))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["provider"] == "local" and out["model"] == "smollm2-135m-instruct"
    assert out["text"].strip()
    assert out["inputTokens"] > 50 and out["outputTokens"] > 0
    assert out["costUsd"] == "0"
    assert out["route"] == "embedded local model (the only usable provider)"


def test_explain_streams_then_prints_summary_line(short_answers: Path) -> None:
    pytest.importorskip("llama_cpp")
    proc = magray("explain", f"{SAMPLE}:14", "--config", str(short_answers))
    assert proc.returncode == 0, proc.stderr
    body, _, summary = proc.stdout.rstrip().rpartition("\n")
    assert body.strip()
    assert summary.startswith("── local · smollm2-135m-instruct · ")
    assert re.fullmatch(
        r"── local · smollm2-135m-instruct · \d+→\d+ tokens · \$0 · [\d.]+ s · month \$0", summary
    ), summary


def test_dry_run_calls_nothing_and_prices_the_plan(tmp_path: Path) -> None:
    (tmp_path / ".magray.toml").write_text(
        '[llm.openai]\napi_key = "sk-dry"\nbase_url = "http://127.0.0.1:9/v1"\n'
        '[llm.openai.models]\ndefault = "gpt-4o-mini"\n'
    )
    src = tmp_path / "a.py"
    src.write_text("def f(x):\n    return x * 2\n")
    proc = magray("explain", f"{src}:2", "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["provider"] == "openai" and plan["model"] == "gpt-4o-mini"
    assert plan["contextTokens"] > 0
    assert 0 < float(plan["estimatedCostUsd"]) < 0.01
    assert "sk-dry" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: f"{d}/missing.py:3", "no such file"),
        (lambda d: f"{d}/bin.dat:1", "binary file"),
        (lambda d: f"{d}/short.py:99", "past the end"),
        (lambda d: f"{d}/short.py", "expected FILE:LINE"),
        (lambda d: f"{d}/big.py:1", "over the 10 MB limit"),
    ],
)
def test_bad_locations_give_a_clear_error(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bin.dat").write_bytes(b"\x7fELF\x00\x00\x01")
    (tmp_path / "short.py").write_text("x = 1\n")
    with open(tmp_path / "big.py", "wb") as f:
        f.truncate(11 * 2**20)
    proc = magray("explain", make(tmp_path))
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_broken_config_is_reported_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / ".magray.toml").write_text("[llm.openai]\ntimeout_seconds = -1\n")
    src = tmp_path / "a.py"
    src.write_text("x = 1\n")
    proc = magray("explain", f"{src}:1", "--dry-run")
    assert proc.returncode == 1
    assert f"{tmp_path}/.magray.toml:2: llm.openai.timeout_seconds" in proc.stderr


def test_unknown_model_pin_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "a.py"
    src.write_text("x = 1\n")
    proc = magray("explain", f"{src}:1", "--model", "nope.code", "--dry-run")
    assert proc.returncode == 1
    assert "unknown provider 'nope'" in proc.stderr


def test_doctor_reports_keys_without_printing_them(tmp_path: Path) -> None:
    (tmp_path / ".magray.toml").write_text(
        '[llm.openai]\napi_key = "${OPENAI_API_KEY}"\n'
        '[llm.anthropic]\napi_key = "sk-ant-canary-42"\nbase_url = "http://127.0.0.1:9"\n'
    )
    proc = magray("doctor", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # the local model is usable
    report = json.loads(proc.stdout)
    rows = {r["provider"]: r for r in report["providers"]}
    assert rows["openai"]["status"] == "disabled" and "OPENAI_API_KEY" in rows["openai"]["detail"]
    assert rows["openai"]["apiKey"] == "missing"
    assert rows["anthropic"]["apiKey"] == "present"
    assert rows["anthropic"]["status"] == "error"  # nothing listens on port 9
    assert "sk-ant-canary-42" not in proc.stdout + proc.stderr


def test_doctor_says_how_unpriced_models_and_a_remote_ollama_are_counted(tmp_path: Path) -> None:
    (tmp_path / ".magray.toml").write_text(
        '[llm.house]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        '[llm.house.models]\ndefault = "house-model-7b"\n'
        '[llm.ollama]\nbase_url = "http://127.0.0.1:9"\nremote = true\n'
        '[llm.gpu]\nkind = "ollama"\nbase_url = "http://127.0.0.1:9"\n'
        "[budget]\nmonthly_usd = 5\n"
    )
    proc = magray("doctor", "--json", cwd=tmp_path)
    notes = json.loads(proc.stdout)["pricing"]
    assert notes == [
        "house.default: no price known: counted at $15/$75 per Mtok under the hard budget; "
        "set [llm.house.prices] to price it",
        "ollama.default: no price known: counted at $15/$75 per Mtok under the hard budget "
        "(Ollama at http://127.0.0.1:9 is not on this machine); "
        "set [llm.ollama.prices] to price it",
    ]  # gpu (Ollama on loopback) and the embedded model are free: no note
    (tmp_path / ".magray.toml").write_text(
        (tmp_path / ".magray.toml").read_text().replace("monthly_usd = 5", "hard_stop = false")
    )
    text = magray("doctor", cwd=tmp_path).stdout
    assert "price: house.default: its spend is not counted in the month (no hard budget)" in text


def test_schema_is_json() -> None:
    proc = magray("schema")
    assert proc.returncode == 0
    assert "ProviderConfig" in json.loads(proc.stdout)["$defs"]


def test_stats_reports_spend_and_provider_health(tmp_path: Path) -> None:
    from decimal import Decimal

    from magray_lsp.cost.ledger import Ledger, LedgerEntry, default_ledger_path

    ledger = Ledger(default_ledger_path())
    for cost, outcome in [("0.25", "ok"), ("0.50", "ok"), (None, "error")]:
        ledger.record(
            LedgerEntry(
                action="explain",
                provider="openai",
                model="gpt-4o",
                cost_usd=Decimal(cost) if cost else None,
                outcome=outcome,  # type: ignore[arg-type]
                error_type=None if cost else "ServerError",
                latency_ms=400,
            )
        )
    ledger.close()
    (tmp_path / ".magray.toml").write_text("[budget]\nmonthly_usd = 1\nwarn_at = 0.5\n")
    proc = magray("stats", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["budget"]["spentUsd"] == "0.75" and report["budget"]["limitUsd"] == "1"
    assert report["budget"]["warn"] is True and report["budget"]["exhausted"] is False
    [model] = report["models"]
    assert (model["requests"], model["ok"], model["errors"]) == (3, 2, 1)
    text = magray("stats", cwd=tmp_path).stdout
    assert "spent this month: $0.75 of $1.00 — WARNING" in text
    assert "openai/gpt-4o" in text


def test_clear_cache_empties_the_disk_tier(tmp_path: Path) -> None:
    import asyncio

    from magray_lsp.cache import CachedAnswer, ResponseCache
    from magray_lsp.config.models import CacheConfig

    async def fill() -> None:
        cache = ResponseCache(CacheConfig())
        for i in range(3):
            await cache.put(f"k{i}", CachedAnswer(text="t", provider="openai", model="m"))
        await cache.aclose()

    asyncio.run(fill())
    proc = magray("clear-cache", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "removed 3 cached answers"
    assert magray("clear-cache", cwd=tmp_path).stdout.strip() == "removed 0 cached answers"


def test_doctor_masks_credentials_in_base_urls() -> None:
    from magray_lsp.doctor import display_url

    assert display_url("https://user:hunter2@proxy.example/v1?key=AIzaSECRET&x=1") == (
        "https://***@proxy.example/v1?key=***&x=***"
    )
    assert display_url("http://127.0.0.1:11434") == "http://127.0.0.1:11434"
    assert display_url(None) is None


def test_serve_accepts_the_stdio_flag_clients_append() -> None:
    import subprocess
    import sys

    # stdin at EOF: the server starts, reads nothing and exits; an unknown flag would exit 2
    run = subprocess.run(
        [sys.executable, "-m", "magray_lsp", "serve", "--stdio"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert run.returncode != 2 and b"unrecognized arguments" not in run.stderr, run.stderr


def test_serve_tcp_refuses_an_address_other_machines_reach() -> None:
    from tests.redis_server import free_port

    port = free_port()
    run = subprocess.run(
        [sys.executable, "-m", "magray_lsp", "serve", "--tcp", f"0.0.0.0:{port}"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "refusing to listen on 0.0.0.0" in run.stderr and "--allow-remote" in run.stderr
    for spec in ("localhost:x", "127.0.0.1:99999", "nothing"):
        bad = magray("serve", "--tcp", spec)
        assert bad.returncode == 1 and "expected HOST:PORT" in bad.stderr, bad.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_serve_tcp_listens_on_loopback_and_warns_when_allowed_further(host: str) -> None:
    import socket
    import time

    from tests.redis_server import free_port

    port = free_port()
    extra = ["--allow-remote"] if host == "0.0.0.0" else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "magray_lsp", "serve", "--tcp", f"{host}:{port}", *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "never listened"
                time.sleep(0.1)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    warned = "WARNING: listening on 0.0.0.0" in stderr and "without authentication" in stderr
    assert warned is (host == "0.0.0.0"), stderr
