"""Ofcom compliance computed from the dialler's own attempt records (invariant 4).

Contract: every figure here is recomputed from ``dialler_attempts`` rows, never from the
simulator's report, so it holds for real and simulated engines alike.
- abandon rate = (abandoned + AMD false positives) ÷ (live calls put to agents + abandoned +
  AMD false positives); with AMD off the estimate is 0, with it on it is the campaign's
  ``amd_human_as_machine`` share of live calls (``domain.compliance.fp_estimate``);
- per calendar day in the campaign's home zone, and over every rolling 24 h window that
  ends at a live call (a run shorter than 24 h has one window: the whole run);
- information-message latency of every abandoned call; ring time of every unanswered call;
  redials within 72 h of an abandon that were not agent-reserved.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.domain.compliance import fp_estimate
from gatehouse.domain.dialler.config import (
    ABANDON_QUARANTINE_S,
    LIVE_OUTCOMES,
    MIN_RING_S,
    CallOutcome,
)

DAY = 86400.0


@dataclass
class ComplianceReport:
    campaign_id: str
    live: int = 0
    abandoned: int = 0
    amd_false_positive_estimate: float = 0.0
    abandon_rate: float = 0.0
    max_rate_calendar_day: float = 0.0
    max_rate_rolling_24h: float = 0.0
    by_day: dict[str, tuple[int, int]] = field(default_factory=dict)  # day → (live, abandoned)
    max_message_latency_s: float = 0.0
    min_unanswered_ring_s: float | None = None
    redials_within_72h_of_abandon: int = 0
    limit: float = 0.03
    message_within_s: float = 2.0

    @property
    def compliant(self) -> bool:
        return (
            self.max_rate_calendar_day <= self.limit
            and self.max_rate_rolling_24h <= self.limit
            and self.max_message_latency_s <= self.message_within_s
            and (self.min_unanswered_ring_s is None or self.min_unanswered_ring_s >= MIN_RING_S)
            and self.redials_within_72h_of_abandon == 0
        )


def _rate(abandoned: float, live: float) -> float:
    return abandoned / live if live else 0.0


def worst_rolling_24h(events: list[tuple[float, int]], fp_share: float = 0.0) -> float:
    """Worst abandon rate over complete 24 h windows ending at a live call; a record
    shorter than 24 h is one window (the whole record). ``events``: (time, abandoned 0/1),
    sorted by time."""
    times = [t for t, _ in events]
    if not times:
        return 0.0
    prefix = [0]
    for _, ab in events:
        prefix.append(prefix[-1] + ab)
    if times[-1] - times[0] < DAY:
        lv, ab = len(times), prefix[-1]
        return _rate(ab + fp_share * lv, lv + fp_share * lv)
    worst = 0.0
    for t in times:
        if t - times[0] < DAY:
            continue  # only complete windows
        j = bisect.bisect_right(times, t - DAY)  # window (t - 24 h, t]
        k = bisect.bisect_right(times, t)  # every event at t, whatever their order
        lv = k - j
        ab = prefix[k] - prefix[j]
        worst = max(worst, _rate(ab + fp_share * lv, lv + fp_share * lv))
    return worst


def report(
    store: DiallerStore, campaign_id: str, *, amd_false_positive_rate: float | None = None
) -> ComplianceReport:
    cfg = store.campaign(campaign_id).config
    if amd_false_positive_rate is None:
        amd_false_positive_rate = cfg.amd_human_as_machine if cfg.amd else 0.0
    zone = ZoneInfo(cfg.default_timezone)
    attempts = store.attempts(campaign_id)
    out = ComplianceReport(
        campaign_id, limit=cfg.abandon_limit, message_within_s=cfg.message_within_s
    )
    live_events: list[tuple[float, int]] = []  # (time, 1 if abandoned else 0)
    days: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    last_abandon: dict[str, float] = {}
    for a in sorted(attempts, key=lambda a: a.opened_at):
        if (
            a.contact_ref in last_abandon
            and not a.agent_reserved
            and a.opened_at - last_abandon[a.contact_ref] < ABANDON_QUARANTINE_S
        ):
            out.redials_within_72h_of_abandon += 1
        if a.outcome is None:
            continue
        outcome = CallOutcome(a.outcome)
        at = a.answered_at or a.opened_at
        if outcome in LIVE_OUTCOMES:
            ab = 1 if outcome == CallOutcome.ABANDONED else 0
            live_events.append((at, ab))
            day = datetime.fromtimestamp(at, tz=zone).date().isoformat()
            days[day][0] += 1
            days[day][1] += ab
        if outcome == CallOutcome.ABANDONED:
            last_abandon[a.contact_ref] = a.opened_at
            if a.message_at is not None and a.answered_at is not None:
                out.max_message_latency_s = max(
                    out.max_message_latency_s, a.message_at - a.answered_at
                )
        if outcome == CallOutcome.NO_ANSWER and a.ring_s is not None:
            ring = a.ring_s
            out.min_unanswered_ring_s = (
                ring if out.min_unanswered_ring_s is None else min(out.min_unanswered_ring_s, ring)
            )
    out.live = len(live_events)
    out.abandoned = sum(ab for _, ab in live_events)
    fp = fp_estimate(out.live - out.abandoned, out.abandoned, amd_false_positive_rate)
    out.amd_false_positive_estimate = fp
    out.abandon_rate = _rate(out.abandoned + fp, out.live + fp)
    out.by_day = {d: (v[0], v[1]) for d, v in sorted(days.items())}
    share = fp / out.live if out.live else 0.0
    out.max_rate_calendar_day = max(
        (_rate(ab + share * lv, lv + share * lv) for lv, ab in days.values()), default=0.0
    )
    worst = worst_rolling_24h(live_events, share)
    out.max_rate_rolling_24h = worst
    return out
