"""The team's month as the gateway last heard it from Redis: what the status bar and the action
titles show, and which of the team's two limits is the tighter one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal


@dataclass(frozen=True, slots=True)
class TeamStatus:
    """The team's month as of the last answer from its Redis."""

    team: str
    member: str
    limit: Decimal | None
    member_limit: Decimal | None
    warn_at: float
    policy: str
    spent: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)
    member_spent: Decimal = Decimal(0)
    member_reserved: Decimal = Decimal(0)
    #: None until the Redis was asked; False while it cannot be reached
    reachable: bool | None = None
    reason: str | None = None

    def _left(self, limit: Decimal | None, spent: Decimal, held: Decimal) -> Decimal | None:
        return None if limit is None else max(limit - spent - held, Decimal(0))

    @property
    def binding(self) -> Literal["team", "member"] | None:
        """The tighter of the two limits (the one with less left), None without limits."""
        team = self._left(self.limit, self.spent, self.reserved)
        member = self._left(self.member_limit, self.member_spent, self.member_reserved)
        if member is not None and (team is None or member < team):
            return "member"
        return "team" if team is not None else None

    @property
    def remaining(self) -> Decimal | None:
        """What may still be reserved under both limits (None: no limit)."""
        if self.binding == "member":
            return self._left(self.member_limit, self.member_spent, self.member_reserved)
        return self._left(self.limit, self.spent, self.reserved)

    @property
    def binding_spent(self) -> tuple[Decimal, Decimal | None]:
        """(spent, limit) of the binding limit (the team's when there is none)."""
        if self.binding == "member":
            return self.member_spent, self.member_limit
        return self.spent, self.limit

    @property
    def exhausted(self) -> bool:
        return any(
            limit is not None and spent >= limit
            for spent, limit in ((self.spent, self.limit), (self.member_spent, self.member_limit))
        )

    @property
    def warn(self) -> bool:
        line = Decimal(str(self.warn_at))
        return any(
            limit is not None and spent >= limit * line
            for spent, limit in ((self.spent, self.limit), (self.member_spent, self.member_limit))
        )
