"""Invariant 3's rules for opening a recording: only recording.access holders, with a reason."""

from __future__ import annotations

import pytest

from gatehouse.domain.errors import PermissionDenied, ValidationFailed
from gatehouse.domain.permissions import Action, Role, is_allowed
from gatehouse.domain.recordings import (
    MIN_REASON_CHARS,
    AccessPurpose,
    audit_action,
    check_access,
    check_reason,
)


@pytest.mark.parametrize("reason", [None, "", "   ", "\n\t"])
def test_an_empty_reason_is_refused_clearly(reason: str | None) -> None:
    with pytest.raises(ValidationFailed, match="a reason is required"):
        check_reason(reason)


def test_a_short_reason_is_refused_with_the_minimum() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_reason("because")
    assert "too short (7 characters)" in caught.value.message
    assert f"at least {MIN_REASON_CHARS}" in caught.value.message


def test_a_long_reason_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="too long"):
        check_reason("x" * 501)


def test_a_good_reason_is_trimmed_and_whitespace_collapsed() -> None:
    assert check_reason("  complaint   ref\nC-2291  ") == "complaint ref C-2291"
    assert check_reason("x" * MIN_REASON_CHARS) == "x" * MIN_REASON_CHARS


@pytest.mark.parametrize("role", [Role.SECURITY_OFFICER, Role.INVESTIGATOR])
def test_security_officer_and_investigator_may_open(role: Role) -> None:
    assert check_access(frozenset({role}), "case 2291 review") == "case 2291 review"


@pytest.mark.parametrize(
    "role", [Role.AGENT, Role.SUPERVISOR, Role.CAMPAIGN_MANAGER, Role.GOVERNOR, Role.ADMIN]
)
def test_every_other_role_is_refused_even_with_a_reason(role: Role) -> None:
    assert not is_allowed({role}, Action.RECORDING_ACCESS)
    with pytest.raises(PermissionDenied):
        check_access(frozenset({role}), "case 2291 review")


def test_permission_is_checked_before_the_reason() -> None:
    with pytest.raises(PermissionDenied):
        check_access(frozenset({Role.AGENT}), "")


def test_audit_actions_name_the_purpose() -> None:
    assert audit_action(AccessPurpose.PLAY) == "recording.play"
    assert audit_action(AccessPurpose.EXPORT) == "recording.export"
