"""Campaign configuration (C2) and the call outcomes it is keyed on.

Contract:
- Calling windows are per weekday in the *called person's* local time; the time zone comes
  from the number (``timezone_hint``) at import time, so the runtime never needs the number.
- Every duration is in seconds. Figures the MISSION leaves open are defaults named here and
  in ``docs/dialler.md``; the Ofcom figures (15 s ring, 72 h after an abandon, same day
  after a machine verdict) are floors a configuration cannot lower.
- ``CampaignConfig`` is immutable; ``with_changes`` validates a new one.
"""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers import timezone as pn_timezone
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gatehouse.domain.compliance import amd_gate

DEFAULT_TZ = "Europe/London"
MIN_RING_S = 15.0  # Ofcom R4
ABANDON_QUARANTINE_S = 72 * 3600.0  # Ofcom R5
ABANDON_LIMIT = 0.03  # Ofcom R1


class CallOutcome(StrEnum):
    """What happened to one attempt, technical first then the agent's disposition."""

    # technical (set by the runtime from engine events)
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    MACHINE = "machine"  # AMD machine verdict (or agent-identified machine)
    ABANDONED = "abandoned"  # live answer, no agent: information message played
    NETWORK_FAILURE = "network_failure"
    UNKNOWN = "outcome_unknown"  # reconciled after a crash: we cannot know what happened
    # dispositions (set by the agent, close the attempt)
    COMPLETE = "complete"
    PARTIAL = "partial"  # break-off: may be retried to finish
    REFUSED = "refused"
    CALLBACK = "callback"
    OPT_OUT = "opt_out"  # do not call again: suppressed
    NOT_ELIGIBLE = "not_eligible"
    QUOTA_FULL = "quota_full"


#: Dispositions that end the contact's life in this campaign.
FINAL_OUTCOMES = frozenset(
    {
        CallOutcome.COMPLETE,
        CallOutcome.REFUSED,
        CallOutcome.OPT_OUT,
        CallOutcome.NOT_ELIGIBLE,
        CallOutcome.QUOTA_FULL,
    }
)
#: What an agent may pick at the end of a call.
AGENT_DISPOSITIONS = (
    CallOutcome.COMPLETE,
    CallOutcome.PARTIAL,
    CallOutcome.REFUSED,
    CallOutcome.CALLBACK,
    CallOutcome.OPT_OUT,
    CallOutcome.NOT_ELIGIBLE,
    CallOutcome.QUOTA_FULL,
    CallOutcome.MACHINE,
    CallOutcome.NO_ANSWER,
)
#: Outcomes that were a live person in the Ofcom denominator.
LIVE_OUTCOMES = frozenset(
    {
        CallOutcome.ABANDONED,
        CallOutcome.COMPLETE,
        CallOutcome.PARTIAL,
        CallOutcome.REFUSED,
        CallOutcome.CALLBACK,
        CallOutcome.OPT_OUT,
        CallOutcome.NOT_ELIGIBLE,
        CallOutcome.QUOTA_FULL,
    }
)


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"  # no new dials; calls in progress finish normally
    STOPPED = "stopped"  # no new dials; may be started again


class CampaignCommand(StrEnum):
    START = "start"
    PAUSE = "pause"
    STOP = "stop"
    STOP_NOW = "stop-now"  # stop and hang up every line still ringing, at once


_STATUS_AFTER: dict[CampaignCommand, tuple[frozenset[CampaignStatus], CampaignStatus]] = {
    CampaignCommand.START: (
        frozenset({CampaignStatus.DRAFT, CampaignStatus.PAUSED, CampaignStatus.STOPPED}),
        CampaignStatus.RUNNING,
    ),
    CampaignCommand.PAUSE: (frozenset({CampaignStatus.RUNNING}), CampaignStatus.PAUSED),
    CampaignCommand.STOP: (
        frozenset({CampaignStatus.RUNNING, CampaignStatus.PAUSED}),
        CampaignStatus.STOPPED,
    ),
    CampaignCommand.STOP_NOW: (
        frozenset({CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.STOPPED}),
        CampaignStatus.STOPPED,
    ),
}


def apply_command(status: CampaignStatus, command: CampaignCommand) -> CampaignStatus:
    """The campaign's next status; ``ValueError`` if the command makes no sense now."""
    allowed, after = _STATUS_AFTER[command]
    if status not in allowed:
        raise ValueError(f"cannot {command.value} a campaign that is {status.value}")
    return after


class TimeRange(BaseModel):
    """Local wall-clock interval [start, end) within one day."""

    model_config = ConfigDict(frozen=True)
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError(f"window end {self.end} is not after its start {self.start}")
        return self

    def contains(self, t: time) -> bool:
        return self.start <= t < self.end


def _uk_default_windows() -> dict[int, tuple[TimeRange, ...]]:
    day = (TimeRange(start=time(9, 0), end=time(21, 0)),)
    return dict.fromkeys(range(7), day)


def _default_retry() -> dict[CallOutcome, float]:
    # reference/dialler.md §4.2 synthesis defaults
    return {
        CallOutcome.NO_ANSWER: 2 * 3600.0,
        CallOutcome.BUSY: 15 * 60.0,
        CallOutcome.MACHINE: 20 * 3600.0,  # and never the same local day (Ofcom R6)
        CallOutcome.ABANDONED: ABANDON_QUARANTINE_S,
        CallOutcome.NETWORK_FAILURE: 30 * 60.0,
        CallOutcome.UNKNOWN: ABANDON_QUARANTINE_S,  # it may have been abandoned
        CallOutcome.PARTIAL: 3600.0,
    }


class CampaignConfig(BaseModel):
    """Everything a campaign manager sets for how a campaign dials."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: weekday (Monday=0) → local intervals; a missing weekday means no calls that day
    windows: dict[int, tuple[TimeRange, ...]] = Field(default_factory=_uk_default_windows)
    default_timezone: str = DEFAULT_TZ
    max_attempts: int = Field(default=6, ge=1, le=50)
    retry_delay_s: dict[CallOutcome, float] = Field(default_factory=_default_retry)
    ring_timeout_s: float = Field(default=30.0, ge=MIN_RING_S, le=120.0)
    wrap_up_s: float = Field(default=20.0, ge=0.0, le=600.0)
    #: an answered human must reach an agent or hear the message within this (Ofcom R2)
    message_within_s: float = Field(default=2.0, gt=0.0, le=2.0)
    amd: bool = False
    #: the detector's measured (or vendor-stated) share of people it takes for machines;
    #: each such call is a silent hang-up that Ofcom counts as abandoned
    amd_human_as_machine: float = Field(default=0.0, ge=0.0, lt=1.0)
    pacer: str = "progressive"
    #: preview pacing: how long the reserved agent reads the record before the call is placed
    preview_s: float = Field(default=8.0, ge=0.0, le=120.0)
    abandon_limit: float = Field(default=ABANDON_LIMIT, gt=0.0, le=ABANDON_LIMIT)
    operating_target: float = Field(default=0.02, gt=0.0, le=ABANDON_LIMIT)
    caller_id: str = "+441632960000"
    information_prompt: str = "information-message"
    callback_slot_minutes: int = Field(default=30, ge=5, le=240)
    callback_horizon_days: int = Field(default=7, ge=1, le=60)
    #: personal callbacks wait for the agent who booked them this long, then go campaign-wide
    personal_callback_grace_s: float = Field(default=900.0, ge=0.0)
    hopper_size: int = Field(default=50, ge=1, le=10000)
    #: stop dialling once the script's quota cells are all full
    stop_when_quotas_full: bool = True

    @field_validator("windows")
    @classmethod
    def _weekdays(cls, v: dict[int, tuple[TimeRange, ...]]) -> dict[int, tuple[TimeRange, ...]]:
        for day in v:
            if not 0 <= day <= 6:
                raise ValueError(f"weekday {day} is not 0 (Monday) .. 6 (Sunday)")
        return v

    @field_validator("default_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("caller_id")
    @classmethod
    def _cli(cls, v: str) -> str:
        # Ofcom R7: a number that can be called back; not premium, not a personal number.
        try:
            num = phonenumbers.parse(v, None)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(f"caller id {v!r} is not an E.164 number") from exc
        if not phonenumbers.is_possible_number(num):
            raise ValueError(f"caller id {v!r} is not a possible number")
        kind = phonenumbers.number_type(num)
        if kind in (
            PhoneNumberType.PREMIUM_RATE,
            PhoneNumberType.PERSONAL_NUMBER,
            PhoneNumberType.SHARED_COST,
        ):
            raise ValueError(f"caller id {v!r} is a premium or personal number (Ofcom)")
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)

    @model_validator(mode="after")
    def _floors(self) -> CampaignConfig:
        if self.operating_target > self.abandon_limit:
            raise ValueError("operating target is above the abandon limit")
        if self.amd:
            if self.amd_human_as_machine <= 0.0:
                raise ValueError(
                    "AMD on needs the detector's measured human-as-machine rate "
                    "(amd_human_as_machine): its false positives count as abandoned calls"
                )
            allowed, why = amd_gate(self.amd_human_as_machine, self.operating_target)
            if not allowed:
                raise ValueError(why)
        if self.retry_delay_s.get(CallOutcome.ABANDONED, 0.0) < ABANDON_QUARANTINE_S:
            raise ValueError("the retry delay after an abandon cannot be below 72 h (Ofcom)")
        for outcome, delay in self.retry_delay_s.items():
            if delay < 0:
                raise ValueError(f"negative retry delay for {outcome.value}")
        return self

    def retry_delay(self, outcome: CallOutcome) -> float:
        if outcome == CallOutcome.ABANDONED:
            return max(ABANDON_QUARANTINE_S, self.retry_delay_s.get(outcome, 0.0))
        return self.retry_delay_s.get(outcome, 0.0)

    def with_changes(self, **changes: Any) -> CampaignConfig:
        data = self.model_dump()
        data.update(changes)
        return CampaignConfig.model_validate(data)


def timezone_hint(e164: str, default: str = DEFAULT_TZ) -> str:
    """The called person's time zone, from the number (at import; store this, not the number).

    Numbers that map to several zones (e.g. a US toll-free) get the first zone that is not
    the library's "unknown" marker, else ``default``.
    """
    try:
        num = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return default
    for zone in pn_timezone.time_zones_for_number(num):
        if zone and zone != pn_timezone.UNKNOWN_TIMEZONE:
            return str(zone)
    return default
