"""The whole role × action matrix, written out: a change to permissions.py must be deliberate."""

from __future__ import annotations

import pytest

from gatehouse.domain.errors import PermissionDenied
from gatehouse.domain.permissions import Action, Role, is_allowed, require

A = Action
EXPECTED: dict[Role, set[Action]] = {
    Role.AGENT: {A.AGENT_WORK, A.AGENT_TRAIN},
    Role.SUPERVISOR: {
        A.SUPERVISE_VIEW,
        A.SUPERVISE_INTERVENE,
        A.QUALITY_SCORE,
        A.CAMPAIGN_VIEW,
        A.REPORT_VIEW,
        A.METRICS_VIEW,
    },
    Role.CAMPAIGN_MANAGER: {
        A.CAMPAIGN_VIEW,
        A.CAMPAIGN_MANAGE,
        A.CONTACTS_IMPORT,
        A.SUPPRESSION_MANAGE,
        A.RESULTS_EXPORT,
        A.REPORT_VIEW,
        A.SCRIPT_EDIT,
    },
    Role.SECURITY_OFFICER: {
        A.SCRIPT_APPROVE,
        A.AGENT_VET,
        A.AUDIT_VIEW,
        A.AUDIT_VERIFY,
        A.RECORDING_ACCESS,
        A.CAMPAIGN_VIEW,
        A.REPORT_VIEW,
        A.SUPERVISE_VIEW,
    },
    Role.GOVERNOR: {
        A.PAY_RATES_SET,
        A.CONTRACT_APPROVE,
        A.TELEPHONY_ADMIN,
        A.CAMPAIGN_VIEW,
        A.REPORT_VIEW,
        A.AUDIT_VIEW,
        A.SUPERVISE_VIEW,
    },
    Role.INVESTIGATOR: {A.CALL_RECORDS_SEARCH, A.CALL_MONITOR, A.RECORDING_ACCESS, A.AUDIT_VIEW},
    Role.ADMIN: {
        A.USERS_MANAGE,
        A.SYSTEM_ADMIN,
        A.AUDIT_VIEW,
        A.AUDIT_VERIFY,
        A.CAMPAIGN_VIEW,
        A.METRICS_VIEW,
    },
}


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("action", list(Action), ids=str)
def test_every_cell_of_the_matrix(role: Role, action: Action) -> None:
    expected = action in EXPECTED[role]
    assert is_allowed({role}, action) is expected
    if expected:
        require({role}, action)
    else:
        with pytest.raises(PermissionDenied):
            require({role}, action)


def test_separation_of_duties() -> None:
    # An agent can do nothing but work; nobody who edits scripts can approve them; pay is
    # the governor's alone (clients cannot set prisoner pay: C10).
    assert EXPECTED[Role.AGENT] == {A.AGENT_WORK, A.AGENT_TRAIN}
    assert not any(A.SCRIPT_EDIT in acts and A.SCRIPT_APPROVE in acts for acts in EXPECTED.values())
    assert [r for r, acts in EXPECTED.items() if A.PAY_RATES_SET in acts] == [Role.GOVERNOR]
    assert A.RECORDING_ACCESS not in EXPECTED[Role.ADMIN]


def test_no_roles_no_rights() -> None:
    assert not any(is_allowed(set(), action) for action in Action)
