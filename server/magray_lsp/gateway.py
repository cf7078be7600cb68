"""The one entry point for "run this Task": cache → router → resilience → provider → ledger.

Streaming passes straight through: callers receive each ``TextDelta`` as the provider yields it,
``Fallback`` notices when a model is skipped, then one ``Outcome``. Before the first text reaches
the caller any failure may fall back to the next model in the plan; after it, a failure ends the
stream with ``StreamInterrupted`` — never a silently truncated answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from magray_lsp.cache import CachedAnswer, ResponseCache, SingleFlight, cache_key
from magray_lsp.catalog import Catalog, ModelRef
from magray_lsp.context.tokens import estimate_tokens
from magray_lsp.cost.budget import BudgetGuard, BudgetStatus, Reservation
from magray_lsp.cost.ledger import Ledger, LedgerEntry, LedgerTx, default_ledger_path
from magray_lsp.cost.ledger import Outcome as LedgerOutcome
from magray_lsp.cost.prices import price_usd, uncached_price_usd
from magray_lsp.cost.team import TeamBudget, TeamHold
from magray_lsp.cost.team_local import TeamTotal
from magray_lsp.cost.team_status import TeamStatus
from magray_lsp.cost.writer import LedgerWriter
from magray_lsp.deadline import Deadline
from magray_lsp.errors import (
    BudgetExceeded,
    InvalidAnswer,
    MagrayError,
    PrivacyViolation,
    ProviderError,
    StreamInterrupted,
    Timeout,
)
from magray_lsp.privacy.locality import private_content
from magray_lsp.privacy.outbound import (
    Outbound,
    prepare_outbound,
    seal_answer,
    unresolved_placeholders,
    unseal_answer,
)
from magray_lsp.providers.base import ChatRequest, Completion, Message, TextDelta, Usage
from magray_lsp.resilience.backoff import backoff_delay
from magray_lsp.resilience.health import HealthBoard
from magray_lsp.routing.pricing import (
    UNKNOWN_PRICE,
    charged_cost,
    hard_budget,
    most_usage,
    output_cap,
)
from magray_lsp.routing.router import Candidate, Plan, Router
from magray_lsp.task import Task


@dataclass(frozen=True, slots=True)
class Outcome:
    text: str
    ref: ModelRef
    usage: Usage | None
    cost_usd: Decimal | None
    latency_ms: float
    finish_reason: str | None
    route: str  # why this model was chosen
    cached: bool = False
    coalesced: bool = False
    fallback_from: str | None = None  # the plan's primary, when another model answered
    attempts: tuple[str, ...] = ()  # "label: error" for every failed attempt
    month_usd: Decimal | None = None
    budget_usd: Decimal | None = None
    request_id: str = ""
    team: TeamStatus | None = None  # the team's month, with [team] configured
    #: an answer to private code: cached only on this machine (never in Redis)
    private: bool = False


@dataclass(frozen=True, slots=True)
class Fallback:
    """A model failed before sending text; the next one in the plan is being tried."""

    failed: str
    error: str
    next: str


log = logging.getLogger(__name__)
T = TypeVar("T")
GatewayEvent = TextDelta | Fallback | Outcome
#: checks a complete answer: None when it is usable, else why not (the failed check, which the
#: user is told) — e.g. the edit it implies would not parse
Accept = Callable[[str], str | None]


DEFAULT_CONTEXT_BUDGET = 6000  # tokens of surrounding code when every window is large
KEY_MEMO_SIZE = 1024  # recent cache keys remembered by their parts


@dataclass
class _Attempt:
    """One call to one model: what the ledger needs to know about it."""

    task: Task
    cand: Candidate
    failures: list[str]  # earlier failures of this request, "label: error"
    reservation: Reservation | None
    plan: Sequence[Candidate]  # every model the plan holds, to name the failed ones
    team_hold: TeamHold | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.perf_counter)
    wall_started: float = field(default_factory=time.time)
    parts: list[str] = field(default_factory=list)
    first_token_ms: float | None = None
    done: Completion | None = None
    #: the request left for the provider: cut short after this, it is paid for
    sent: bool = False
    #: the prompt's messages as sent (a call cut short is billed for their estimated tokens)
    prompt: tuple[Message, ...] = ()
    #: what the call is billed for, as `Gateway._record` settled it (None: nothing billed)
    usage: Usage | None = None
    tokens_estimated: bool = False
    cost: Decimal | None = None
    uncached_cost: Decimal | None = None  # set when the provider's prompt cache played a part
    price_assumed: bool = False

    def received(self, text: str) -> None:
        if self.first_token_ms is None:
            self.first_token_ms = self.elapsed_ms()
        self.parts.append(text)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def fallback_chain(self) -> list[str]:
        """Other models that failed before this one (retries of this model have their own rows),
        as "provider/model" like every model in the ledger: never a label ("openai.default"),
        which the ledger's health and outage figures would take for a provider's name."""
        this = (self.cand.ref.provider, self.cand.ref.model)
        failed = (
            c.ref
            for c in self.plan
            if (c.ref.provider, c.ref.model) != this
            and any(f.startswith(f"{c.ref.label}: ") for f in self.failures)
        )
        return list(dict.fromkeys(f"{ref.provider}/{ref.model}" for ref in failed))

    def billed_usage(self) -> tuple[Usage, bool]:
        """The provider's usage when it sent one; else (a call cut short, or a server that
        reports none) the prompt and the text received so far, estimated with the router's
        estimator — the second item says so."""
        if self.done is not None and self.done.usage is not None:
            return self.done.usage, False
        language = self.task.language
        prompt = estimate_tokens("".join(m.content for m in self.prompt), language)
        return Usage(prompt, estimate_tokens("".join(self.parts), language)), True

    def entry(self, workspace: str, outcome: LedgerOutcome, error_type: str | None) -> LedgerEntry:
        usage = self.usage
        return LedgerEntry(
            id=self.request_id,
            ts=self.wall_started,
            workspace=workspace,
            action=self.task.action_name,
            source_path=self.task.source_path,
            provider=self.cand.ref.provider,
            model=self.cand.ref.model,
            input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            cached_input_tokens=usage.cached_input_tokens if usage else 0,
            cache_write_tokens=usage.cache_write_tokens if usage else 0,
            cost_usd=self.cost,
            uncached_usd=self.uncached_cost,
            estimated_usd=self.cand.estimate_usd,
            latency_ms=self.elapsed_ms(),
            first_token_ms=self.first_token_ms,
            fallback_chain=self.fallback_chain(),
            outcome=outcome,
            error_type=error_type,
            tokens_estimated=self.tokens_estimated,
            price_assumed=self.price_assumed,
        )


def _with_cache_prefix(request: ChatRequest, outbound: Outbound) -> ChatRequest:
    """The request as sent, its messages' cache prefixes kept through redaction (which rebuilds
    the messages): a prefix counts in its redacted length when its redacted text still starts
    the redacted message, and is dropped (nothing marked for caching) otherwise."""
    sent, redaction = outbound.request, outbound.redaction
    if sent is request or redaction is None:
        return sent
    messages = []
    for before, after in zip(request.messages, sent.messages, strict=True):
        prefix = redaction.seal(before.split()[0]) if before.cache_prefix else ""
        kept = len(prefix) if prefix and after.content.startswith(prefix) else 0
        messages.append(replace(after, cache_prefix=kept))
    return replace(sent, messages=tuple(messages))


class _Channel:
    """Events from a flight's task to the request that started it: a deque, and one future to
    wake the reader when it waits (a chunk costs no task or wait set of its own)."""

    __slots__ = ("_waiter", "items")

    def __init__(self) -> None:
        self.items: deque[GatewayEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, event: GatewayEvent) -> None:
        self.items.append(event)
        self.wake()

    def wake(self, _done: object = None) -> None:
        """Wake the reader (also the flight's done callback: then nothing more comes)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until ``put`` or ``wake``."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


class AllModelsFailed(ProviderError):
    """Every model in the plan failed; the message lists each failure."""


class Gateway:
    def __init__(
        self,
        catalog: Catalog,
        *,
        ledger: Ledger,
        cache: ResponseCache | None = None,
        health: HealthBoard | None = None,
        workspace: str = "",
        rng: random.Random | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.catalog = catalog
        self.config = catalog.loaded.config
        self.ledger = ledger
        self.budget = BudgetGuard(ledger, self.config.budget)
        #: [team] limits, on top of the local budget (None without team mode)
        self.team = TeamBudget.for_config(self.config.team, ledger, workspace=workspace)
        # Every ledger write of this gateway goes through one thread, many rows per transaction;
        # after each commit it recomputes the budget status, so reading it costs no query.
        self.writer: LedgerWriter[BudgetStatus] = LedgerWriter(
            ledger, after_batch=self.budget.status_in
        )
        self.cache = cache
        self.health = health or HealthBoard()
        #: context windows learnt from providers that report them (Ollama's /api/show)
        self._windows: dict[str, int | None] = {}
        self._windows_asked = False
        self.router = Router(
            catalog,
            self.health,
            budget_allows_paid=self._budget_allows_paid,
            window_hint=lambda ref: self._windows.get(ref.label),
        )
        self.workspace = workspace
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._flights: SingleFlight[Outcome] = SingleFlight()
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._budget_cache: tuple[float, BudgetStatus] | None = None
        self._requests = 0  # requests inside `stream` right now
        #: rows to commit at the end of this loop iteration (see `_write`)
        self._soon: list[tuple[Callable[[LedgerTx], Any], asyncio.Future[Any]]] = []
        self._key_params: dict[str, Any] | None = None  # the configuration's part of cache keys
        self._keys: dict[tuple[Any, ...], str] = {}  # recent cache keys by their parts
        self._cache_writes: set[asyncio.Future[None]] = set()  # shared cache tiers being written

    @classmethod
    def open(
        cls,
        catalog: Catalog,
        *,
        workspace: str = "",
        on_warning: Callable[[str], None] | None = None,
    ) -> Gateway:
        """The gateway with the shared on-disk ledger and the configured cache tiers."""
        cache = ResponseCache(catalog.loaded.config.cache, on_warning=on_warning)
        return cls(catalog, ledger=Ledger(default_ledger_path()), cache=cache, workspace=workspace)

    # -- planning -----------------------------------------------------------

    def plan(self, task: Task) -> Plan:
        return self.router.plan(task)

    def context_budget(self, private: bool, max_output_tokens: int = 700) -> int:
        """Tokens of code context worth assembling: the default, shrunk so the prompt (which
        shows the target twice: in place and on its own) still fits the largest window among
        the models that may take the task — the embedded model has only 4K."""
        windows = [
            self.router.window(ref)
            for ref in self.router.candidates()
            if not private or self.catalog.provider(ref.provider).is_local
        ]
        room = (max(windows, default=DEFAULT_CONTEXT_BUDGET * 4) - max_output_tokens - 400) // 2
        return max(256, min(DEFAULT_CONTEXT_BUDGET, room))

    async def _learn_windows(self, *, local_only: bool = False) -> None:
        """Ask providers that know their models' windows (Ollama) once per model; `local_only`
        (a private task) asks only those on this machine: it contacts no other host at all."""
        if self._windows_asked:  # the configuration, hence the models, is fixed
            return
        skipped = False
        for ref in self.router.candidates():
            if ref.label in self._windows or ref.kind != "ollama":
                continue
            provider = self.catalog.provider(ref.provider)
            if local_only and not provider.is_local:
                skipped = True  # asked by the next task that may use it
                continue
            ask = getattr(provider, "context_window", None)
            self._windows[ref.label] = None
            if ask is None:
                continue
            try:
                self._windows[ref.label] = await asyncio.wait_for(ask(ref.model), 2.0)
            except (TimeoutError, MagrayError):
                pass  # unknown: the built-in table applies, and we do not ask again
        self._windows_asked = not skipped

    def budget_status(self, max_age: float = 1.0) -> BudgetStatus:
        """This month's spend: the writer's status after its last commit, or a fresh query when
        that is older than ``max_age`` seconds (other processes may have spent meanwhile)."""
        now = time.monotonic()
        for cached in (self.writer.latest, self._budget_cache):
            if cached is not None and now - cached[0] <= max_age:
                return cached[1]
        self._budget_cache = (now, self.budget.status())
        return self._budget_cache[1]

    def _budget_allows_paid(self) -> bool:
        budget = self.config.budget
        if budget.monthly_usd is None or not budget.hard_stop:
            return True  # nothing can be refused: no status needed
        return not self.budget_status().exhausted

    def request_for(self, task: Task, ref: ModelRef) -> ChatRequest:
        cfg = self.catalog.sections[ref.provider]
        defaults = cfg.defaults
        user = Message("user", task.prompt, cache_prefix=task.prompt_prefix)
        return ChatRequest(
            model=ref.model,
            messages=(Message("system", task.system), user),
            max_tokens=output_cap(task, cfg),  # the number the estimate and reservation used
            temperature=defaults.temperature,
            top_p=defaults.top_p,
            prompt_cache_key=self._prompt_cache_key(task) if task.prompt_prefix else None,
        )

    def _prompt_cache_key(self, task: Task) -> str:
        """One key per workspace file: requests about one file share its context. A hash, so the
        path itself never leaves the machine."""
        where = f"{self.workspace}\0{task.source_path}".encode()
        return "magray-" + hashlib.sha256(where).hexdigest()[:32]

    def key_for(self, task: Task) -> str | None:
        """Cache key: the task's content key + what else changes the answer."""
        if not task.cache_key or self.cache is None:
            return None
        # the key is a function of these parts alone (the configuration is fixed for this
        # gateway's life): a repeated request (a cache hit) skips the canonical JSON and hash
        parts = (
            task.action,
            task.extra.get("template", ""),
            task.cache_key,
            task.extra.get("context_hash", ""),
            task.max_output_tokens,
            task.model_pin,
        )
        key = self._keys.get(parts)
        if key is None:
            key = self._keys[parts] = self._compute_key(task)
            if len(self._keys) > KEY_MEMO_SIZE:
                del self._keys[next(iter(self._keys))]
        return key

    def _compute_key(self, task: Task) -> str:
        policy = (
            task.model_pin
            or f"auto:{sorted(self.config.routing.rules.items())}:{self.config.routing.default}"
        )
        if self._key_params is None:  # the configuration is fixed for this gateway's life
            self._key_params = {
                name: cfg.defaults.model_dump(exclude_none=True)
                for name, cfg in sorted(self.catalog.sections.items())
            }
        params = self._key_params
        return cache_key(
            action=task.action_name,
            template_version=task.extra.get("template", ""),
            target_key=task.cache_key,
            context_hash=task.extra.get("context_hash", ""),
            params={"providers": params, "max_output_tokens": task.max_output_tokens},
            policy=policy,
        )

    # -- running ------------------------------------------------------------

    async def run(self, task: Task, *, accept: Accept | None = None) -> Outcome:
        """The outcome only: the provider is asked for one whole (non-streamed) answer."""
        outcome: Outcome | None = None
        # to the end (the outcome is the last event): a stream left open would be closed by the
        # garbage collector's hook, a task of its own, and count as a request until then
        async for event in self.stream(task, accept=accept, incremental=False):
            if isinstance(event, Outcome):
                outcome = event
        if outcome is None:  # pragma: no cover
            raise MagrayError("the gateway ended without an outcome")
        return outcome

    async def run_many(self, tasks: Iterable[Task]) -> list[Outcome | BaseException]:
        """Run tasks concurrently (provider concurrency limits apply); failures stay per task."""
        return list(await asyncio.gather(*(self.run(t) for t in tasks), return_exceptions=True))

    async def stream(
        self, task: Task, *, accept: Accept | None = None, incremental: bool = True
    ) -> AsyncIterator[GatewayEvent]:
        """Run `task`; `accept(text)` may reject an answer (saying why), which then counts as a
        failure of that model (paid for and recorded, not cached) and the next model is tried.
        A cached or shared answer passes the same check, against this request, before it is
        used; one that fails is skipped (a ``Fallback`` and an entry in the outcome's
        ``attempts`` say why) and the models are asked.
        ``incremental=False`` asks providers for the whole answer in one response (one delta)."""
        self._requests += 1
        events = self._stream(task, accept, incremental)
        try:
            async for event in events:
                yield event
        finally:
            self._requests -= 1
            await events.aclose()  # now, if the caller stopped early: not by the GC's hook

    async def _stream(
        self, task: Task, accept: Accept | None, incremental: bool
    ) -> AsyncGenerator[GatewayEvent, None]:
        key = self.key_for(task)
        skipped: list[str] = []  # cached or shared answers that did not fit this request
        stale: str | None = None
        if key and self.cache is not None:
            hit = await self.cache.get(key)
            if hit is not None:
                cached = await self._cached_outcome(task, hit[0], accept)
                if isinstance(cached, Outcome):
                    yield TextDelta(cached.text)
                    yield cached
                    return
                stale = cached
                skipped.append(f"cache: {stale}")
        await self._learn_windows(local_only=task.private)
        plan = self.plan(task)
        if key and stale is None and self.cache is not None and key not in self._flights:
            # A flight that ended since the lookup above missed left its answer in memory (it
            # stores it there before it ends, and no other task runs between here and joining or
            # starting a flight): use it rather than ask again.
            late = self.cache.get_memory(key)
            if late is not None:
                cached = await self._cached_outcome(task, late, accept)
                if isinstance(cached, Outcome):
                    yield TextDelta(cached.text)
                    yield cached
                    return
                stale = cached
                skipped.append(f"cache: {stale}")
        if stale is not None:  # the fresh answer will replace the entry
            yield Fallback("cache", stale, plan.primary.ref.label)
        if key is None:
            async for event in self._execute(task, plan, accept, incremental):
                yield event
            return
        # Identical requests in flight share one provider call. The shared work runs in its own
        # task; this caller streams its events live only if it is the one that started it.
        live = _Channel()
        fresh: list[Outcome] = []  # the answer as this request's own call produced it

        async def work() -> Outcome:
            async for event in self._execute(task, plan, accept, incremental):
                if isinstance(event, Outcome):  # the last event
                    fresh.append(event)
                    continue
                live.put(event)
                # yield so the caller forwards this chunk now, not after the buffered rest
                await asyncio.sleep(0)
            if not fresh:  # pragma: no cover
                raise MagrayError("the gateway ended without an outcome")
            # stored inside the flight: a request whose cache lookup missed just before finds
            # the flight and joins it, one that comes after finds the memory tier. Shared
            # sealed, like a cache entry: each follower restores the values from its own prompt.
            return self._store(key, task, fresh[0])

        runner = self._flights.join(key, work)
        runner.add_done_callback(live.wake)
        try:
            while True:
                while live.items:
                    yield live.items.popleft()
                if runner.done():
                    break
                await live.wait()
            outcome, follower = runner.result()
        finally:
            runner.cancel()
        if not follower:
            outcome = fresh[0]
        else:
            text, refusal = self._fits(task, outcome.text, accept)
            if refusal is None:
                yield TextDelta(text)
                # served by another request's call: a free row of its own, like a cache hit
                usage = outcome.usage or Usage()
                row = await self._free_row(task, outcome.ref, usage, outcome.cost_usd)
                outcome = replace(
                    outcome, text=text, coalesced=True, cost_usd=Decimal(0), request_id=row
                )
            else:  # the shared answer does not fit this request: ask for its own
                skipped.append(f"shared answer: {refusal}")
                yield Fallback("shared answer", refusal, plan.primary.ref.label)
                async for event in self._execute(task, plan, accept, incremental):
                    if isinstance(event, Outcome):
                        outcome = event
                        self._store(key, task, event)
                    else:
                        yield event
        if skipped:
            outcome = replace(outcome, attempts=(*skipped, *outcome.attempts))
        yield outcome

    async def _execute(
        self, task: Task, plan: Plan, accept: Accept | None, incremental: bool = True
    ) -> AsyncIterator[GatewayEvent]:
        retry = self.config.retry
        deadline = asyncio.get_running_loop().time() + retry.deadline_seconds
        failures: list[str] = []
        primary = plan.primary.ref.label
        for index, cand in enumerate(plan.candidates):
            label = cand.ref.label
            breaker = self.health.get(label).breaker
            if not breaker.allow():
                failures.append(f"{label}: circuit open")
                continue
            reservation: Reservation | None = None
            team_hold: TeamHold | None = None
            try:
                reservation, team_hold = await self._reserve(cand, task, deadline)
            except BudgetExceeded as exc:
                breaker.release_probe()
                failures.append(f"{label}: {exc}")
                continue
            last: ProviderError | None = None
            for attempt in range(1, retry.max_attempts + 1):
                try:
                    async for event in self._attempt(
                        task,
                        plan,
                        cand,
                        (reservation, team_hold),
                        failures,
                        deadline,
                        accept,
                        incremental,
                    ):
                        yield event
                    return
                except ProviderError as exc:
                    last = exc
                    failures.append(f"{label}: {type(exc).__name__}: {exc}")
                    if isinstance(exc, StreamInterrupted):
                        raise  # settled with what the broken-off answer cost
                    if not (exc.retryable or exc.fallback):
                        await self._release(reservation, team_hold)  # nothing was billed
                        raise
                    remaining = deadline - asyncio.get_running_loop().time()
                    if (
                        exc.retryable
                        and attempt < retry.max_attempts
                        and self.health.get(label).breaker.state == "closed"
                    ):
                        delay = backoff_delay(
                            attempt,
                            base=retry.base_delay_seconds,
                            cap=retry.max_delay_seconds,
                            error=exc,
                            retry_after_cap=retry.retry_after_cap_seconds,
                            rng=self._rng,
                        )
                        if delay < remaining:
                            try:
                                await self._sleep(delay)
                            except asyncio.CancelledError:  # gave up between attempts
                                await asyncio.shield(self._release(reservation, team_hold))
                                raise
                            continue
                    break
            await self._release(reservation, team_hold)
            if last is not None and not last.fallback:
                raise last
            nxt = plan.candidates[index + 1].ref.label if index + 1 < len(plan.candidates) else None
            if nxt and last is not None:
                yield Fallback(label, f"{type(last).__name__}: {last}", nxt)
            if asyncio.get_running_loop().time() >= deadline:
                failures.append(f"deadline of {retry.deadline_seconds:.0f} s reached")
                break
        raise AllModelsFailed(
            f"every model failed for {task.action_name}: " + "; ".join(failures), provider=primary
        )

    async def _attempt(
        self,
        task: Task,
        plan: Plan,
        cand: Candidate,
        holds: tuple[Reservation | None, TeamHold | None],
        failures: list[str],
        deadline: float,
        accept: Accept | None,
        incremental: bool = True,
    ) -> AsyncIterator[GatewayEvent]:
        ref = cand.ref
        label = ref.label
        provider = self.catalog.provider(ref.provider)
        reservation, team_hold = holds
        run = _Attempt(task, cand, list(failures), reservation, plan.candidates, team_hold)
        if task.private and not provider.is_local:
            # The router already filters these; checked again where the request is sent so that
            # no future code path (a pin, a rule, a bug) can leak private code.
            await self._record(run, "error", PrivacyViolation.__name__)
            raise PrivacyViolation(f"refusing to send private code to {label} (not local)")
        request = self.request_for(task, ref)
        try:  # content safety, then redaction for a remote model: a refusal sends nothing
            outbound = prepare_outbound(request, local=provider.is_local, config=self.config)
        except MagrayError as exc:
            await self._record(run, "error", type(exc).__name__)
            raise
        sent = _with_cache_prefix(request, outbound)
        run.prompt = sent.messages  # estimated only for a call that ends without usage
        try:
            async with self._slot(ref.provider), Deadline(deadline) as until:
                # the adapter's events, each checked here (`providers/guard.py`): no generator
                # layer of its own between the provider and the caller
                gen, check = provider.unguarded(sent, stream=incremental)
                try:
                    run.sent = True
                    while True:
                        try:
                            if task.private:
                                # the transport's locality guard refuses non-local sends meanwhile
                                with private_content(f"private code for {label}"):
                                    event = check(await until.next(gen))
                            else:
                                event = check(await until.next(gen))
                        except StopAsyncIteration:
                            raise ProviderError(
                                "stream ended without a completion", provider=ref.provider
                            ) from None
                        except TimeoutError:
                            raise Timeout(
                                "overall deadline reached", provider=ref.provider
                            ) from None
                        if isinstance(event, TextDelta):
                            if text := outbound.restore(event.text):  # placeholders → values
                                run.received(text)
                                yield event if text is event.text else TextDelta(text)
                            continue
                        done: Completion = event
                        if tail := outbound.flush():
                            run.received(tail)
                            yield TextDelta(tail)
                        break
                finally:
                    await gen.aclose()
        except ProviderError as exc:
            self.health.record_failure(label)
            # a partial answer was paid for: settle it; otherwise the provider refused the call
            # (nothing billed) and the reservation stays for a retry
            await self._record(run, "error", type(exc).__name__, settle=bool(run.parts))
            if run.parts:
                raise StreamInterrupted(
                    f"the answer from {label} broke off after {len(run.parts)} chunks: {exc}",
                    provider=ref.provider,
                ) from exc
            raise
        except (asyncio.CancelledError, GeneratorExit):
            self.health.get(label).breaker.release_probe()
            await asyncio.shield(self._record(run, "cancelled", None))
            raise
        latency_ms = run.elapsed_ms()
        self.health.record_success(label, latency_ms)
        run.done = done
        if done.usage and (done.usage.cached_input_tokens or done.usage.cache_write_tokens):
            cfg = self.catalog.sections[ref.provider]
            run.uncached_cost = uncached_price_usd(ref.kind, ref.model, done.usage, cfg.prices)
        refusal = accept("".join(run.parts)) if accept is not None else None
        if refusal is not None:
            await self._record(run, "error", "InvalidAnswer")
            raise InvalidAnswer(
                f"the answer from {label} was not usable: {refusal}", provider=ref.provider
            )
        await self._record(run, "ok", None)
        status = self.budget_status()  # the writer's, as of the commit that holds this row
        yield Outcome(
            text="".join(run.parts),
            ref=ref,
            usage=done.usage,
            cost_usd=run.cost,
            latency_ms=latency_ms,
            finish_reason=done.finish_reason,
            route=plan.why,
            fallback_from=plan.primary.ref.label if cand is not plan.primary else None,
            attempts=tuple(failures),
            month_usd=status.spent,
            budget_usd=status.limit,
            request_id=run.request_id,
            team=self.team.status if self.team else None,
            private=task.private,
        )

    # -- helpers ------------------------------------------------------------

    def _slot(self, provider: str) -> asyncio.Semaphore:
        if provider not in self._slots:
            limit = self.catalog.sections[provider].max_concurrency
            self._slots[provider] = asyncio.Semaphore(limit)
        return self._slots[provider]

    async def _reserve(
        self, cand: Candidate, task: Task, deadline: float
    ) -> tuple[Reservation | None, TeamHold | None]:
        """Set aside the most this call can cost (see `routing/pricing.py`) against the local hard
        budget, then against the team's limits (which releases the local one if it refuses), so
        calls in flight together never pass a limit even when their token estimates were low."""
        local = hard_budget(self.config.budget)
        if not local and self.team is None:
            return None, None  # nothing can be refused: skip a transaction on the hot path
        if cand.estimate_usd is not None and cand.estimate_usd == 0:
            most = Decimal(0)  # free: no local reservation (the team may still refuse it)
        else:
            usage = most_usage(self.request_for(task, cand.ref), task)
            charged = self._charge(cand, usage)[0]
            if charged is None:  # unpriced, no local hard budget: the team holds the placeholder
                charged = price_usd(cand.ref.kind, "unknown", usage, {"unknown": UNKNOWN_PRICE})
            most = charged or Decimal(0)
        reservation = await self._reserve_local(most) if local else None
        if self.team is None:
            return reservation, None
        try:
            ttl = deadline - asyncio.get_running_loop().time() + 60  # outlives the call
            return reservation, await self.team.reserve(most, deadline=deadline, ttl=ttl)
        except BaseException:  # refused, or cancelled while asking the team's Redis
            await asyncio.shield(self._release(reservation, None))
            raise

    async def _release(self, reservation: Reservation | None, team_hold: TeamHold | None) -> None:
        """Free what a call that cost nothing had set aside, locally and in the team's Redis."""
        if reservation is not None:
            await self._write(partial(self.budget.release_in, reservation=reservation))
        if self.team is not None:
            await self.team.release(team_hold)

    async def _reserve_local(self, most: Decimal | None) -> Reservation | None:
        if not most:
            return None  # free models are never refused and need no reservation
        reservation = self.budget.reservation(most, request_id=uuid.uuid4().hex)
        await self._write(lambda tx: self.budget.reserve_in(tx, reservation))
        return reservation

    def _charge(self, cand: Candidate, usage: Usage) -> tuple[Decimal | None, bool]:
        """What `usage` on `cand` counts as, and whether at the placeholder price."""
        cfg = self.catalog.sections[cand.ref.provider]
        return charged_cost(cand.ref, cfg, usage, local=cand.local, budget=self.config.budget)

    async def _write(self, body: Callable[[LedgerTx], T]) -> T:
        """Apply ``body`` through the writer; returns once its transaction committed."""
        if self._requests > 1:
            # others in flight: the writer thread commits rows in batches meanwhile
            return await self.writer.submit_async(body)
        # Alone as far as this request knows: committed at the end of this loop iteration, on
        # this thread when the writer is idle (no thread hop), in one transaction with every
        # row written during the same iteration (cache hits that arrive together).
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._soon.append((body, future))
        if len(self._soon) == 1:
            loop.call_soon(self._commit_soon)
        return await future

    def _commit_soon(self) -> None:
        jobs, self._soon = self._soon, []
        try:
            self.writer.write_many(jobs)
        except Exception as exc:  # the writer is closed: no row of these was committed
            for _, future in jobs:
                if not future.done():
                    future.set_exception(exc)

    async def _record(
        self, run: _Attempt, outcome: LedgerOutcome, error_type: str | None, *, settle: bool = True
    ) -> None:
        """The one place a call is settled: one ledger row per attempt with what it cost — the
        provider's usage, or for a call cut short (cancelled, broken off) or answered without
        usage the prompt and the text received, estimated — and, with ``settle``, its reservation
        dropped in the same transaction, so the month total counts every call that was paid.
        A call that was never sent, or that the provider refused with an error, costs nothing.
        Returns once the row is committed, so an answer is never acknowledged before its row."""
        if run.done is not None or (run.sent and (outcome == "cancelled" or run.parts)):
            run.usage, run.tokens_estimated = run.billed_usage()
            run.cost, run.price_assumed = self._charge(run.cand, run.usage)
        entry = run.entry(self.workspace, outcome, error_type)
        if settle:
            await self._commit_row(entry, run.reservation, run.team_hold)
        else:
            await self._commit_row(entry)

    async def _commit_row(
        self,
        entry: LedgerEntry,
        reservation: Reservation | None = None,
        team_hold: TeamHold | None = None,
    ) -> None:
        """Write ``entry``, settling ``reservation`` in the same transaction (where the team
        counts the row too), then settle ``team_hold`` in the team's Redis with that cost."""
        team = self.team

        def body(tx: LedgerTx) -> TeamTotal | None:
            if reservation is not None:
                self.budget.settle_in(tx, reservation, entry)
            else:
                tx.record(entry)
            return team.record_in(tx, entry, team_hold) if team is not None else None

        total = await self._write(body)
        if team is not None and total is not None:
            await team.settle(team_hold, entry, total)

    def _to_cache(self, outcome: Outcome) -> CachedAnswer:
        usage = outcome.usage or Usage()
        return CachedAnswer(
            text=outcome.text,
            provider=outcome.ref.provider,
            model=outcome.ref.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            cost_usd=outcome.cost_usd,
            finish_reason=outcome.finish_reason,
            created_at=time.time(),
            private=outcome.private,
        )

    async def _free_row(
        self, task: Task, ref: ModelRef, usage: Usage, saved: Decimal | None
    ) -> str:
        """Record an answer that cost nothing (a cache hit, a coalesced request); its id.
        Returns once the row is committed: no request is acknowledged without its row."""
        entry = LedgerEntry(
            id=uuid.uuid4().hex,
            ts=time.time(),
            workspace=self.workspace,
            action=task.action_name,
            source_path=task.source_path,
            provider=ref.provider,
            model=ref.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            cost_usd=Decimal(0),
            estimated_usd=None,
            saved_usd=saved,
            latency_ms=0.0,
            first_token_ms=None,
            cached=True,
            fallback_chain=[],
            outcome="ok",
            error_type=None,
        )
        await self._commit_row(entry)
        return entry.id

    def _fits(self, task: Task, sealed: str, accept: Accept | None) -> tuple[str, str | None]:
        """A stored (sealed) answer restored for ``task``, and why it cannot be used (None: it
        can): a placeholder this request has no value for, or ``accept`` refusing it."""
        text, missing = unseal_answer(task, sealed)
        if missing:
            return text, f"it holds {', '.join(missing)}, which this request has no value for"
        refusal = accept(text) if accept is not None else None
        return text, refusal

    def _store(self, key: str, task: Task, fresh: Outcome) -> Outcome:
        """``fresh`` sealed (the user's secrets as placeholders), cached under ``key`` in place of
        what it held — unless cut off, or holding a placeholder no one can restore. The memory
        tier has it at once; the disk and Redis tiers are written in the background (``flush``
        and ``aclose`` wait for them), off the answer's path."""
        sealed = replace(fresh, text=seal_answer(task, fresh.text))
        if (
            self.cache is not None
            and fresh.finish_reason != "length"
            and not unresolved_placeholders(task, fresh.text)
        ):
            shared = self.cache.put_memory(key, self._to_cache(sealed))
            if shared is not None:
                write = asyncio.ensure_future(shared)
                self._cache_writes.add(write)
                write.add_done_callback(self._cache_written)
        return sealed

    def _cache_written(self, write: asyncio.Future[None]) -> None:
        self._cache_writes.discard(write)
        if not write.cancelled() and (error := write.exception()) is not None:
            # the cache tiers report their own problems; this would be a bug in them
            log.warning("writing an answer to the shared cache tiers failed: %r", error)

    async def _cached_outcome(
        self, task: Task, hit: CachedAnswer, accept: Accept | None
    ) -> Outcome | str:
        """The hit as this request's outcome (with its free ledger row), or why it does not fit
        (then no row: the models are asked instead)."""
        text, refusal = self._fits(task, hit.text, accept)
        if refusal is not None:
            return f"the cached answer from {hit.provider}/{hit.model} does not fit: {refusal}"
        ref = ModelRef(hit.provider, self._kind(hit.provider), hit.model)
        usage = Usage(hit.input_tokens, hit.output_tokens, hit.cached_input_tokens)
        row = await self._free_row(task, ref, usage, hit.cost_usd)
        status = self.budget_status()
        return Outcome(
            text,
            ref,
            usage,
            Decimal(0),
            0.0,
            hit.finish_reason,
            "cache hit",
            cached=True,
            month_usd=status.spent,
            budget_usd=status.limit,
            request_id=row,
            team=self.team.status if self.team else None,
        )

    def _kind(self, provider: str) -> str:
        from magray_lsp.config.models import provider_kind

        cfg = self.catalog.sections.get(provider)
        return (provider_kind(provider, cfg) if cfg else None) or "openai"

    async def flush(self) -> None:
        """Wait until every ledger write submitted so far is committed, and every answer stored
        so far is in the shared cache tiers."""
        if self._cache_writes:
            await asyncio.gather(*self._cache_writes, return_exceptions=True)
        if self.writer.pending:
            await asyncio.to_thread(self.writer.flush)

    async def aclose(self) -> None:
        await self.flush()
        await self.catalog.aclose()
        if self.cache is not None:
            await self.cache.aclose()
        if self.team is not None:
            await self.team.aclose()
        await asyncio.to_thread(self.writer.close)
        await asyncio.to_thread(self.ledger.close)
