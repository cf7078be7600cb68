"""Memoized plans equal the plans computed afresh, whatever happens between two requests.

The router memoizes per task shape and health state (see `routing/router.py`). Here a random
sequence of requests, successes with their latencies, failures that open breakers, time passing
(open → half-open), the budget running out and windows learnt from a provider is replayed, and
after every step the memoized plan is compared with the one computed with memoization off.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magray_lsp.catalog import Catalog, ModelRef
from magray_lsp.config.loader import load_config
from magray_lsp.resilience.health import HealthBoard
from magray_lsp.routing.router import NoRoute, Plan, Router
from magray_lsp.task import Task

LLM = {
    "openai": {"api_key": "k", "models": {"default": "gpt-4o-mini", "code": "gpt-4o"}},
    "anthropic": {"api_key": "k", "models": {"default": "claude-3-5-haiku-latest"}},
    "google": {"api_key": "k", "models": {"default": "gemini-2.0-flash"}},
    "ollama": {"base_url": "http://127.0.0.1:11434", "models": {"default": "llama3.1"}},
}
LABELS = ["openai.default", "openai.code", "anthropic.default", "google.default", "ollama.default"]
RULES = {
    "refactor": ["anthropic.default", "openai.code"],
    "private": ["ollama.default"],
    "simplify": ["openai.default"],  # a custom action's own rule, tried before its built-in's
}


class World:
    """One router and everything it reads: a clock, the health board, the budget, the hints."""

    def __init__(self, rules: bool) -> None:
        settings_: dict[str, Any] = {"llm": LLM}
        if rules:
            settings_["routing"] = {"rules": RULES, "default": "google.default"}
        loaded = load_config(settings=settings_, env={}, include_user=False)
        self.now = 1000.0
        self.budget_ok = True
        self.hints: dict[str, int | None] = {}
        self.health = HealthBoard(clock=lambda: self.now, breaker_threshold=2)
        self.router = Router(
            Catalog(loaded),
            self.health,
            budget_allows_paid=lambda: self.budget_ok,
            window_hint=lambda ref: self.hints.get(ref.label),
        )

    def plan(self, task: Task, *, memoize: bool) -> Plan | str:
        self.router.memoize = memoize
        try:
            return self.router.plan(task)
        except NoRoute as exc:
            return f"NoRoute: {exc}"
        finally:
            self.router.memoize = True


tasks = st.builds(
    Task,
    action=st.sampled_from(["explain", "document", "refactor", "hover"]),
    system=st.just("s"),
    prompt=st.just("p"),
    context_tokens=st.sampled_from([0, 900, 1000, 40_000, 150_000, 500_000]),
    max_output_tokens=st.sampled_from([256, 512]),
    private=st.booleans(),
    model_pin=st.sampled_from([None, None, None, "openai.code", "ollama.default"]),
    name=st.sampled_from(["", "", "simplify", "fix"]),
)
label = st.sampled_from(LABELS)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("plan"), tasks),
        st.tuples(st.just("ok"), label, st.sampled_from([5.0, 50.0, 400.0, 3000.0])),
        st.tuples(st.just("fail"), label),
        st.tuples(st.just("wait"), st.sampled_from([0.4, 3.0, 11.0, 30.0])),
        st.tuples(st.just("budget"), st.booleans()),
        st.tuples(st.just("hint"), st.sampled_from([None, 2048, 1_000_000])),
    ),
    min_size=1,
    max_size=40,
)


@given(rules=st.booleans(), steps=steps)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_memoized_plan_equals_the_fresh_one(rules: bool, steps: list[Any]) -> None:
    world = World(rules)
    seen: list[Task] = []  # every task planned so far is planned again after each step
    for step in steps:
        kind = step[0]
        if kind == "plan":
            seen.append(step[1])
        elif kind == "ok":
            world.health.record_success(step[1], step[2])
        elif kind == "fail":
            world.health.record_failure(step[1])
        elif kind == "wait":
            world.now += step[1]
        elif kind == "budget":
            world.budget_ok = step[1]
        else:  # Ollama reports its model's window
            world.hints["ollama.default"] = step[1]
        for task in seen:
            first = world.plan(task, memoize=True)
            again = world.plan(task, memoize=True)  # a hit when nothing changed
            assert first == world.plan(task, memoize=False) and again == first


def test_a_repeated_request_reuses_the_plan_and_health_changes_it() -> None:
    world = World(rules=False)
    task = Task(action="explain", system="s", prompt="p", context_tokens=1000)
    plan = world.router.plan(task)
    assert world.router.plan(task) is plan  # memoized: the same object
    world.health.record_success(plan.primary.ref.label, 40.0)
    scored = world.router.plan(task)
    assert scored is not plan and scored == world.plan(task, memoize=False)
    assert world.router.plan(task) is scored


def test_an_open_breaker_is_never_served_from_the_memo() -> None:
    world = World(rules=False)
    task = Task(action="explain", system="s", prompt="p", context_tokens=1000)
    primary = world.router.plan(task).primary.ref.label
    world.health.record_failure(primary)
    world.health.record_failure(primary)  # threshold 2: open for 10 s
    assert dict(world.router.plan(task).rejected)[primary] == "circuit open (retry in 10 s)"
    world.now += 4
    assert dict(world.router.plan(task).rejected)[primary] == "circuit open (retry in 6 s)"
    world.now += 7  # half-open: a probe may go
    assert primary in [c.ref.label for c in world.router.plan(task).candidates]


def test_a_learnt_window_changes_the_plan() -> None:
    world = World(rules=False)
    task = Task(action="explain", system="s", prompt="p", context_tokens=100_000, private=True)
    assert [c.ref.label for c in world.router.plan(task).candidates] == ["ollama.default"]
    world.hints["ollama.default"] = 4096
    with pytest.raises(NoRoute, match="window 4,096"):
        world.router.plan(task)


def test_pinned_plans_follow_the_pin_and_the_privacy_rule() -> None:
    world = World(rules=False)
    pinned = Task(action="refactor", system="s", prompt="p", model_pin="openai.code")
    assert world.router.plan(pinned).primary.ref == ModelRef("openai", "openai", "gpt-4o", "code")
    with pytest.raises(NoRoute, match="not local"):
        world.router.plan(replace(pinned, private=True))


def test_a_named_action_is_not_served_its_built_ins_memoized_plan() -> None:
    """`simplify` is routed like `refactor` but has its own rule: the memo keys on the name."""
    world = World(rules=True)
    base = Task(action="refactor", system="s", prompt="p", context_tokens=1000)
    named = replace(base, name="simplify")
    refactor, simplify = world.plan(base, memoize=True), world.plan(named, memoize=True)
    assert isinstance(refactor, Plan) and isinstance(simplify, Plan)
    assert refactor.candidates[0].ref.label == "anthropic.default"
    assert simplify.candidates[0].ref.label == "openai.default"
    assert simplify == world.plan(named, memoize=False)


def test_the_memo_keys_on_relative_speed_not_on_latencies() -> None:
    """A plan scores each survivor's speed against the fastest's: a lone timed survivor's plan is
    reused however its latency moves; among several, a change in who is how fast re-plans."""
    world = World(rules=False)
    private = Task(action="explain", system="s", prompt="p", context_tokens=1000, private=True)
    world.health.record_success("ollama.default", 50.0)
    lone = world.router.plan(private)
    world.health.record_success("ollama.default", 400.0)  # the only timed local model: speed 1
    assert world.router.plan(private) is lone and lone == world.plan(private, memoize=False)

    task = Task(action="explain", system="s", prompt="p", context_tokens=1000)
    world.health.record_success("openai.default", 5.0)
    world.health.record_success("anthropic.default", 3000.0)
    first = world.router.plan(task)
    world.health.record_success("anthropic.default", 5.0)  # much closer to openai's speed now
    moved = world.router.plan(task)
    assert moved is not first and moved == world.plan(task, memoize=False)
