"""Agent vetting and clearance (C9 work record): who may take live calls, for which campaigns,
until when.

A clearance is set by a security officer: *cleared* until a date (the last day it is valid,
inclusive) for a set of campaigns, or *suspended*. A cleared record whose date has passed is
*expired* without anyone touching it (the effective status is computed against today's date),
and an agent with no record at all has never been vetted. Only an agent whose effective
status is cleared, for the campaign at hand, may go ready for live calls.

Pure: "today" is always passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from gatehouse.domain.errors import PermissionDenied, ValidationFailed

#: Show "clearance expires in N days" from this many days before the date.
WARN_DAYS = 30
#: Longest a single clearance may run before it must be reviewed.
MAX_CLEARANCE_DAYS = 3 * 366


class ClearanceStatus(StrEnum):
    CLEARED = "cleared"
    SUSPENDED = "suspended"
    EXPIRED = "expired"


class NotCleared(PermissionDenied):
    """An agent without a valid clearance for this campaign asked to take live calls."""

    error_id = "not-cleared"


@dataclass(frozen=True, slots=True)
class Clearance:
    agent_id: str
    status: ClearanceStatus  # as recorded (use :func:`effective_status` for "now")
    cleared_until: date | None
    campaigns: frozenset[str]
    vetted_by: str
    vetted_at: float
    note: str = ""


def new_clearance(
    *,
    agent_id: str,
    status: ClearanceStatus,
    cleared_until: date | None,
    campaigns: Iterable[str],
    vetted_by: str,
    vetted_at: float,
    today: date,
    note: str = "",
) -> Clearance:
    """A clearance as a security officer sets it, checked for sense."""
    chosen = frozenset(c.strip() for c in campaigns if c.strip())
    if not agent_id.strip():
        raise ValidationFailed("which agent?")
    if status == ClearanceStatus.CLEARED:
        if cleared_until is None:
            raise ValidationFailed("a clearance needs the date it runs until")
        if cleared_until < today:
            raise ValidationFailed("that date has passed; a clearance runs until today or later")
        if (cleared_until - today).days > MAX_CLEARANCE_DAYS:
            raise ValidationFailed(
                f"a clearance runs at most {MAX_CLEARANCE_DAYS} days before it is reviewed"
            )
        if not chosen:
            raise ValidationFailed("name at least one campaign the agent is cleared for")
    elif status == ClearanceStatus.EXPIRED:
        raise ValidationFailed("a clearance expires by its date; suspend it to stop it now")
    if len(note) > 500:
        raise ValidationFailed("keep the note under 500 characters")
    return Clearance(
        agent_id=agent_id,
        status=status,
        cleared_until=cleared_until,
        campaigns=chosen,
        vetted_by=vetted_by,
        vetted_at=vetted_at,
        note=note,
    )


def effective_status(clearance: Clearance, today: date) -> ClearanceStatus:
    if clearance.status == ClearanceStatus.CLEARED and (
        clearance.cleared_until is None or clearance.cleared_until < today
    ):
        return ClearanceStatus.EXPIRED
    return clearance.status


def days_left(clearance: Clearance, today: date) -> int | None:
    """Days from today to the last valid day (0: expires at the end of today); None when
    the clearance is not currently in force."""
    if effective_status(clearance, today) != ClearanceStatus.CLEARED:
        return None
    assert clearance.cleared_until is not None
    return (clearance.cleared_until - today).days


def expiry_warning(clearance: Clearance, today: date, warn_days: int = WARN_DAYS) -> str:
    """A warning for the security page when a clearance is about to lapse ("" otherwise)."""
    left = days_left(clearance, today)
    if left is None or left > warn_days:
        return ""
    if left == 0:
        return "clearance expires at the end of today"
    return f"clearance expires in {left} day{'s' if left != 1 else ''}"


def refusal(clearance: Clearance | None, campaign_id: str, today: date) -> str:
    """Why this agent may not take live calls on this campaign today ("" if they may).

    The wording is shown on the agent's own desk: it names the problem and who can fix it,
    and nothing about anyone else."""
    if clearance is None:
        return "You are not cleared to take calls yet. Please speak to the security office."
    status = effective_status(clearance, today)
    if status == ClearanceStatus.SUSPENDED:
        return "Your clearance is suspended. Please speak to the security office."
    if status == ClearanceStatus.EXPIRED:
        return "Your clearance has expired. Please speak to the security office to renew it."
    if campaign_id not in clearance.campaigns:
        return "You are not cleared for this campaign. Please speak to the security office."
    return ""


def check_can_work(clearance: Clearance | None, campaign_id: str, today: date) -> None:
    """Raise :class:`NotCleared` unless the agent may take live calls on the campaign."""
    reason = refusal(clearance, campaign_id, today)
    if reason:
        raise NotCleared(reason, campaign=campaign_id)
