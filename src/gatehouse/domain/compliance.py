"""Ofcom abandoned-call accounting, shared by the simulator and reports (pure, no I/O).

Rate = (live calls abandoned + estimated AMD false positives) ÷ (live calls put to agents +
live calls abandoned + that estimate); machine-answered calls are in neither term
(../shared/reference/dialler.md §1.3). Gatehouse holds the limit per calendar day (the
campaign's local day, Europe/London by default) and over every rolling 24 hours; a run
shorter than 24 hours has one rolling window, the whole run. It also reports the worst
cumulative rate once 50 live calls have been made (start-up behaviour), information-message
latency, the shortest ring of an unanswered call, and redials inside the 72-hour quarantine.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DAY_S = 86_400.0
QUARANTINE_S = 72 * 3600.0
START_UP_LIVE_CALLS = 50


@dataclass(frozen=True, slots=True)
class LiveCall:
    at: float  # answer time, epoch seconds
    abandoned: bool


def fp_estimate(connected: int, abandoned: int, human_as_machine: float) -> float:
    """Estimated people hung up on as machines: their share of live calls is the detector's
    human-as-machine rate h, so fp = h·(connected + abandoned + fp)."""
    if human_as_machine <= 0:
        return 0.0
    if human_as_machine >= 1:
        raise ValueError("a detector that takes every person for a machine cannot be used")
    return human_as_machine * (connected + abandoned) / (1 - human_as_machine)


def abandon_rate(connected: int, abandoned: int, human_as_machine: float = 0.0) -> float:
    fp = fp_estimate(connected, abandoned, human_as_machine)
    denominator = connected + abandoned + fp
    return (abandoned + fp) / denominator if denominator else 0.0


def amd_gate(human_as_machine: float, operating_target: float) -> tuple[bool, str]:
    """May AMD run at all? Its false positives alone approach its human-as-machine rate."""
    if human_as_machine >= operating_target:
        return False, (
            f"AMD refused: its estimated human-as-machine rate {human_as_machine:.1%} alone "
            f"reaches the {operating_target:.1%} operating target; running with AMD off"
        )
    return True, f"AMD allowed: estimated false positives {human_as_machine:.1%} of live calls"


@dataclass
class ComplianceLedger:
    """Everything the rules need, recorded as calls happen."""

    human_as_machine: float = 0.0  # AMD's measured/configured estimate (0 with AMD off)
    timezone: str = "Europe/London"
    live: list[LiveCall] = field(default_factory=list)
    message_latencies: list[float] = field(default_factory=list)
    unanswered_rings: list[float] = field(default_factory=list)
    abandoned_at: dict[str, float] = field(default_factory=dict)  # contact -> last abandon
    machine_day: dict[str, str] = field(default_factory=dict)  # contact -> local day of verdict
    redials_within_72h: int = 0
    same_day_machine_redials: int = 0

    def dialled(self, contact: str, at: float, *, agent_reserved: bool = False) -> None:
        last = self.abandoned_at.get(contact)
        if last is not None and at - last < QUARANTINE_S and not agent_reserved:
            self.redials_within_72h += 1
        machine_day = self.machine_day.get(contact)
        if machine_day is not None and machine_day == self.local_day(at) and not agent_reserved:
            self.same_day_machine_redials += 1

    def answered_live(
        self, contact: str, at: float, *, abandoned: bool, message_latency: float | None = None
    ) -> None:
        self.live.append(LiveCall(at, abandoned))
        if abandoned:
            self.abandoned_at[contact] = at
            if message_latency is not None:
                self.message_latencies.append(message_latency)

    def machine_verdict(self, contact: str, at: float) -> None:
        self.machine_day[contact] = self.local_day(at)

    def unanswered(self, ring_s: float) -> None:
        self.unanswered_rings.append(ring_s)

    def local_day(self, at: float) -> str:
        return (
            datetime.fromtimestamp(at, tz=UTC)
            .astimezone(ZoneInfo(self.timezone))
            .date()
            .isoformat()
        )

    # -- the rules --------------------------------------------------------------------
    def _rate(self, calls: Sequence[LiveCall]) -> float:
        abandoned = sum(1 for c in calls if c.abandoned)
        return abandon_rate(len(calls) - abandoned, abandoned, self.human_as_machine)

    def overall_rate(self) -> float:
        return self._rate(self.live)

    def calendar_day_rates(self) -> dict[str, float]:
        days: dict[str, list[LiveCall]] = {}
        for call in self.live:
            days.setdefault(self.local_day(call.at), []).append(call)
        return {day: self._rate(calls) for day, calls in days.items()}

    def max_calendar_day_rate(self) -> float:
        return max(self.calendar_day_rates().values(), default=0.0)

    def max_rolling_24h_rate(self, start: float, end: float) -> float:
        """Worst rate over complete 24-hour windows inside [start, end] (whole run if shorter)."""
        calls = sorted(self.live, key=lambda c: c.at)
        if end - start <= DAY_S:
            return self._rate(calls)
        times = [c.at for c in calls]
        prefix_ab = [0]
        for call in calls:
            prefix_ab.append(prefix_ab[-1] + (1 if call.abandoned else 0))
        worst = 0.0
        # The calls inside [s, s + 24 h] change only when a call enters (s = t - 24 h) or
        # leaves (s just after t): those starts, and the first one, cover every window.
        last_start = end - DAY_S
        candidates = {start} | {t - DAY_S for t in times} | {t + 1e-6 for t in times}
        starts = {c for c in candidates if start <= c <= last_start}
        for s in starts:
            lo = bisect.bisect_left(times, s)
            hi = bisect.bisect_right(times, s + DAY_S)
            abandoned = prefix_ab[hi] - prefix_ab[lo]
            worst = max(worst, abandon_rate(hi - lo - abandoned, abandoned, self.human_as_machine))
        return worst

    def max_cumulative_rate_after(self, live_calls: int = START_UP_LIVE_CALLS) -> float:
        calls = sorted(self.live, key=lambda c: c.at)
        abandoned = 0
        worst = 0.0
        for i, call in enumerate(calls, start=1):
            abandoned += call.abandoned
            if i >= live_calls:
                worst = max(worst, abandon_rate(i - abandoned, abandoned, self.human_as_machine))
        return worst

    def report(
        self,
        start: float,
        end: float,
        limit: float = 0.03,
        message_within_s: float = 2.0,
        min_ring_s: float = 15.0,
    ) -> dict[str, float | int | bool]:
        abandoned = sum(1 for c in self.live if c.abandoned)
        connected = len(self.live) - abandoned
        day = self.max_calendar_day_rate()
        rolling = self.max_rolling_24h_rate(start, end)
        latency = max(self.message_latencies, default=0.0)
        ring = min(self.unanswered_rings, default=float("inf"))
        return {
            "connected": connected,
            "abandoned": abandoned,
            "amd_false_positive_estimate": fp_estimate(connected, abandoned, self.human_as_machine),
            "abandon_rate": self.overall_rate(),
            "max_abandon_rate_calendar_day": day,
            "max_abandon_rate_rolling_24h": rolling,
            "max_cumulative_abandon_rate_after_50_live": self.max_cumulative_rate_after(),
            "max_message_latency_s": latency,
            "min_unanswered_ring_s": ring if ring != float("inf") else 0.0,
            "redials_within_72h_of_abandon": self.redials_within_72h,
            "compliant": (
                day <= limit
                and rolling <= limit
                and latency <= message_within_s
                and (ring >= min_ring_s)
                and self.redials_within_72h == 0
                and self.same_day_machine_redials == 0
            ),
        }
