"""Agent clearance (C9): effective status against today's date, expiry warnings, and who
may take live calls for which campaign."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from gatehouse.domain.clearance import (
    Clearance,
    ClearanceStatus,
    NotCleared,
    check_can_work,
    days_left,
    effective_status,
    expiry_warning,
    new_clearance,
    refusal,
)
from gatehouse.domain.errors import PermissionDenied, ValidationFailed

TODAY = date(2026, 11, 24)


def _cleared(until: date, campaigns: tuple[str, ...] = ("c1",)) -> Clearance:
    return new_clearance(
        agent_id="a1",
        status=ClearanceStatus.CLEARED,
        cleared_until=until,
        campaigns=campaigns,
        vetted_by="sec1",
        vetted_at=0.0,
        today=TODAY,
    )


def test_cleared_until_is_inclusive_then_expires() -> None:
    c = _cleared(TODAY + timedelta(days=1))
    assert effective_status(c, TODAY) == ClearanceStatus.CLEARED
    assert effective_status(c, TODAY + timedelta(days=1)) == ClearanceStatus.CLEARED
    assert effective_status(c, TODAY + timedelta(days=2)) == ClearanceStatus.EXPIRED
    assert days_left(c, TODAY) == 1
    assert days_left(c, TODAY + timedelta(days=2)) is None


def test_expiry_warnings() -> None:
    assert expiry_warning(_cleared(TODAY + timedelta(days=90)), TODAY) == ""
    assert expiry_warning(_cleared(TODAY + timedelta(days=30)), TODAY) == (
        "clearance expires in 30 days"
    )
    assert expiry_warning(_cleared(TODAY + timedelta(days=1)), TODAY) == (
        "clearance expires in 1 day"
    )
    assert expiry_warning(_cleared(TODAY), TODAY) == "clearance expires at the end of today"
    assert expiry_warning(_cleared(TODAY), TODAY + timedelta(days=1)) == ""  # already expired


def test_who_may_take_calls() -> None:
    c = _cleared(TODAY + timedelta(days=10), ("c1", "c2"))
    assert refusal(c, "c1", TODAY) == ""
    check_can_work(c, "c2", TODAY)
    assert "not cleared for this campaign" in refusal(c, "c3", TODAY)
    assert "not cleared to take calls" in refusal(None, "c1", TODAY)
    assert "expired" in refusal(c, "c1", TODAY + timedelta(days=11))
    suspended = new_clearance(
        agent_id="a1",
        status=ClearanceStatus.SUSPENDED,
        cleared_until=None,
        campaigns=(),
        vetted_by="sec1",
        vetted_at=0.0,
        today=TODAY,
    )
    assert "suspended" in refusal(suspended, "c1", TODAY)
    with pytest.raises(NotCleared) as refused:
        check_can_work(suspended, "c1", TODAY)
    assert isinstance(refused.value, PermissionDenied)  # -> 403 on the API


@pytest.mark.parametrize(
    ("status", "until", "campaigns", "message"),
    [
        (ClearanceStatus.CLEARED, None, ("c1",), "date it runs until"),
        (ClearanceStatus.CLEARED, TODAY - timedelta(days=1), ("c1",), "passed"),
        (ClearanceStatus.CLEARED, TODAY + timedelta(days=5000), ("c1",), "at most"),
        (ClearanceStatus.CLEARED, TODAY + timedelta(days=5), (" ",), "at least one campaign"),
        (ClearanceStatus.EXPIRED, TODAY + timedelta(days=5), ("c1",), "suspend"),
    ],
)
def test_nonsense_clearances_are_refused(
    status: ClearanceStatus, until: date | None, campaigns: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message):
        new_clearance(
            agent_id="a1",
            status=status,
            cleared_until=until,
            campaigns=campaigns,
            vetted_by="sec1",
            vetted_at=0.0,
            today=TODAY,
        )
