"""Turn a Task into an ordered plan of models: hard filters first, then scores and rules.

Every rejected candidate keeps its reason, and the plan carries a one-line "why" for the status
and a full description for `--dry-run` and the log.

Plans are memoized in two steps, because a plan is asked for on every request and every listing:
what depends only on the task and the configuration (the candidates, their windows, estimates and
the filters other than the circuit) per task shape, and the finished plan per task shape and
health state (each survivor's latency and success, every breaker closed: an open breaker's state
and reason depend on the clock, so such a plan is computed afresh). Nothing else goes into a plan;
`tests/unit/routing/test_router_memo.py` checks that memoized and fresh plans are equal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from magray_lsp.catalog import Catalog, ModelRef
from magray_lsp.config.models import RoutingWeights
from magray_lsp.cost.prices import format_usd
from magray_lsp.errors import MagrayError
from magray_lsp.providers.base import Usage
from magray_lsp.resilience.health import HealthBoard
from magray_lsp.routing.knowledge import traits
from magray_lsp.routing.pricing import ASSUMED_PRICE_NOTE, charged_cost, output_cap
from magray_lsp.task import Task

LARGE_CONTEXT_TOKENS = 32_000
# Scores of things we have not measured yet: neutral rather than punished.
UNKNOWN_PERFORMANCE = 0.5
UNKNOWN_AVAILABILITY = 0.9
UNKNOWN_PRICE_SCORE = 0.3
# Task biases on the configured weights: quick answers favour cheap and fast models, edits favour
# capable ones.
_BIAS: dict[str, dict[str, float]] = {
    "explain": {"cost": 1.5, "performance": 1.5},
    "hover": {"cost": 2.0, "performance": 2.0},
    "document": {"capability": 1.25},
    "refactor": {"capability": 1.75},
}


#: memoized task shapes (and health states) kept per router; the oldest is dropped beyond this
MEMO_SIZE = 256
V = TypeVar("V")


class NoRoute(MagrayError):
    """No candidate survived the filters; the message lists why each was rejected."""


@dataclass(frozen=True, slots=True)
class Candidate:
    ref: ModelRef
    local: bool
    in_process: bool
    window: int
    capability: float
    #: the expected cost (None: no known price, and no hard budget to charge a placeholder)
    estimate_usd: Decimal | None
    score: float = 0.0
    #: no known price: `estimate_usd` (and the ledger) use the placeholder price under a hard budget
    price_assumed: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    candidates: tuple[Candidate, ...]
    rejected: tuple[tuple[str, str], ...] = ()
    why: str = ""
    preferred: tuple[str, ...] = field(default=())

    @property
    def primary(self) -> Candidate:
        return self.candidates[0]

    def describe(self) -> str:
        lines = [f"plan: {self.why}"]
        for i, c in enumerate(self.candidates):
            role = "primary" if i == 0 else f"fallback {i}"
            assumed = f" ({ASSUMED_PRICE_NOTE})" if c.price_assumed else ""
            lines.append(
                f"  {role:<10} {c.ref.label:<28} score {c.score:.2f}  window {c.window:,}  "
                f"≈{format_usd(c.estimate_usd)}{assumed}{'  local' if c.local else ''}"
            )
        for label, reason in self.rejected:
            lines.append(f"  rejected   {label:<28} {reason}")
        return "\n".join(lines)


class Router:
    def __init__(
        self,
        catalog: Catalog,
        health: HealthBoard,
        *,
        budget_allows_paid: Callable[[], bool] = lambda: True,
        window_hint: Callable[[ModelRef], int | None] = lambda ref: None,
    ) -> None:
        self.catalog = catalog
        self.health = health
        self.budget_allows_paid = budget_allows_paid
        self.window_hint = window_hint
        #: False: every plan computed afresh (the reference the memoized plans are tested against)
        self.memoize = True
        self._refs: tuple[ModelRef, ...] | None = None
        self._shapes: dict[Hashable, _Shape] = {}
        self._plans: dict[Hashable, Plan] = {}
        self._action_weights: dict[str, dict[str, float]] = {}

    # -- candidates --------------------------------------------------------

    def candidates(self) -> list[ModelRef]:
        """Every configured model of every usable provider (one entry per distinct model id)."""
        if self._refs is None:  # the catalog is fixed for the router's life
            self._refs = tuple(self._find_candidates())
        return list(self._refs)

    def _find_candidates(self) -> list[ModelRef]:
        refs: list[ModelRef] = []
        for name in self.catalog.enabled():
            cfg = self.catalog.sections[name]
            seen: set[str] = set()
            for alias in ["default", *cfg.models]:
                try:
                    ref = self.catalog.resolve(f"{name}.{alias}")
                except MagrayError:
                    continue
                if ref.model not in seen:
                    seen.add(ref.model)
                    refs.append(ref)
        return refs

    def window(self, ref: ModelRef) -> int:
        cfg = self.catalog.sections[ref.provider]
        if ref.model in cfg.context_windows:
            return cfg.context_windows[ref.model]
        if ref.kind == "local":
            return cfg.n_ctx
        return self.window_hint(ref) or traits(ref.model).window

    def capability(self, ref: ModelRef, task: Task) -> float:
        t = traits(ref.model)
        if task.action == "refactor":
            value = t.code
        elif task.action == "document":
            value = (t.code + t.general) / 2
        else:
            value = t.general
        # A team that names an alias "code" tells us what it is for.
        if ref.alias == "code" and task.action in ("refactor", "document"):
            value += 0.05
        return min(1.0, value)

    # -- planning ----------------------------------------------------------

    def plan(self, task: Task) -> Plan:
        if task.model_pin:
            ref = self.catalog.resolve(task.model_pin)
            key = (
                task.model_pin,
                task.action,
                task.name,
                task.private,
                task.context_tokens,
                task.max_output_tokens,
                self.window_hint(ref),
            )
            return self._memo(self._plans, key, lambda: self._pinned(task, ref))
        budget_ok = self.budget_allows_paid()
        refs = self.candidates()
        hints = tuple(self.window_hint(ref) for ref in refs)
        shape_key = (
            task.action,
            task.name,  # a named action may have its own [routing.rules] entry
            task.private,
            task.context_tokens,
            task.max_output_tokens,
            budget_ok,
            hints,
        )
        shape = self._memo(self._shapes, shape_key, lambda: self._shape(task, refs, budget_ok))
        health = self._health_key(shape)
        if health is None:  # a breaker is not closed: its state moves with the clock
            return self._finish(shape, task)
        return self._memo(self._plans, (shape_key, health), lambda: self._finish(shape, task))

    def _memo(self, memo: dict[Hashable, V], key: Hashable, make: Callable[[], V]) -> V:
        if not self.memoize:
            return make()
        found = memo.get(key)
        if found is None:
            found = memo[key] = make()
            if len(memo) > MEMO_SIZE:
                del memo[next(iter(memo))]
        return found

    def _shape(self, task: Task, refs: list[ModelRef], budget_ok: bool) -> _Shape:
        """Everything of the plan that does not depend on health: each candidate rejected before
        the circuit check (with why), or its candidate and the budget's verdict after it."""
        entries: list[_Entry] = []
        for ref in refs:
            reason, cand = self._check(ref, task)
            if reason or cand is None:
                entries.append(_Entry(ref.label, reason or "", None, None))
                continue
            after = None
            if not budget_ok and (cand.estimate_usd is None or cand.estimate_usd > 0):
                after = "monthly budget exhausted (paid models refused)"
            entries.append(_Entry(ref.label, None, cand, after))
        wanted, why = self._rule(task)
        return _Shape(tuple(entries), tuple(wanted), why)

    def _health_key(self, shape: _Shape) -> tuple[tuple[float | None, float | None], ...] | None:
        """What the plan reads from the health board (creating the entries it would create):
        each candidate's speed relative to the fastest survivor and its success, as `_score`
        uses them — not the latencies themselves, which move with every answer (a lone
        survivor's relative speed stays 1). None when a breaker is not closed."""
        healths = []
        for entry in shape.entries:
            if entry.cand is None:
                continue
            h = self.health.get(entry.label)
            if h.breaker.opened_at is not None:
                return None
            healths.append((h, entry.after is None))
        # as `_score`: the fastest among the survivors (a closed breaker rejects none)
        fastest = min(
            (h.latency_ms for h, alive in healths if alive and h.latency_ms), default=None
        )
        return tuple(
            (fastest / h.latency_ms if h.latency_ms and fastest else None, h.success)
            for h, _ in healths
        )

    def _finish(self, shape: _Shape, task: Task) -> Plan:
        survivors: list[Candidate] = []
        rejected: list[tuple[str, str]] = []
        for entry in shape.entries:
            if entry.cand is None:
                rejected.append((entry.label, entry.before or ""))
                continue
            breaker = self.health.get(entry.label).breaker
            if breaker.state == "open":
                rejected.append(
                    (entry.label, f"circuit open (retry in {breaker.retry_in():.0f} s)")
                )
            elif entry.after is not None:
                rejected.append((entry.label, entry.after))
            else:
                survivors.append(entry.cand)
        if not survivors:
            details = "; ".join(f"{label}: {reason}" for label, reason in rejected)
            raise NoRoute(
                f"no model can take this {task.action} request ({details or 'none configured'})"
            )
        scored = self._score(survivors, task)
        ordered, why = self._order(scored, task, shape.wanted, shape.why)
        return Plan(tuple(ordered), tuple(rejected), why, shape.wanted)

    def _check(self, ref: ModelRef, task: Task) -> tuple[str | None, Candidate | None]:
        """The filters that do not depend on health or budget; the candidate that passed them."""
        try:
            provider = self.catalog.provider(ref.provider)
        except MagrayError as exc:
            return str(exc), None
        if task.private and not provider.is_local:
            return "private content: local providers only", None
        cfg = self.catalog.sections[ref.provider]
        window = self.window(ref)
        needed = task.context_tokens + output_cap(task, cfg)
        if needed > window:
            return f"context {needed:,} tokens > window {window:,}", None
        capability = self.capability(ref, task)
        if capability <= 0:
            return f"not capable of {task.action}", None
        estimate, assumed = self.estimate(ref, task, local=provider.is_local)
        return None, Candidate(
            ref, provider.is_local, ref.kind == "local", window, capability, estimate, 0.0, assumed
        )

    def estimate(self, ref: ModelRef, task: Task, *, local: bool) -> tuple[Decimal | None, bool]:
        """The expected cost of `task` on `ref` (prompt estimate plus the output cap), and
        whether it is the placeholder price of an unpriced model (see `routing/pricing.py`)."""
        cfg = self.catalog.sections[ref.provider]
        usage = Usage(task.context_tokens, output_cap(task, cfg))
        return charged_cost(ref, cfg, usage, local=local, budget=self.catalog.loaded.config.budget)

    def _weights(self, action: str) -> dict[str, float]:
        found = self._action_weights.get(action)  # the configuration is fixed
        if found is None:
            found = self._action_weights[action] = self._biased_weights(action)
        return found

    def _biased_weights(self, action: str) -> dict[str, float]:
        w: RoutingWeights = self.catalog.loaded.config.routing.weights
        weights = {
            "capability": w.capability,
            "cost": w.cost,
            "performance": w.performance,
            "availability": w.availability,
        }
        for key, factor in _BIAS.get(action, {}).items():
            weights[key] *= factor
        total = sum(weights.values()) or 1.0
        return {k: v / total for k, v in weights.items()}

    def _score(self, cands: list[Candidate], task: Task) -> list[Candidate]:
        weights = self._weights(task.action)
        known = [float(c.estimate_usd) for c in cands if c.estimate_usd is not None]
        lo, hi = (min(known), max(known)) if known else (0.0, 0.0)
        healths = [self.health.get(c.ref.label) for c in cands]
        fastest = min((h.latency_ms for h in healths if h.latency_ms), default=None)
        out = []
        for c, h in zip(cands, healths, strict=True):
            if c.estimate_usd is None:
                cost = UNKNOWN_PRICE_SCORE
            elif hi <= lo:
                cost = 1.0
            else:  # log scale: prices span orders of magnitude
                eps = 1e-7
                cost = 1 - math.log((float(c.estimate_usd) + eps) / (lo + eps)) / math.log(
                    (hi + eps) / (lo + eps)
                )
            latency = h.latency_ms
            perf = fastest / latency if latency and fastest else UNKNOWN_PERFORMANCE
            success = h.success
            # squared: each failure costs a retry or a fallback, so flakiness compounds
            avail = UNKNOWN_AVAILABILITY if success is None else success**2
            score = (
                weights["capability"] * c.capability
                + weights["cost"] * cost
                + weights["performance"] * perf
                + weights["availability"] * avail
            )
            out.append(
                Candidate(
                    c.ref,
                    c.local,
                    c.in_process,
                    c.window,
                    c.capability,
                    c.estimate_usd,
                    score,
                    c.price_assumed,
                )
            )
        return out

    def _rule(self, task: Task) -> tuple[list[str], str]:
        """The labels the first matching routing rule (or the default) prefers, and why."""
        routing = self.catalog.loaded.config.routing
        rule_keys = []
        if task.private:
            rule_keys.append("private")
        if task.context_tokens > LARGE_CONTEXT_TOKENS:
            rule_keys.append("large_context")
        if task.name:  # a named action's own rule first, then its built-in's
            rule_keys.append(task.name)
        rule_keys.append(task.action)
        preferred: list[str] = []
        why = ""
        for key in rule_keys:
            if routing.rules.get(key):
                preferred = list(routing.rules[key])
                why = f"[routing.rules] {key}"
                break
        if not preferred and routing.default:
            preferred = [routing.default]
            why = "[routing] default"
        wanted = []
        for spec in preferred:
            try:
                wanted.append(self.catalog.resolve(spec).label)
            except MagrayError:
                continue
        return wanted, why

    def _order(
        self, cands: list[Candidate], task: Task, wanted: tuple[str, ...], why: str
    ) -> tuple[list[Candidate], str]:
        by_score = sorted(cands, key=lambda c: -c.score)
        # Preferred models first (in rule order), then the rest by score, in-process models last.
        rank = {label: i for i, label in enumerate(wanted)}
        ordered = sorted(
            by_score,
            key=lambda c: (0, rank[c.ref.label]) if c.ref.label in rank else (1 + c.in_process, 0),
        )
        head = ordered[0]
        if not why or head.ref.label not in rank:
            why = f"best score {head.score:.2f} for {task.action}"
            if task.private:
                why += " (private: local only)"
            if len(ordered) == 1 and head.in_process:
                why = "embedded local model (the only usable provider)"
        return ordered, why

    def _pinned(self, task: Task, ref: ModelRef) -> Plan:
        assert task.model_pin
        provider = self.catalog.provider(ref.provider)
        if task.private and not provider.is_local:
            raise NoRoute(f"{ref.label} is not local and this content is private")
        estimate, assumed = self.estimate(ref, task, local=provider.is_local)
        cand = Candidate(
            ref,
            provider.is_local,
            ref.kind == "local",
            self.window(ref),
            self.capability(ref, task),
            estimate,
            1.0,
            assumed,
        )
        return Plan((cand,), (), f"pinned to {task.model_pin}", (ref.label,))


@dataclass(frozen=True, slots=True)
class _Entry:
    """One candidate model in a `_Shape`: rejected ``before`` the circuit check, or its
    candidate and the budget's reason to reject it ``after`` that check (None: it may run)."""

    label: str
    before: str | None
    cand: Candidate | None
    after: str | None


@dataclass(frozen=True, slots=True)
class _Shape:
    """The health-independent part of a plan for one task shape."""

    entries: tuple[_Entry, ...]
    wanted: tuple[str, ...]
    why: str
