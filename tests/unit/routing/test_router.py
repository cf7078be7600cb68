"""The router: hard filters (privacy, window, circuit, budget), scores, weights and rules."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magray_lsp.catalog import Catalog
from magray_lsp.config.loader import load_config
from magray_lsp.resilience.health import HealthBoard
from magray_lsp.routing.router import NoRoute, Router
from magray_lsp.task import Task

REMOTE = {
    "openai": {"api_key": "k", "models": {"default": "gpt-4o-mini", "code": "gpt-4o"}},
    "anthropic": {
        "api_key": "k",
        "models": {"default": "claude-3-5-haiku-latest", "code": "claude-3-5-sonnet-latest"},
    },
    "google": {"api_key": "k", "models": {"default": "gemini-2.0-flash"}},
}


def make_router(settings_: dict[str, Any], *, budget_ok: bool = True) -> Router:
    loaded = load_config(settings=settings_, env={}, include_user=False)
    return Router(Catalog(loaded), HealthBoard(), budget_allows_paid=lambda: budget_ok)


def task(action: str = "explain", tokens: int = 1000, **kw: Any) -> Task:
    return Task(action=action, system="s", prompt="p", context_tokens=tokens, **kw)  # type: ignore[arg-type]


def labels(plan: Any) -> list[str]:
    return [c.ref.label for c in plan.candidates]


def test_refactor_prefers_a_strong_code_model_explain_a_cheap_one() -> None:
    router = make_router({"llm": REMOTE})
    refactor = router.plan(task("refactor"))
    assert refactor.primary.ref.label in ("anthropic.code", "openai.code")
    explain = router.plan(task("explain"))
    assert explain.primary.ref.model in (
        "gpt-4o-mini",
        "gemini-2.0-flash",
        "claude-3-5-haiku-latest",
    )
    assert explain.primary.estimate_usd is not None and refactor.primary.estimate_usd is not None
    assert explain.primary.estimate_usd < refactor.primary.estimate_usd


def test_embedded_local_model_is_always_the_last_fallback() -> None:
    plan = make_router({"llm": REMOTE}).plan(task("explain"))
    assert plan.candidates[-1].ref.provider == "local"
    assert len(plan.candidates) == 6  # 5 cloud models + the local one


def test_large_context_goes_to_a_big_window_and_says_why() -> None:
    router = make_router({"llm": {**REMOTE, "ollama": {"base_url": "http://127.0.0.1:11434"}}})
    plan = router.plan(task("explain", tokens=500_000))
    assert labels(plan) == ["google.default"]  # only Gemini's 1M window fits
    rejected = dict(plan.rejected)
    assert "window 128,000" in rejected["openai.default"]
    assert "window 200,000" in rejected["anthropic.code"]
    assert "window 4,096" in rejected["local.default"]


def test_private_content_only_reaches_local_providers() -> None:
    router = make_router({"llm": {**REMOTE, "ollama": {"base_url": "http://127.0.0.1:11434"}}})
    plan = router.plan(task("refactor", private=True))
    assert labels(plan) == ["ollama.default", "local.default"]
    assert all(
        reason == "private content: local providers only"
        for label, reason in plan.rejected
        if not label.startswith(("ollama", "local"))
    )
    assert "private" in plan.why


def test_pin_to_a_cloud_model_on_private_code_is_refused() -> None:
    router = make_router({"llm": REMOTE})
    with pytest.raises(NoRoute, match="not local"):
        router.plan(task(private=True, model_pin="openai.code"))
    assert labels(router.plan(task(model_pin="openai.code"))) == ["openai.code"]


def test_budget_exhausted_keeps_only_free_models() -> None:
    plan = make_router({"llm": REMOTE}, budget_ok=False).plan(task())
    assert labels(plan) == ["local.default"]
    assert all("budget" in reason for label, reason in plan.rejected)


def test_open_circuit_is_filtered_with_reason() -> None:
    router = make_router({"llm": REMOTE})
    for _ in range(5):
        router.health.record_failure("openai.default")
    plan = router.plan(task())
    assert "openai.default" not in labels(plan)
    assert dict(plan.rejected)["openai.default"].startswith("circuit open")


def test_rules_and_default_order_the_plan() -> None:
    router = make_router(
        {
            "llm": REMOTE,
            "routing": {
                "rules": {"explain": ["anthropic.code", "google"]},
                "default": "openai.code",
            },
        }
    )
    plan = router.plan(task("explain"))
    assert labels(plan)[:2] == ["anthropic.code", "google.default"]
    assert plan.why == "[routing.rules] explain"
    plan = router.plan(task("refactor"))
    assert labels(plan)[0] == "openai.code" and plan.why == "[routing] default"


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ({"capability": 1, "cost": 0, "performance": 0, "availability": 0}, "anthropic.code"),
        ({"capability": 0, "cost": 1, "performance": 0, "availability": 0}, "local.default"),
    ],
)
def test_weights_are_honoured(weights: dict[str, float], expected: str) -> None:
    router = make_router({"llm": REMOTE, "routing": {"weights": weights}})
    by_score = sorted(router.plan(task("document")).candidates, key=lambda c: -c.score)
    assert by_score[0].ref.label == expected


def test_live_latency_and_success_change_the_order() -> None:
    router = make_router(
        {
            "llm": {"openai": REMOTE["openai"], "google": REMOTE["google"]},
            "routing": {
                "weights": {"capability": 0, "cost": 0, "performance": 1, "availability": 1}
            },
        }
    )
    for _ in range(3):
        router.health.record_success("openai.default", 2000)
        router.health.record_success("google.default", 200)
    assert router.plan(task()).primary.ref.label == "google.default"
    for _ in range(4):  # below the breaker threshold: only the availability score drops
        router.health.record_failure("google.default")
    assert router.health.get("google.default").breaker.state == "closed"
    assert router.plan(task()).primary.ref.label != "google.default"


def test_nothing_fits_is_a_clear_error() -> None:
    router = make_router({"llm": {"openai": REMOTE["openai"]}})
    with pytest.raises(NoRoute, match=r"openai\.default: context .* > window 128,000"):
        router.plan(task(tokens=3_000_000))


providers = st.dictionaries(
    keys=st.sampled_from(["openai", "anthropic", "google", "ollama", "vllm", "lmstudio"]),
    values=st.tuples(st.booleans(), st.integers(1_000, 300_000)),  # (loopback?, window)
    max_size=6,
)


def _config(spec: dict[str, tuple[bool, int]]) -> dict[str, Any]:
    llm: dict[str, Any] = {}
    for name, (loopback, window) in spec.items():
        kind = {"vllm": "openai", "lmstudio": "openai"}.get(name, name)
        host = "127.0.0.1" if loopback else "api.example.com"
        model = f"{name}-model"
        llm[name] = {
            "kind": kind,
            "api_key": "k",
            "base_url": f"http://{host}:8000",
            "models": {"default": model},
            "context_windows": {model: window},
        }
    return {"llm": llm}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=providers,
    private=st.booleans(),
    tokens=st.integers(0, 400_000),
    action=st.sampled_from(["explain", "document", "refactor", "hover"]),
)
def test_property_privacy_and_windows_are_never_violated(
    spec: dict[str, tuple[bool, int]], private: bool, tokens: int, action: str
) -> None:
    router = make_router(_config(spec))
    t = task(action, tokens=tokens, private=private)
    try:
        plan = router.plan(t)
    except NoRoute:
        # only when truly nothing qualifies
        assert all(
            not (lo or not private) or win < tokens + t.max_output_tokens
            for lo, win in spec.values()
        )
        return
    for cand in plan.candidates:
        provider = router.catalog.provider(cand.ref.provider)
        if private:
            assert provider.is_local
        assert t.context_tokens + t.max_output_tokens <= cand.window
    assert len({c.ref.label for c in plan.candidates}) == len(plan.candidates)
