"""Who may do what: one declarative table (role x action), used by every entry point.

The CLI, the web pages and the JSON API all ask :func:`is_allowed` / :func:`require`.
A test walks the whole matrix, so adding an action means deciding it for every role.
"""

from __future__ import annotations

from enum import StrEnum

from gatehouse.domain.errors import PermissionDenied


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    CAMPAIGN_MANAGER = "campaign_manager"
    SECURITY_OFFICER = "security_officer"
    GOVERNOR = "governor"
    INVESTIGATOR = "investigator"
    ADMIN = "admin"


class Action(StrEnum):
    # agent desktop
    AGENT_WORK = "agent.work"  # log in to the desktop, go ready, take calls, set outcomes
    AGENT_TRAIN = "agent.train"
    # supervision
    SUPERVISE_VIEW = "supervise.view"  # wallboard
    SUPERVISE_INTERVENE = "supervise.intervene"  # listen / whisper / barge / end call / pause agent
    QUALITY_SCORE = "quality.score"
    # campaigns and contacts
    CAMPAIGN_VIEW = "campaign.view"
    CAMPAIGN_MANAGE = "campaign.manage"  # create, configure, start / pause / stop
    CONTACTS_IMPORT = "contacts.import"
    SUPPRESSION_MANAGE = "suppression.manage"
    RESULTS_EXPORT = "results.export"
    REPORT_VIEW = "report.view"
    # scripts
    SCRIPT_EDIT = "script.edit"  # draft and submit
    SCRIPT_APPROVE = "script.approve"
    # security
    AGENT_VET = "agent.vet"  # vetting, clearance, expiry
    AUDIT_VIEW = "audit.view"
    AUDIT_VERIFY = "audit.verify"
    RECORDING_ACCESS = "recording.access"  # with a stated reason, always audited
    # governance
    PAY_RATES_SET = "pay.set"
    CONTRACT_APPROVE = "contract.approve"
    TELEPHONY_ADMIN = "telephony.admin"  # numbers, tariffs, menus, shop
    # investigation
    CALL_RECORDS_SEARCH = "calls.search"
    CALL_MONITOR = "calls.monitor"
    # platform
    USERS_MANAGE = "users.manage"
    SYSTEM_ADMIN = "system.admin"
    METRICS_VIEW = "metrics.view"  # scrape /metrics with a session (decision 0055)


_A = Action

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.AGENT: frozenset({_A.AGENT_WORK, _A.AGENT_TRAIN}),
    Role.SUPERVISOR: frozenset(
        {
            _A.SUPERVISE_VIEW,
            _A.SUPERVISE_INTERVENE,
            _A.QUALITY_SCORE,
            _A.CAMPAIGN_VIEW,
            _A.REPORT_VIEW,
            _A.METRICS_VIEW,
        }
    ),
    Role.CAMPAIGN_MANAGER: frozenset(
        {
            _A.CAMPAIGN_VIEW,
            _A.CAMPAIGN_MANAGE,
            _A.CONTACTS_IMPORT,
            _A.SUPPRESSION_MANAGE,
            _A.RESULTS_EXPORT,
            _A.REPORT_VIEW,
            _A.SCRIPT_EDIT,
        }
    ),
    Role.SECURITY_OFFICER: frozenset(
        {
            _A.SCRIPT_APPROVE,
            _A.AGENT_VET,
            _A.AUDIT_VIEW,
            _A.AUDIT_VERIFY,
            _A.RECORDING_ACCESS,
            _A.CAMPAIGN_VIEW,
            _A.REPORT_VIEW,
            _A.SUPERVISE_VIEW,
        }
    ),
    Role.GOVERNOR: frozenset(
        {
            _A.PAY_RATES_SET,
            _A.CONTRACT_APPROVE,
            _A.TELEPHONY_ADMIN,
            _A.CAMPAIGN_VIEW,
            _A.REPORT_VIEW,
            _A.AUDIT_VIEW,
            _A.SUPERVISE_VIEW,
        }
    ),
    Role.INVESTIGATOR: frozenset(
        {_A.CALL_RECORDS_SEARCH, _A.CALL_MONITOR, _A.RECORDING_ACCESS, _A.AUDIT_VIEW}
    ),
    # Admin runs the platform but deliberately cannot read recordings, approve scripts or
    # set pay: separation of duties is part of what the security department signs off.
    Role.ADMIN: frozenset(
        {
            _A.USERS_MANAGE,
            _A.SYSTEM_ADMIN,
            _A.AUDIT_VIEW,
            _A.AUDIT_VERIFY,
            _A.CAMPAIGN_VIEW,
            _A.METRICS_VIEW,
        }
    ),
}


def is_allowed(roles: frozenset[Role] | set[Role], action: Action) -> bool:
    return any(action in PERMISSIONS[role] for role in roles)


def require(roles: frozenset[Role] | set[Role], action: Action) -> None:
    if not is_allowed(roles, action):
        raise PermissionDenied(f"not allowed: {action}", action=str(action))
