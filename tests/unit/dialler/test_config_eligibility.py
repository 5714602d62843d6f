"""Campaign configuration, eligibility, retries, callbacks: local-time windows and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from pydantic import ValidationError

from gatehouse.domain.dialler.config import (
    CallOutcome,
    CampaignCommand,
    CampaignConfig,
    CampaignStatus,
    TimeRange,
    apply_command,
    timezone_hint,
)
from gatehouse.domain.dialler.eligibility import (
    DialState,
    Refusal,
    after_outcome,
    callback_slots,
    check,
    next_window_open,
    opened,
    window_open,
)

LONDON = "Europe/London"
NY = "America/New_York"


def ts(y: int, m: int, d: int, hh: int, mm: int = 0) -> float:
    return datetime(y, m, d, hh, mm, tzinfo=UTC).timestamp()


def test_timezone_hint_from_number() -> None:
    assert timezone_hint("+442079460000") == LONDON
    assert timezone_hint("+12125550100") == NY
    assert timezone_hint("not a number") == LONDON


def test_uk_default_window_is_nine_to_nine_local() -> None:
    cfg = CampaignConfig()
    # 2026-07-01 is summer (BST = UTC+1): 08:30 UTC is 09:30 local
    assert window_open(cfg, LONDON, ts(2026, 7, 1, 8, 30))
    assert not window_open(cfg, LONDON, ts(2026, 7, 1, 7, 30))  # 08:30 BST
    assert not window_open(cfg, LONDON, ts(2026, 7, 1, 20, 0))  # 21:00 BST: closed
    # winter (GMT): 20:30 UTC is 20:30 local, open
    assert window_open(cfg, LONDON, ts(2026, 1, 14, 20, 30))


def test_window_is_in_the_called_persons_zone() -> None:
    cfg = CampaignConfig()
    at = ts(2026, 1, 14, 12, 0)  # noon in London, 07:00 in New York
    assert window_open(cfg, LONDON, at)
    assert not window_open(cfg, NY, at)
    nxt = next_window_open(cfg, NY, at)
    assert nxt == ts(2026, 1, 14, 14, 0)  # 09:00 EST


def test_dst_spring_forward_and_fall_back() -> None:
    cfg = CampaignConfig()
    # 2026-03-29 clocks go forward in the UK: 09:00 local is 08:00 UTC
    assert next_window_open(cfg, LONDON, ts(2026, 3, 29, 2, 0)) == ts(2026, 3, 29, 8, 0)
    # 2026-10-25 clocks go back: 09:00 local is 09:00 UTC
    assert next_window_open(cfg, LONDON, ts(2026, 10, 25, 2, 0)) == ts(2026, 10, 25, 9, 0)
    # a window crossing the 01:00→02:00 gap: 00:30–03:00 local on spring-forward night
    night = CampaignConfig(windows={6: (TimeRange(start=time(0, 30), end=time(3, 0)),)})
    assert window_open(night, LONDON, ts(2026, 3, 29, 1, 30))  # 02:30 BST


def test_weekday_windows_and_missing_days() -> None:
    cfg = CampaignConfig(windows={0: (TimeRange(start=time(10), end=time(12)),)})
    monday_11 = ts(2026, 1, 12, 11)
    assert window_open(cfg, LONDON, monday_11)
    tuesday_11 = ts(2026, 1, 13, 11)
    assert not window_open(cfg, LONDON, tuesday_11)
    assert next_window_open(cfg, LONDON, tuesday_11) == ts(2026, 1, 19, 10)


def test_config_refuses_unsafe_values() -> None:
    with pytest.raises(ValidationError):
        CampaignConfig(ring_timeout_s=10)
    with pytest.raises(ValidationError):
        CampaignConfig(retry_delay_s={CallOutcome.ABANDONED: 3600.0})
    with pytest.raises(ValidationError):
        CampaignConfig(abandon_limit=0.05)
    with pytest.raises(ValidationError):
        CampaignConfig(caller_id="+449098790000")  # premium rate
    with pytest.raises(ValidationError):
        CampaignConfig(windows={7: ()})
    with pytest.raises(ValidationError):
        TimeRange(start=time(12), end=time(9))
    assert CampaignConfig(caller_id="+44 20 7946 0000").caller_id == "+442079460000"


def test_amd_needs_a_false_positive_estimate_the_budget_can_carry() -> None:
    with pytest.raises(ValidationError, match="human-as-machine rate"):
        CampaignConfig(amd=True)  # no estimate: refused, never assumed perfect
    with pytest.raises(ValidationError, match="AMD refused"):
        CampaignConfig(amd=True, amd_human_as_machine=0.03)  # breaches whatever the pacer does
    with pytest.raises(ValidationError, match="AMD refused"):
        CampaignConfig(amd=True, amd_human_as_machine=0.02, operating_target=0.02)
    ok = CampaignConfig(amd=True, amd_human_as_machine=0.005)
    assert ok.amd and ok.amd_human_as_machine == 0.005
    assert not CampaignConfig(amd_human_as_machine=0.5).amd  # an estimate alone turns nothing on


def test_campaign_commands() -> None:
    s = apply_command(CampaignStatus.DRAFT, CampaignCommand.START)
    assert s == CampaignStatus.RUNNING
    assert apply_command(s, CampaignCommand.PAUSE) == CampaignStatus.PAUSED
    assert apply_command(CampaignStatus.PAUSED, CampaignCommand.STOP_NOW) == CampaignStatus.STOPPED
    with pytest.raises(ValueError, match="cannot pause"):
        apply_command(CampaignStatus.STOPPED, CampaignCommand.PAUSE)


NOON = ts(2026, 1, 14, 12)


def test_fresh_contact_in_window_is_eligible() -> None:
    assert check(DialState("c1", LONDON), CampaignConfig(), NOON).ok


def test_retry_delay_per_outcome() -> None:
    cfg = CampaignConfig()
    s = after_outcome(opened(DialState("c1", LONDON)), CallOutcome.BUSY, NOON)
    v = check(s, cfg, NOON + 60)
    assert v.refusal == Refusal.RETRY_DELAY and v.not_before == NOON + 15 * 60
    assert check(s, cfg, NOON + 15 * 60).ok


def test_abandon_quarantine_72h_unless_agent_reserved() -> None:
    cfg = CampaignConfig()
    s = after_outcome(opened(DialState("c1", LONDON)), CallOutcome.ABANDONED, NOON)
    v = check(s, cfg, NOON + 71 * 3600)
    assert v.refusal == Refusal.ABANDON_72H and v.not_before == NOON + 72 * 3600
    assert check(s, cfg, NOON + 72 * 3600).ok
    # an agent reserved (preview/progressive) may call sooner, but the retry delay still holds
    assert check(s, cfg, NOON + 24 * 3600, agent_reserved=True).refusal == Refusal.RETRY_DELAY


def test_machine_verdict_blocks_the_same_local_day() -> None:
    cfg = CampaignConfig(retry_delay_s={CallOutcome.MACHINE: 60.0, CallOutcome.ABANDONED: 3e5})
    s = after_outcome(opened(DialState("c1", LONDON)), CallOutcome.MACHINE, NOON)
    v = check(s, cfg, NOON + 3600)
    assert v.refusal == Refusal.MACHINE_SAME_DAY
    assert v.not_before == ts(2026, 1, 15, 0)
    assert check(s, cfg, ts(2026, 1, 15, 10)).ok
    assert check(s, cfg, NOON + 3600, agent_reserved=True).ok


def test_attempts_final_suppressed() -> None:
    cfg = CampaignConfig(max_attempts=2)
    s = DialState("c1", LONDON)
    for _ in range(2):
        s = after_outcome(opened(s), CallOutcome.NO_ANSWER, NOON)
    assert s.attempts == 2
    assert check(s, cfg, NOON + 10 * 86400).refusal == Refusal.ATTEMPTS_USED
    done = after_outcome(opened(DialState("c2", LONDON)), CallOutcome.COMPLETE, NOON)
    assert check(done, cfg, NOON + 86400).refusal == Refusal.FINAL
    out = after_outcome(opened(DialState("c3", LONDON)), CallOutcome.OPT_OUT, NOON)
    assert out.suppressed and check(out, cfg, NOON + 86400).refusal == Refusal.FINAL
    assert check(opened(DialState("c4", LONDON)), cfg, NOON).refusal == Refusal.IN_PROGRESS


def test_callbacks_personal_then_campaign_wide() -> None:
    cfg = CampaignConfig(max_attempts=1)
    at = NOON + 3 * 3600
    s = after_outcome(
        opened(DialState("c1", LONDON)),
        CallOutcome.CALLBACK,
        NOON,
        callback_at=at,
        callback_agent="agent-7",
    )
    assert check(s, cfg, at - 1).refusal == Refusal.CALLBACK_LATER
    # a booked callback is honoured though the attempts are used and the retry delay not passed
    assert check(s, cfg, at, agent_id="agent-7").ok
    assert check(s, cfg, at, agent_id="agent-8").refusal == Refusal.CALLBACK_LATER
    assert check(s, cfg, at + cfg.personal_callback_grace_s, agent_id="agent-8").ok
    with pytest.raises(ValueError):
        after_outcome(s, CallOutcome.CALLBACK, NOON)


def test_callback_slots_are_inside_local_windows() -> None:
    cfg = CampaignConfig()
    now = ts(2026, 1, 14, 20, 10)  # 20:10 GMT: 50 minutes of window left
    slots = callback_slots(cfg, LONDON, now, limit=6)
    assert slots, "slots offered"
    assert all(window_open(cfg, LONDON, t) and t > now + 1800 for t in slots)
    assert slots[-1] >= ts(2026, 1, 15, 9)  # rolled over to the next morning
    assert slots == sorted(set(slots))
