"""Whether a contact may be dialled now, and what an outcome schedules next.

Contract: ``check`` is the single gate the hopper uses; every refusal names its rule.
``after_outcome`` returns the contact's next dial state; it is applied in the same
transaction that closes the attempt, so a crash never leaves the two out of step.

Rules, in the order they are checked:
1. final (complete, refused, opted out, not eligible, quota full) or suppressed: never;
2. attempts used up: never (a booked callback still gets its call);
3. a callback booked for later: not before it;
4. 72 h after an abandoned call, unless an agent is reserved (preview/progressive);
5. not the same local calendar day after an AMD machine verdict, unless an agent is reserved;
6. the retry delay of the last outcome has passed;
7. the calling window is open in the contact's local time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from gatehouse.domain.dialler.config import (
    ABANDON_QUARANTINE_S,
    FINAL_OUTCOMES,
    CallOutcome,
    CampaignConfig,
)


class Refusal(StrEnum):
    FINAL = "final"
    SUPPRESSED = "suppressed"
    ATTEMPTS_USED = "attempts_used"
    CALLBACK_LATER = "callback_later"
    ABANDON_72H = "abandon_72h"
    MACHINE_SAME_DAY = "machine_same_day"
    RETRY_DELAY = "retry_delay"
    WINDOW_CLOSED = "window_closed"
    IN_PROGRESS = "in_progress"


@dataclass(frozen=True, slots=True)
class DialState:
    """What the dialler knows about one contact in one campaign (no PII)."""

    contact_ref: str
    tz: str
    priority: int = 0
    attempts: int = 0
    last_outcome: CallOutcome | None = None
    last_attempt_at: float | None = None
    last_abandon_at: float | None = None
    last_machine_at: float | None = None
    callback_at: float | None = None
    callback_agent: str | None = None  # personal callback: the agent who booked it
    final: bool = False
    suppressed: bool = False
    in_progress: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    refusal: Refusal | None = None
    #: earliest time this contact could become eligible (None: never)
    not_before: float | None = None


OK = Verdict(True)


def local_dt(at: float, tz: str) -> datetime:
    return datetime.fromtimestamp(at, tz=UTC).astimezone(ZoneInfo(tz))


def local_day(at: float, tz: str) -> date:
    return local_dt(at, tz).date()


def window_open(config: CampaignConfig, tz: str, at: float) -> bool:
    here = local_dt(at, tz)
    ranges = config.windows.get(here.weekday(), ())
    t = here.time().replace(tzinfo=None)
    return any(r.contains(t) for r in ranges)


def next_window_open(config: CampaignConfig, tz: str, at: float) -> float | None:
    """The first instant ≥ ``at`` at which the window is open (None if no window in 8 days).

    A window start that falls in a spring-forward gap is read by ``zoneinfo`` with the
    pre-transition offset (so it lands just after the gap) and is re-checked.
    """
    if window_open(config, tz, at):
        return at
    zone = ZoneInfo(tz)
    here = local_dt(at, tz)
    for offset in range(0, 9):
        day = here.date() + timedelta(days=offset)
        for r in sorted(config.windows.get(day.weekday(), ()), key=lambda r: r.start):
            start = datetime.combine(day, r.start, tzinfo=zone).timestamp()
            if start >= at and window_open(config, tz, start):
                return start
    return None


def check(
    state: DialState,
    config: CampaignConfig,
    now: float,
    *,
    agent_reserved: bool = False,
    agent_id: str | None = None,
) -> Verdict:
    """May ``state`` be dialled at ``now``? ``agent_reserved``: preview/progressive guarantee."""
    if state.final:
        return Verdict(False, Refusal.FINAL)
    if state.suppressed:
        return Verdict(False, Refusal.SUPPRESSED)
    if state.in_progress:
        return Verdict(False, Refusal.IN_PROGRESS)
    callback_due = state.callback_at is not None and state.callback_at <= now
    if state.attempts >= config.max_attempts and state.callback_at is None:
        return Verdict(False, Refusal.ATTEMPTS_USED)
    if state.callback_at is not None and state.callback_at > now:
        return Verdict(False, Refusal.CALLBACK_LATER, state.callback_at)
    if (
        callback_due
        and state.callback_agent is not None
        and agent_id is not None
        and state.callback_agent != agent_id
        and state.callback_at is not None
        and now < state.callback_at + config.personal_callback_grace_s
    ):
        # a personal callback waits for its agent for the grace period
        return Verdict(
            False, Refusal.CALLBACK_LATER, state.callback_at + config.personal_callback_grace_s
        )
    if state.last_abandon_at is not None and not agent_reserved:
        until = state.last_abandon_at + ABANDON_QUARANTINE_S
        if now < until:
            return Verdict(False, Refusal.ABANDON_72H, until)
    if (
        state.last_machine_at is not None
        and not agent_reserved
        and local_day(state.last_machine_at, state.tz) == local_day(now, state.tz)
    ):
        tomorrow = local_dt(state.last_machine_at, state.tz).date() + timedelta(days=1)
        start = datetime.combine(tomorrow, datetime.min.time(), tzinfo=ZoneInfo(state.tz))
        return Verdict(False, Refusal.MACHINE_SAME_DAY, start.timestamp())
    if not callback_due and state.last_outcome is not None and state.last_attempt_at is not None:
        delay = config.retry_delay(state.last_outcome)
        until = state.last_attempt_at + delay
        if now < until:
            return Verdict(False, Refusal.RETRY_DELAY, until)
    if not window_open(config, state.tz, now):
        return Verdict(False, Refusal.WINDOW_CLOSED, next_window_open(config, state.tz, now))
    return OK


def next_check_at(state: DialState, config: CampaignConfig, now: float) -> float:
    """When the hopper should look at a contact again after an outcome: now if it is
    eligible, else the earliest moment it could be (a final contact is closed elsewhere)."""
    verdict = check(state, config, now)
    return now if verdict.ok else (verdict.not_before or now)


def after_outcome(
    state: DialState,
    outcome: CallOutcome,
    at: float,
    *,
    callback_at: float | None = None,
    callback_agent: str | None = None,
) -> DialState:
    """The contact's dial state once an attempt that started earlier closes with ``outcome``.

    ``at`` is when the attempt closed. Retry delays and the 72-hour quarantine run from
    then: the close is never earlier than the dial, so "not dialled again within the
    delay" holds dial-to-dial even when the dial itself happened a moment after the
    attempt row was committed (several workers, busy machine).
    """
    new = replace(
        state,
        attempts=state.attempts,  # counted when the attempt was opened
        last_outcome=outcome,
        last_attempt_at=at,
        in_progress=False,
        callback_at=None,
        callback_agent=None,
    )
    if outcome == CallOutcome.ABANDONED:
        new = replace(new, last_abandon_at=at)
    elif outcome == CallOutcome.MACHINE:
        new = replace(new, last_machine_at=at)
    elif outcome == CallOutcome.CALLBACK:
        if callback_at is None:
            raise ValueError("a callback outcome needs a callback time")
        new = replace(new, callback_at=callback_at, callback_agent=callback_agent)
    elif outcome == CallOutcome.OPT_OUT:
        new = replace(new, final=True, suppressed=True)
    if outcome in FINAL_OUTCOMES:
        new = replace(new, final=True)
    return new


def opened(state: DialState) -> DialState:
    """The state once an attempt row for it is committed (before the call is placed)."""
    return replace(state, attempts=state.attempts + 1, in_progress=True)


def callback_slots(config: CampaignConfig, tz: str, now: float, *, limit: int = 12) -> list[float]:
    """Slot start times an agent may offer: inside calling windows, after now, in the
    horizon, at the configured granularity, in the called person's local time."""
    step = config.callback_slot_minutes * 60.0
    slots: list[float] = []
    # first slot boundary strictly after now + one step (not "in five seconds")
    t = (int((now + step) // step) + 1) * step
    horizon = now + config.callback_horizon_days * 86400.0
    while t < horizon and len(slots) < limit:
        if window_open(config, tz, t):
            slots.append(t)
            t += step
        else:
            nxt = next_window_open(config, tz, t)
            if nxt is None:
                break
            t = max(t + step, (int(nxt // step) + (0 if nxt % step == 0 else 1)) * step)
    return slots
