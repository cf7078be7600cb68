"""Pydantic models of the configuration (`.magray.toml`, user config, editor settings).

The `[llm.<name>]` sections follow the design note exactly; routing, retry, cache, budget and
privacy live in their own top-level tables. `magray-lsp schema` prints the JSON Schema generated
from these.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

ProviderKind = Literal["openai", "anthropic", "google", "ollama", "huggingface", "local"]
PROVIDER_KINDS: tuple[str, ...] = get_args(ProviderKind)

# The alias every provider gets when its `[models]` table does not name one.
BUILTIN_DEFAULT_MODEL: dict[str, str] = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
    "google": "gemini-2.0-flash",
    "ollama": "llama3.1",
    "huggingface": "meta-llama/Llama-3.1-8B-Instruct",
    "local": "smollm2-135m-instruct",
}

BUILTIN_BASE_URL: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "google": "https://generativelanguage.googleapis.com",
    "ollama": "http://localhost:11434",
    "huggingface": "https://router.huggingface.co/v1",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class GenerationDefaults(BaseModel):
    """`[llm.<name>.defaults]`: generation parameters; unknown keys pass through to the body."""

    model_config = ConfigDict(extra="allow")

    max_tokens: int | None = Field(None, gt=0, description="Maximum tokens to generate.")
    temperature: float | None = Field(None, ge=0, le=2, description="Sampling temperature.")
    top_p: float | None = Field(None, gt=0, le=1)


class ModelPrice(_Strict):
    """Price override for one model, in USD per million tokens."""

    input_per_mtok: Decimal = Field(ge=0)
    output_per_mtok: Decimal = Field(ge=0)
    cached_input_per_mtok: Decimal | None = Field(
        None, ge=0, description="Input read from the prompt cache; default: the input price."
    )
    cache_write_per_mtok: Decimal | None = Field(
        None, ge=0, description="Input written to the prompt cache; default: the input price."
    )


class ProviderConfig(_Strict):
    """One `[llm.<name>]` section."""

    kind: ProviderKind | None = Field(
        None,
        description="Wire protocol. Defaults to the section name when that is a known kind; set "
        'kind = "openai" to use any OpenAI-compatible server (vLLM, LM Studio, OpenRouter, ...).',
    )
    enabled: bool = True
    api_key: SecretStr | None = Field(None, description='Usually "${OPENAI_API_KEY}" or similar.')
    base_url: str | None = None
    organization: str | None = None
    remote: bool = Field(
        False,
        description="Treat as remote even on a loopback address (an SSH tunnel or a proxy that "
        "forwards elsewhere): private code is then never sent to it.",
    )
    timeout_seconds: float = Field(60.0, gt=0, le=3600)
    max_concurrency: int = Field(8, ge=1, le=1024, description="Requests in flight at once.")
    models: dict[str, str] = Field(
        default_factory=dict, description="Aliases: `default`, `code`, `fast`, ... → model id."
    )
    defaults: GenerationDefaults = Field(default_factory=GenerationDefaults)
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers.")
    context_windows: dict[str, int] = Field(
        default_factory=dict, description="Context window per model id (overrides built-ins)."
    )
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict, description="Price per model id (overrides genai-prices)."
    )
    api_version: str | None = Field(
        None, description="Anthropic `anthropic-version` header / Gemini API version."
    )
    # `local` (in-process llama.cpp) only
    model_path: str | None = Field(
        None, description="GGUF file for kind = local; default: bundled SmolLM2-135M-Instruct."
    )
    n_ctx: int = Field(4096, ge=256, description="Context window to allocate (kind = local).")
    n_threads: int | None = Field(None, ge=1, description="CPU threads (kind = local).")


class RoutingWeights(_Strict):
    capability: float = Field(0.4, ge=0)
    cost: float = Field(0.3, ge=0)
    performance: float = Field(0.2, ge=0)
    availability: float = Field(0.1, ge=0)


class RoutingConfig(_Strict):
    default: str | None = Field(
        None, description="Model used when no rule applies: `provider.alias` or `provider/model`."
    )
    weights: RoutingWeights = Field(default_factory=RoutingWeights)
    rules: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per action (explain, document, refactor, hover, fix, tests, the name of "
        "a custom action, large_context, private): models to prefer, in order.",
    )


class RetryConfig(_Strict):
    max_attempts: int = Field(3, ge=1, le=10, description="Attempts per model, first included.")
    base_delay_seconds: float = Field(0.5, ge=0)
    max_delay_seconds: float = Field(8.0, ge=0)
    retry_after_cap_seconds: float = Field(30.0, ge=0)
    deadline_seconds: float = Field(120.0, gt=0, description="Overall deadline per action.")


class CacheConfig(_Strict):
    enabled: bool = True
    dir: str | None = Field(None, description="Default: $XDG_CACHE_HOME/magray.")
    ttl_seconds: int = Field(7 * 24 * 3600, ge=0)
    memory_entries: int = Field(512, ge=0)
    redis_url: str | None = None


class BudgetConfig(_Strict):
    monthly_usd: Decimal | None = Field(None, ge=0, description="Monthly budget; unset = no limit.")
    warn_at: float = Field(0.8, gt=0, le=1, description="Fraction of the budget that warns.")
    hard_stop: bool = Field(True, description="Refuse paid requests once the budget is spent.")


class TeamConfig(_Strict):
    """`[team]`: one monthly budget and one usage view for a whole team, kept in a shared Redis."""

    redis_url: str | None = Field(
        None,
        description="The team's Redis (run it with appendonly yes); unset = no team mode. "
        'Usually "${MAGRAY_TEAM_REDIS}": the URL may hold a password, which is never shown.',
    )
    name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$",
        description="The team (required with redis_url); every member's config names the same.",
    )
    member: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Who spends: default `git config user.email` in the workspace, else the OS "
        "user.",
    )
    monthly_usd: Decimal | None = Field(
        None, ge=0, description="The team's budget per UTC month; unset = no team limit."
    )
    member_monthly_usd: Decimal | None = Field(
        None, ge=0, description="Each member's budget per UTC month; unset = no member limit."
    )
    warn_at: float = Field(0.8, gt=0, le=1, description="Fraction of a team limit that warns.")
    on_unreachable: Literal["refuse", "local_only", "allow"] = Field(
        "local_only",
        description='When the Redis cannot be reached: "refuse" every request, "local_only": '
        'refuse paid providers and keep local ones, "allow": spend unchecked (counted locally '
        "and added to the team once the Redis is back).",
    )
    timeout_seconds: float = Field(
        2.0,
        gt=0,
        le=30,
        description="Bound of each Redis call (never past the request's deadline), tried twice "
        "on a timeout; a hung Redis costs one request twice this much, then calls fail at once "
        "until it answers again.",
    )

    @model_validator(mode="after")
    def _named(self) -> TeamConfig:
        if self.redis_url and not self.name:
            raise ValueError("name is required when redis_url is set (the team's name)")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.redis_url and self.name)


class PrivacyConfig(_Strict):
    mode: Literal["auto", "local"] = Field(
        "auto", description='"local": this workspace\'s code never leaves the machine.'
    )
    private_paths: list[str] = Field(default_factory=list, description="Globs of private files.")
    redact: bool = Field(True, description="Redact secrets and PII before remote calls.")


class SafetyConfig(_Strict):
    enabled: bool = Field(True, description="Check each request for unsafe content before sending.")
    threshold: float = Field(
        0.8, gt=0, le=1, description="Score (0-1) at which a request is refused unsent."
    )
    checker: str = Field(
        "builtin",
        description='"builtin" (rule-based), "none", or the name of an installed '
        "`magray_lsp.safety_checkers` entry point.",
    )


class LimitsConfig(_Strict):
    """Size limits that keep one huge file or one runaway answer from costing the session."""

    max_document_bytes: int = Field(
        5 * 1024 * 1024,
        ge=1024,
        description="Documents larger than this stay in sync but get no magray code actions.",
    )
    max_document_lines: int = Field(
        200_000, ge=100, description="Documents with more lines get no magray code actions."
    )
    max_answer_chars: int = Field(
        400_000,
        ge=1000,
        description="An answer longer than this is cut off with an error (fallback-worthy); "
        "no provider can stream into unbounded memory.",
    )


class HoverConfig(_Strict):
    auto: bool = Field(False, description="Ask a cheap model on hover (costs money).")


ActionOutput = Literal["show", "replace", "insert_above", "insert_below", "new_file"]
ActionRequires = Literal["unit", "selection", "diagnostics"]
ActionTask = Literal["explain", "document", "refactor"]
#: names a custom action cannot take: the built-in actions'
BUILTIN_ACTION_NAMES: frozenset[str] = frozenset(
    {"explain", "document", "refactor", "hover", "fix", "tests"}
)


class ActionConfig(_Strict):
    """`[actions.NAME]` or `.magray/actions/NAME.md`: a code action with its own prompt.

    Templates use `{code}` `{selection}` `{unit}` `{kind}` `{language}` `{file}` `{module}`
    `{context}` `{diagnostics}` `{input}` (a title and `path` only the cheap ones: unit, kind,
    language, file, module); `{{name}}` is the literal text `{name}`."""

    title: str | None = Field(
        None,
        description='Shown in the code-action menu with the model and cost, e.g. "Simplify '
        '{unit}". Default: the action name and the unit.',
    )
    prompt: str = Field(description="The request sent to the model (a template).")
    system: str | None = Field(None, description="System prompt (a template); optional.")
    output: ActionOutput = Field(
        "show",
        description="show: display the answer; replace: replace the unit (or selection); "
        "insert_above / insert_below: insert the answer's code next to the unit; new_file: "
        "write it to `path` (appended to when the file exists).",
    )
    path: str | None = Field(
        None,
        description='new_file only: where, relative to the workspace root, e.g. "tests/test_'
        '{module}.py".',
    )
    languages: list[str] = Field(
        default_factory=list, description='Only offer it for these languages, e.g. ["python"].'
    )
    requires: ActionRequires = Field(
        "unit",
        description="unit: the cursor is in a function or class; selection: some code is "
        "selected; diagnostics: a warning or error is in range.",
    )
    model: str | None = Field(
        None, description="Pin a model (`provider.alias`); otherwise routed like `task`."
    )
    task: ActionTask | None = Field(
        None,
        description="The built-in action it is routed and checked like. Default: explain for "
        "output = show, refactor otherwise.",
    )
    max_tokens: int | None = Field(None, gt=0, le=100_000, description="Longest answer.")

    @property
    def routed_as(self) -> ActionTask:
        if self.task is not None:
            return self.task
        return "explain" if self.output == "show" else "refactor"


class MagrayConfig(_Strict):
    llm: dict[str, ProviderConfig] = Field(default_factory=dict)
    actions: dict[str, ActionConfig] = Field(
        default_factory=dict,
        description="Custom code actions by name (also `.magray/actions/NAME.md` files).",
    )
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    team: TeamConfig = Field(default_factory=TeamConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    safety: SafetyConfig = Field(default_factory=SafetyConfig)
    hover: HoverConfig = Field(default_factory=HoverConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)


def provider_kind(name: str, cfg: ProviderConfig) -> str | None:
    """The wire protocol of a section: explicit `kind`, else the section name if it is a kind."""
    if cfg.kind:
        return cfg.kind
    return name if name in PROVIDER_KINDS else None
