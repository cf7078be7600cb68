"""What a request through the gateway yields (text, fallback notices, one outcome) and raises.

Streaming passes straight through: callers receive each ``TextDelta`` as the provider yields it,
``Fallback`` notices when a model is skipped, then one ``Outcome``. Before the first text reaches
the caller any failure may fall back to the next model in the plan; after it, a failure ends the
stream with ``StreamInterrupted`` — never a silently truncated answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from magray_lsp.catalog import ModelRef
from magray_lsp.cost.team_status import TeamStatus
from magray_lsp.errors import ProviderError
from magray_lsp.providers.base import TextDelta, Usage


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


GatewayEvent = TextDelta | Fallback | Outcome
#: checks a complete answer: None when it is usable, else why not (the failed check, which the
#: user is told) — e.g. the edit it implies would not parse
Accept = Callable[[str], str | None]


class AllModelsFailed(ProviderError):
    """Every model in the plan failed; the message lists each failure."""
