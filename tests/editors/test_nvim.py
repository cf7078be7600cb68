"""Neovim end to end: the plugin in editors/nvim, in a real headless nvim 0.11, attached to the real
magray-lsp (its own process, isolated XDG home), answered by the loopback OpenAI fake.

The document action runs through `vim.lsp.buf.code_action{apply = true}` → codeAction/resolve →
the edit lands in the buffer; explain streams `magray/stream` into the output float, then the
server's `window/showDocument` puts the final explanation there. The statusline component shows
what each request cost."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.editors.nvim_harness import nvim_binary, run_lua
from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.helpers import openai_only_toml

SAMPLE = """import json


def parse_header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()
"""

DOCSTRING = "Split a header line into a lower-case name and a value."
EXPLANATION = "It splits the line at the first colon, then trims and lower-cases the name."


@pytest.fixture(scope="module")
def openai_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def workspace(tmp_path: Path, openai_fake: FakeOpenAI) -> Path:
    openai_fake.reset()
    root = tmp_path / "project"
    root.mkdir()
    (root / ".magray.toml").write_text(
        openai_only_toml(
            openai_fake.base_url, "sk-nvim-test", extra="\n[budget]\nmonthly_usd = 20\n"
        )
    )
    (root / "sample.py").write_text(SAMPLE)
    return root


def test_document_and_explain_through_code_actions(
    workspace: Path, openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    openai_fake.script(
        # document: 2000 in + 100 out on gpt-4o-mini = $0.00036
        Reply(text=f"```text\n{DOCSTRING}\n```", input_tokens=2000, output_tokens=100),
        # explain: 1000 in + 50 out = $0.00018; the pauses let the window render part of it
        Reply(text=EXPLANATION, input_tokens=1000, output_tokens=50, chunk_delay=0.25),
    )
    results = run_lua(
        "e2e_actions.lua",
        {
            "cmd": [sys.executable, "-m", "magray_lsp", "serve"],
            "file": str(workspace / "sample.py"),
        },
        tmp_path,
    )
    assert results["setup"] is True
    assert results["client"]["root_dir"] == str(workspace)  # found by .magray.toml

    # the menu listed all three and Write tests, the filter picked the document action by kind
    assert [o["kind"] for o in results["offered"]] == [
        "refactor.magray.explain",
        "refactor.rewrite.magray.document",
        "refactor.rewrite.magray.refactor",
        "refactor.magray.tests",
    ]
    assert results["offered"][1]["title"].startswith(
        "Add docstring to `parse_header` — gpt-4o-mini"
    )

    document = results["document"]
    assert (
        f'def parse_header(line: str) -> tuple[str, str]:\n    """{DOCSTRING}"""\n'
        '    name, _, value = line.partition(":")'
    ) in document["buffer"]
    assert document["modified"] is True  # applied to the buffer, not written behind its back
    assert document["payload"]["provider"] == "openai"
    assert document["payload"]["costUsd"] == pytest.approx(0.00036)
    assert document["status"] == "$0.0004 · gpt-4o-mini · month $0.0004/$20"

    explain = results["explain"]
    done = results["stream_done"]
    # the float showed the stream: the whole answer when it ended, and part of it before that
    assert done["action"] == "explain" and done["window_open"] and done["floating"]
    assert done["window_text"] == EXPLANATION == done["text"]
    partial = [p for p in explain["partial"] if p != EXPLANATION]
    assert partial and all(EXPLANATION.startswith(p) for p in partial), explain["partial"]
    # then the server's explanation document replaced it (heading, answer, cost footer)
    final = explain["final_text"]
    assert final.startswith("### `parse_header`")
    assert EXPLANATION in final and "gpt-4o-mini" in final
    assert (
        explain["window_open"]
        and explain["title"][0][0].strip() == "magray · explain · parse_header"
    )
    # no split opened for the document and the cursor stayed in the source
    assert explain["current_buf_is_source"] and explain["windows"] == 2
    assert explain["source_unchanged"]
    assert explain["payload"]["costUsd"] == pytest.approx(0.00018)
    assert explain["status"] == "$0.0002 · gpt-4o-mini · month $0.0005/$20"
    assert results["status_events"] >= 2

    chats = [r for r in openai_fake.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 2  # listing the actions called no provider
    assert all(r.body["model"] == "gpt-4o-mini" for r in chats)
    errors = [m for m in results["messages"] if (m["level"] or 0) >= 4]
    assert not errors, errors


def test_user_commands_keymaps_settings_and_health(
    workspace: Path, openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    refactored = SAMPLE.replace(".lower()", ".casefold()")
    new_fn = refactored[refactored.index("def parse_header") :]
    slow = "Slowly " + "and surely " * 30
    openai_fake.script(
        Reply(text=f"```python\n{new_fn}```"),
        Reply(text="Explained once, then served from the cache."),
        Reply(text=slow, chunk_delay=0.5),  # ~30 s unless cancelled
    )
    results = run_lua(
        "e2e_commands.lua",
        {
            "cmd": [sys.executable, "-m", "magray_lsp", "serve"],
            "file": str(workspace / "sample.py"),
        },
        tmp_path,
    )
    assert results["keymaps"]["<leader>me"] == {"desc": "magray: explain", "buffer": 1}
    assert results["keymaps"]["<leader>mr"]["desc"] == "magray: refactor…"

    assert results["refactor"]["buffer"] == refactored.rstrip("\n")
    chats = [r for r in openai_fake.requests if r.path.endswith("/chat/completions")]
    assert "use casefold instead of lower" in str(chats[0].body["messages"])
    # the budget comes from setup{settings = ...}, over the workspace file's 20
    assert results["refactor"]["status"].endswith("/$50")

    cached = results["cached"]
    assert cached["payload"]["cached"] is True and cached["payload"]["costUsd"] == 0
    assert cached["status"] == "cached · gpt-4o-mini · month <$0.0001/$50"
    assert "Explained once" in results["hover"]  # the explanation also feeds hover

    usage = results["usage"]
    assert usage["text"].startswith("# magray usage")
    assert "**This month:** <$0.0001 of $50.00" in usage["text"]
    assert "| openai.default | closed | 100% |" in usage["text"]
    assert usage["title"][0][0].strip() == "magray · usage"
    assert results["output_hidden"] is True

    cancelled = results["cancelled"]
    assert cancelled["cancel_message"] and cancelled["inflight"] == 0
    # the stream ended early: the server stopped reading the provider when asked
    assert cancelled["streamed"].startswith("Slowly") and len(cancelled["streamed"]) < len(slow)
    assert cancelled["new_status"] is False and not cancelled["running"]
    assert len(chats) == 3  # refactor, explain, the cancelled explain; the cache answered one

    messages = [m["msg"] for m in results["messages"]]
    assert any(m.startswith("magray: cleared ") for m in messages), messages

    health = results["health"]
    assert "OK version: magray-lsp " in health
    assert f"root {workspace}, attached to 1 buffer" in health
    assert f"workspace config: {workspace / '.magray.toml'}" in health
    assert "ERROR" not in health


SIMPLIFY_MD = """+++
title = "Simplify {unit}"
output = "replace"
+++
Simplify this {language} {kind} without changing behaviour:
{code}
"""


def test_defined_actions_custom_from_a_prompt_file_fix_and_input(
    workspace: Path, openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    (workspace / ".magray" / "actions").mkdir(parents=True)
    (workspace / ".magray" / "actions" / "simplify.md").write_text(SIMPLIFY_MD)
    config = workspace / ".magray.toml"
    config.write_text(
        config.read_text()
        + '\n[actions.shout]\nprompt = "Rewrite {unit}: {input}\\n{code}"\noutput = "replace"\n'
    )
    simplified = SAMPLE.replace(".lower()", ".casefold()")
    fixed = simplified.replace("value.strip()", 'value.strip(" \\t")')
    shouted = fixed.replace(".casefold()", ".upper()")

    def unit(text: str) -> str:
        return text[text.index("def parse_header") :]

    openai_fake.script(
        Reply(text=f"```python\n{unit(simplified)}```", input_tokens=900, output_tokens=60),
        Reply(text=f"Fixed:\n```python\n{unit(fixed)}```"),
        Reply(text=f"```python\n{unit(shouted)}```"),
    )
    results = run_lua(
        "e2e_defined.lua",
        {
            "cmd": [sys.executable, "-m", "magray_lsp", "serve"],
            "file": str(workspace / "sample.py"),
        },
        tmp_path,
    )
    assert "error" not in results, results.get("error")
    assert {"explain", "document", "refactor", "fix", "tests", "simplify", "shout"} <= set(
        results["completion"]
    )
    assert results["completion_s"] == ["simplify", "shout"]

    # the prompt file's action was in the menu with its cost, and was applied from it
    simplify = next(
        o for o in results["offered"] if o["kind"] == "refactor.rewrite.magray.simplify"
    )
    assert simplify["title"].startswith("Simplify parse_header — gpt-4o-mini ≈ $0.0")
    assert not any(o["kind"] == "quickfix.magray.fix" for o in results["offered"])
    assert results["simplify"]["buffer"] == simplified.rstrip("\n")
    assert results["simplify"]["status"]["costUsd"] == pytest.approx(0.000171)

    # Fix carried the linter's diagnostic to the model; its answer replaced the unit
    assert results["fix"]["buffer"] == fixed.rstrip("\n") and results["fix"]["modified"]
    chats = [r for r in openai_fake.requests if r.path.endswith("/chat/completions")]
    assert (
        chats[0]
        .body["messages"][1]["content"]
        .startswith("Simplify this python function without changing behaviour:\ndef parse_header")
    )
    assert (
        "- line 6: error [pyflakes F821]: `nme` is not defined"
        in chats[1].body["messages"][1]["content"]
    )

    # {input}: the server asked, vim.ui.input answered
    assert results["shout"]["asked"] == ["Input for `shout`: "]
    assert results["shout"]["buffer"] == shouted.rstrip("\n")
    assert (
        "Rewrite parse_header: make it shout\ndef parse_header"
        in chats[2].body["messages"][1]["content"]
    )
    errors = [m for m in results["messages"] if (m["level"] or 0) >= 4]
    assert not errors, errors


# ----------------------------------------------------------------- the plugin's parts, no server


@pytest.fixture(scope="module")
def checks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """unit_checks.lua's observations, one nvim run for the module."""
    tmp = tmp_path_factory.mktemp("nvim-unit")
    results = run_lua("unit_checks.lua", {"nvim": str(nvim_binary())}, tmp)
    cases: dict[str, Any] = {}
    for name, outcome in results["cases"].items():
        assert "error" not in outcome, f"{name}: {outcome['error']}"
        cases[name] = outcome["value"]
    return cases


def test_status_line_format(checks: dict[str, Any]) -> None:
    assert checks["format"] == {
        "basic": "$0.0004 · gpt-4o-mini · month $3.10/$20",
        "cached": "cached · gpt-4o · month $3.10",  # JSON null budget: no "/…"
        "no_month": "$0.01 · claude-3-5-haiku-latest",
        "fallback": "$0.25 · claude-3-5-haiku-latest · fallback from openai.default · local only",
        "tiny": "<$0.0001 · m",
        "free": "$0 · llama3.1 · month $0/$12.50",
        "unknown": "$? · custom",
        "none": "",
    }


def test_status_component_shows_running_requests_and_fires_user_autocmd(
    checks: dict[str, Any],
) -> None:
    seen = checks["component"]
    last = "$0.0004 · gpt-4o-mini · month $3.10/$20"
    assert seen["empty"] == "" and seen["after_status"] == last
    assert seen["busy"] == f"⋯ explain · {last}"  # another server's progress is not ours
    assert seen["report"] == seen["busy"]
    assert seen["done"] == last
    assert seen["fired"] == 3  # status, begin, end
    assert checks["custom_format"] == "[gpt-4o-mini]"  # setup{status = {format = fn}}


def test_options_are_checked_with_messages_that_name_the_key(checks: dict[str, Any]) -> None:
    errors = checks["config_errors"]
    assert (
        errors["style"]
        == 'magray.setup: option `output.style` must be "float", "split" or "vsplit"'
    )
    assert errors["cmd"].startswith("magray.setup: option `cmd` must be a non-empty list")
    assert errors["keymaps"] == "magray.setup: option `keymaps` must be true, false or a table"
    assert errors["filetypes"] == "magray.setup: option `filetypes` must be a list of filetypes"
    assert errors["not_a_table"] == "magray.setup: expected a table of options, got string"
    maps = checks["config_keymaps"]
    assert maps["all"]["explain"] == "<leader>me" and len(maps["all"]) == 5
    assert maps["some"]["explain"] == "<leader>x" and maps["some"]["usage"] is False
    assert maps["some"]["document"] == "<leader>md" and maps["none"] is False
    assert maps["cmd"] == ["python3", "-m", "magray_lsp"]  # lists replace, never merge


def test_a_missing_server_is_explained(checks: dict[str, Any]) -> None:
    missing = checks["missing_executable"]
    assert missing["started"] is False
    [message] = missing["messages"]
    assert message["level"] == 4  # ERROR
    assert "`magray-lsp-not-installed` is not executable" in message["msg"]
    assert "pipx install magray-lsp" in message["msg"]
    [warning] = checks["command_without_server"]
    assert warning["msg"].startswith("magray: magray-lsp is not running")
    health = checks["health"]
    assert "ERROR `magray-lsp-not-installed` not found" in health
    assert "OK Neovim 0.11.4" in health


def pos(line: int, character: int) -> dict[str, int]:
    return {"line": line, "character": character}


def test_action_ranges_in_the_clients_encoding(checks: dict[str, Any]) -> None:
    seen = checks["ranges"]
    utf16, utf8 = seen["utf16"], seen["utf8"]
    assert utf16["mode"] == "v" and utf16["after"] == "n"  # the selection is used, then left
    assert utf16["range"] == {"start": pos(0, 5), "end": pos(1, 8)}
    assert utf8["range"] == {"start": pos(0, 5), "end": pos(1, 9)}
    assert seen["linewise"]["range"] == {"start": pos(0, 0), "end": pos(1, 11)}
    assert seen["cursor"] == {"start": pos(1, 7), "end": pos(1, 7)}
    assert seen["lines"] == {"start": pos(1, 0), "end": pos(2, 5)}


def test_stream_renders_deltas_in_a_float_that_leaves_the_cursor_alone(
    checks: dict[str, Any],
) -> None:
    seen = checks["stream"]
    assert seen["floating"] and seen["cursor_stayed"]
    assert seen["streaming_title"] == "magray · explain …"
    assert seen["partial"] == "# Title\n\nfirst line\nsecond"  # deltas split lines anywhere
    assert seen["height_grew"]
    assert seen["text"] == "# Title\n\nfirst line\nsecond half"
    assert seen["done_title"] == "magray · explain"
    assert seen["buffer_modifiable"] is False and seen["filetype"] == "markdown"
    assert seen["after_document"] == seen["text"]
    assert seen["next"] == "Second answer"


def test_server_documents_open_in_the_output_window(checks: dict[str, Any]) -> None:
    seen = checks["show_document"]
    assert seen["ours"] == {"success": True}
    assert seen["text"].startswith("### `Registry.add`\n\nStores a value.")
    assert seen["title"] == "magray · explain · Registry.add"
    assert seen["wins_same"]  # shown in the float, no split opened
    assert seen["is_ours"] and not seen["not_ours"] and not seen["not_file"]
    toggle = checks["toggle"]
    assert toggle["open"] and toggle["closed"] and toggle["reopened"]
    assert toggle["text"] == seen["text"]


def test_split_style(checks: dict[str, Any]) -> None:
    seen = checks["split"]
    assert seen["floating"] is False and seen["width"] == 40 and seen["cursor_stayed"]
    assert seen["text"] == "def f():\n    pass"  # refactor streams when configured


# ------------------------------------------------------- typing while the model answers

STALE_SOURCE = """import json
# 😀 设置 — headers 🎉


def first(line: str) -> str:
    return line.strip()  # 名前 😀


def second(line: str) -> str:
    return line.lower()  # 二


def third(line: str) -> str:
    return line.upper()  # 三


def fourth(line: str) -> str:
    return line.title()  # 四
"""
STALE_DOCS = [
    "Strip the line 😀 (first).",
    "Lower-case the line (second).",
    "Upper-case the line 三 (third).",
    "Title-case the line (fourth).",
    "Strip a CRLF line 😀 (fifth).",
]


def slow_doc(text: str) -> Reply:
    """A document answer that streams for about three seconds."""
    answer = f"```text\n{text}\n```"
    words = answer.split(" ")
    chunks = [w if i == 0 else " " + w for i, w in enumerate(words)]
    return Reply(text=answer, chunks=chunks, chunk_delay=3.0 / len(chunks))


def with_doc(text: str, definition: str, doc: str) -> str:
    assert text.count(definition) == 1
    return text.replace(definition, f'{definition}\n    """{doc}"""')


def test_typing_while_the_model_answers(
    workspace: Path, openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    """Neovim applies an edit whose version equals the buffer's, whatever text it was computed
    on: the server must send edits rebased onto the buffer as it is now, or none."""
    (workspace / ".magray.toml").write_text(
        openai_only_toml(openai_fake.base_url, "sk-nvim-test", timeout=120)
    )
    (workspace / "stale.py").write_text(STALE_SOURCE)
    crlf_source = STALE_SOURCE.replace("def first(", "def fifth(").replace("\n", "\r\n")
    (workspace / "crlf.py").write_bytes(crlf_source.encode())
    openai_fake.script(*(slow_doc(doc) for doc in STALE_DOCS))
    results = run_lua(
        "e2e_stale.lua",
        {
            "cmd": [sys.executable, "-m", "magray_lsp", "serve"],
            "file": str(workspace / "stale.py"),
            "crlf_file": str(workspace / "crlf.py"),
            "docs": STALE_DOCS,
        },
        tmp_path,
    )
    # Neovim 0.11 offers utf-8 first and the server takes it: byte columns here (the UTF-16
    # path, with the same emoji and CJK, runs in tests/lsp/test_stale_edits.py)
    assert results["offset_encoding"] == "utf-8"
    source = STALE_SOURCE.rstrip("\n")  # buffer text: lines joined, no final newline

    # 1. three lines typed at the top while `first` was documented through the menu
    typed = "import os\nimport re  # 🎉 三\nLIMIT = 3\n" + source
    assert results["above"] == with_doc(typed, "def first(line: str) -> str:", STALE_DOCS[0])

    # 2. `second` edited while its docstring was on the way: refused, nothing applied
    typed = results["above"].replace(
        "    return line.lower()  # 二", "    return line.lower().strip()  # 二"
    )
    assert results["inside"] == typed
    assert STALE_DOCS[1] not in results["inside"]

    # 3. a function typed below while :MagrayDocument ran on `third`
    typed = typed + "\n\n\ndef tail() -> str:\n    return '尾 🎉'"
    assert results["below"] == with_doc(typed, "def third(line: str) -> str:", STALE_DOCS[2])

    # 4. a line inserted in `fourth` during :MagrayDocument: refused
    typed = results["below"].replace(
        "    return line.title()", "    line = line or ''  # 四\n    return line.title()"
    )
    assert results["command_inside"] == typed
    assert (workspace / "stale.py").read_text() == typed + "\n"

    refusals = [
        m for m in results["messages"] if "changed while the model was answering" in m["msg"]
    ]
    assert len(refusals) == 2, results["messages"]
    assert not [m for m in results["messages"] if "newer than edits" in m["msg"]]

    # 5. CRLF: the file on disk keeps CRLF everywhere and has the docstring in the right place
    assert results["fileformat"] == "dos"
    written = (workspace / "crlf.py").read_bytes().decode()
    expected = "import os  # 😀\nimport re\n" + with_doc(
        STALE_SOURCE.replace("def first(", "def fifth("),
        "def fifth(line: str) -> str:",
        STALE_DOCS[4],
    )
    assert written == expected.replace("\n", "\r\n")
    chats = [r for r in openai_fake.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 5
