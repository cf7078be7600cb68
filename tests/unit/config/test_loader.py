"""The config loader: the design note's sections, interpolation, layering, and error messages."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from magray_lsp.config.loader import load_config, user_config_path
from magray_lsp.config.models import MagrayConfig
from magray_lsp.errors import ConfigError

# The three sample sections of the design note, verbatim.
DESIGN_NOTE = """
[llm.openai]
api_key = "${OPENAI_API_KEY}"
organization = "${OPENAI_ORG_ID}"  # optional
base_url = "https://api.openai.com/v1"

# Models
[llm.openai.models]
default = "gpt-4o-mini"
creative = "gpt-4o"
code = "gpt-4o"
cheap = "gpt-3.5-turbo"

# Default parameters
[llm.openai.defaults]
max_tokens = 500
temperature = 0.7
top_p = 1.0
frequency_penalty = 0.0
presence_penalty = 0.0

[llm.anthropic]
api_key = "${ANTHROPIC_API_KEY}"
base_url = "https://api.anthropic.com"

[llm.anthropic.models]
default = "claude-3-5-sonnet-20241022"
smart = "claude-3-opus-20240229"
fast = "claude-3-haiku-20240307"

[llm.anthropic.defaults]
max_tokens = 1000
temperature = 0.5
top_p = 0.9

[llm.ollama]
base_url = "http://localhost:11434"
timeout_seconds = 120

[llm.ollama.models]
default = "llama3.1:8b"
code = "codellama:13b"
large = "mixtral:8x7b"

[llm.ollama.defaults]
temperature = 0.3
top_p = 0.9
repeat_penalty = 1.1
"""


def write(folder: Path, text: str, name: str = ".magray.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_design_note_sections_load_as_written(tmp_path: Path) -> None:
    write(tmp_path, DESIGN_NOTE)
    env = {"OPENAI_API_KEY": "sk-test-openai", "ANTHROPIC_API_KEY": "sk-ant-test"}
    loaded = load_config(workspace=tmp_path, env=env, include_user=False)
    llm = loaded.config.llm
    assert set(llm) == {"openai", "anthropic", "ollama"}
    openai = llm["openai"]
    assert openai.api_key is not None and openai.api_key.get_secret_value() == "sk-test-openai"
    assert openai.organization is None  # optional variable unset → default, provider still usable
    assert openai.models == {
        "default": "gpt-4o-mini",
        "creative": "gpt-4o",
        "code": "gpt-4o",
        "cheap": "gpt-3.5-turbo",
    }
    assert openai.defaults.max_tokens == 500 and openai.defaults.temperature == 0.7
    assert openai.defaults.model_extra == {"frequency_penalty": 0.0, "presence_penalty": 0.0}
    assert llm["anthropic"].defaults.max_tokens == 1000
    assert llm["ollama"].timeout_seconds == 120
    assert llm["ollama"].defaults.model_extra == {"repeat_penalty": 1.1}
    assert loaded.disabled == {}
    assert any("OPENAI_ORG_ID" in note for note in loaded.notes)


def test_api_key_is_secret(tmp_path: Path) -> None:
    write(tmp_path, DESIGN_NOTE)
    loaded = load_config(
        workspace=tmp_path,
        env={"OPENAI_API_KEY": "sk-canary-123", "ANTHROPIC_API_KEY": "x"},
        include_user=False,
    )
    dumped = repr(loaded.config) + str(loaded.config) + loaded.config.model_dump_json()
    assert "sk-canary-123" not in dumped


def test_missing_key_disables_only_that_provider(tmp_path: Path) -> None:
    write(tmp_path, DESIGN_NOTE)
    loaded = load_config(workspace=tmp_path, env={"ANTHROPIC_API_KEY": "k"}, include_user=False)
    assert set(loaded.disabled) == {"openai"}
    reason = loaded.disabled["openai"]
    assert (
        ".magray.toml:3:" in reason
        and "OPENAI_API_KEY" in reason
        and "llm.openai.api_key" in reason
    )
    assert set(loaded.enabled_providers()) == {"anthropic", "ollama"}


def test_interpolation_default_and_embedded(tmp_path: Path) -> None:
    write(
        tmp_path, '[llm.vllm]\nkind = "openai"\nbase_url = "http://${HOST:-127.0.0.1}:${PORT}/v1"\n'
    )
    loaded = load_config(workspace=tmp_path, env={"PORT": "8000"}, include_user=False)
    assert loaded.config.llm["vllm"].base_url == "http://127.0.0.1:8000/v1"


def test_missing_variable_outside_providers_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, '[cache]\nredis_url = "${REDIS_URL}"\n')
    with pytest.raises(ConfigError, match=r"\.magray\.toml:2: cache\.redis_url: .*REDIS_URL"):
        load_config(workspace=tmp_path, env={}, include_user=False)


def test_layering_user_workspace_extra_settings(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    user = user_config_path(env)
    write(
        user.parent,
        '[llm.openai]\napi_key = "user-key"\ntimeout_seconds = 10\n'
        '[llm.openai.models]\ndefault = "gpt-4o-mini"\n',
        name=user.name,
    )
    ws = tmp_path / "ws"
    write(ws, '[llm.openai]\ntimeout_seconds = 20\n[llm.openai.models]\ncode = "gpt-4o"\n')
    extra = write(tmp_path, "[budget]\nmonthly_usd = 20\n", name="extra.toml")
    loaded = load_config(
        workspace=ws,
        extra_files=[extra],
        env=env,
        settings={"llm": {"openai": {"timeout_seconds": 30}}},
    )
    openai = loaded.config.llm["openai"]
    assert openai.api_key is not None and openai.api_key.get_secret_value() == "user-key"
    assert openai.timeout_seconds == 30  # editor settings win
    assert openai.models == {"default": "gpt-4o-mini", "code": "gpt-4o"}  # tables merge per key
    assert loaded.config.budget.monthly_usd == Decimal(20)
    assert loaded.sources == [str(user), str(ws / ".magray.toml"), str(extra), "editor settings"]


def test_later_layer_can_fix_a_missing_variable(tmp_path: Path) -> None:
    write(tmp_path, '[llm.openai]\napi_key = "${OPENAI_API_KEY}"\n')
    loaded = load_config(
        workspace=tmp_path,
        env={},
        include_user=False,
        settings={"llm": {"openai": {"api_key": "from-editor"}}},
    )
    assert loaded.disabled == {}


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            "[llm.openai]\napi_key = 'k'\nmodelz = {}\n",
            r"\.magray\.toml:3: llm\.openai\.modelz: unknown key",
        ),
        (
            "[llm.ollama]\nbase_url = 'http://x'\ntimeout_seconds = 'slow'\n",
            r"\.magray\.toml:3: llm\.ollama\.timeout_seconds: .*number",
        ),
        (
            "[llm.ollama]\n\n[llm.ollama.defaults]\ntemperature = 9\n",
            r"\.magray\.toml:4: llm\.ollama\.defaults\.temperature: .*less than or equal to 2",
        ),
        ("[llm.openai\napi_key = 'k'\n", r"\.magray\.toml:1:\d+: TOML syntax error"),
        ("[llm.openai]\napi_key = \n", r"\.magray\.toml:2:\d+: TOML syntax error"),
        (
            "[llm.mystery]\nbase_url = 'http://x'\n",
            r"\.magray\.toml:1: llm\.mystery: unknown provider",
        ),
        (
            "[routing]\nweights = { capability = -1 }\n",
            r"\.magray\.toml:2: routing\.weights\.capability",
        ),
        ("[llm.openai]\nkind = 'grpc'\n", r"\.magray\.toml:2: llm\.openai\.kind"),
        ("colour = 'blue'\n", r"\.magray\.toml:1: colour: unknown key"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, pattern: str) -> None:
    write(tmp_path, text)
    with pytest.raises(ConfigError, match=pattern):
        load_config(workspace=tmp_path, env={}, include_user=False)


def test_editor_settings_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"editor settings: budget\.warn_at"):
        load_config(settings={"budget": {"warn_at": 5}}, env={}, include_user=False)


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(extra_files=[bad], env={}, include_user=False)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(extra_files=[tmp_path / "nope.toml"], env={}, include_user=False)


def test_custom_openai_compatible_section(tmp_path: Path) -> None:
    write(tmp_path, '[llm.lmstudio]\nkind = "openai"\nbase_url = "http://localhost:1234/v1"\n')
    loaded = load_config(workspace=tmp_path, env={}, include_user=False)
    assert loaded.config.llm["lmstudio"].kind == "openai"


def test_json_schema_describes_every_table() -> None:
    schema = MagrayConfig.model_json_schema()
    assert set(schema["properties"]) >= {"llm", "routing", "retry", "cache", "budget", "privacy"}
    provider = schema["$defs"]["ProviderConfig"]["properties"]
    assert {
        "api_key",
        "base_url",
        "organization",
        "timeout_seconds",
        "kind",
        "models",
        "defaults",
    } <= set(provider)
    json.dumps(schema)  # serialisable as published
