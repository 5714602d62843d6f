"""Script use cases: draft → submitted → approved → live, and interview persistence.

Every lifecycle transition is checked against the permission table and written to the
audit log in the same transaction. A version's text never changes once stored (a database
trigger enforces it); a live version is what the dialler runs; every interview records the
version it ran. Interview state is saved at every step so a crash loses nothing.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gatehouse.adapters.storage.audit import append_audit
from gatehouse.adapters.storage.tables.dialler import DiallerCampaign
from gatehouse.adapters.storage.tables.scripts import (
    InterviewRecord,
    QuotaCount,
    ScriptEvent,
    ScriptRecord,
    ScriptVersionRecord,
)
from gatehouse.domain.errors import Conflict, NotFound, ValidationFailed
from gatehouse.domain.permissions import Action, Role, require
from gatehouse.domain.scripts.lint import (
    LintFailed,
    LintFinding,
    RuleSet,
    lint,
    merge_rules,
    parse_rules,
)
from gatehouse.domain.scripts.model import InterviewOutcome, Script, load_script
from gatehouse.domain.scripts.runner import Interview

DRAFT, SUBMITTED, APPROVED, LIVE, REJECTED, RETIRED = (
    "draft",
    "submitted",
    "approved",
    "live",
    "rejected",
    "retired",
)
RUNNABLE = (APPROVED, LIVE)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: an id for the audit trail and the roles the permission table checks."""

    user_id: str
    roles: frozenset[Role]


@dataclass(frozen=True, slots=True)
class VersionInfo:
    id: str
    script_id: str
    slug: str
    title: str
    number: int
    status: str
    source: str
    content_hash: str
    created_by: str
    created_at: float
    lint: tuple[LintFinding, ...]
    decision_note: str | None


@lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    text = resources.files("gatehouse").joinpath("data/lint_rules.yaml").read_text("utf-8")
    return parse_rules(text)


def _now() -> float:
    return time.time()


def _audit(
    session: Session, *, actor: str, action: str, target: str, details: Mapping[str, Any]
) -> None:
    """Record a lifecycle transition in the same transaction as the change.

    In ``script_events`` (the version's history; append-only: triggers refuse UPDATE and
    DELETE) and in the platform's hash-chained audit log (invariant 6).
    """
    version_id = target.split(":", 1)[1]
    version = session.get(ScriptVersionRecord, version_id)
    session.add(
        ScriptEvent(
            script_id=version.script_id if version is not None else "",
            version_id=version_id,
            action=action,
            actor=actor,
            at=_now(),
            details_json=json.dumps(dict(details), sort_keys=True),
        )
    )
    append_audit(session, actor=actor, action=action, target=target, details=dict(details))


def _info(session: Session, version: ScriptVersionRecord) -> VersionInfo:
    script = session.get(ScriptRecord, version.script_id)
    assert script is not None
    findings = tuple(LintFinding(**f) for f in json.loads(version.lint_json))
    return VersionInfo(
        id=version.id,
        script_id=script.id,
        slug=script.slug,
        title=script.title,
        number=version.number,
        status=version.status,
        source=version.source,
        content_hash=version.content_hash,
        created_by=version.created_by,
        created_at=version.created_at,
        lint=findings,
        decision_note=version.decision_note,
    )


def _version(session: Session, version_id: str, *, lock: bool = False) -> ScriptVersionRecord:
    stmt = select(ScriptVersionRecord).where(ScriptVersionRecord.id == version_id)
    if lock:
        stmt = stmt.with_for_update()
    version = session.scalars(stmt).one_or_none()
    if version is None:
        raise NotFound(f"no script version {version_id}")
    return version


# -- lifecycle ---------------------------------------------------------------------------
def save_draft(
    session: Session, actor: Actor, source: str, *, tenant_rules: RuleSet | None = None
) -> VersionInfo:
    """Store ``source`` as a new draft version of the script its YAML ``id`` names."""
    require(actor.roles, Action.SCRIPT_EDIT)
    script_model = load_script(source)  # raises with path and line on any problem
    findings = lint(script_model, merge_rules(default_rules(), tenant_rules))
    script = session.scalars(
        select(ScriptRecord).where(ScriptRecord.slug == script_model.id)
    ).one_or_none()
    if script is None:
        script = ScriptRecord(
            id=str(uuid.uuid4()),
            slug=script_model.id,
            title=script_model.title,
            created_by=actor.user_id,
            created_at=_now(),
        )
        session.add(script)
        session.flush()
    number = (
        session.scalar(
            select(func.max(ScriptVersionRecord.number)).where(
                ScriptVersionRecord.script_id == script.id
            )
        )
        or 0
    ) + 1
    version = ScriptVersionRecord(
        id=str(uuid.uuid4()),
        script_id=script.id,
        number=number,
        source=source,
        content_hash=hashlib.sha256(source.encode("utf-8")).hexdigest(),
        status=DRAFT,
        lint_json=json.dumps([_finding_dict(f) for f in findings]),
        created_by=actor.user_id,
        created_at=_now(),
    )
    session.add(version)
    session.flush()
    _audit(
        session,
        actor=actor.user_id,
        action="script.draft",
        target=f"script_version:{version.id}",
        details={"script": script.slug, "number": number, "lint_findings": len(findings)},
    )
    return _info(session, version)


def submit(
    session: Session, actor: Actor, version_id: str, *, tenant_rules: RuleSet | None = None
) -> VersionInfo:
    """Submit a draft for approval; the lint runs again and must be clean."""
    require(actor.roles, Action.SCRIPT_EDIT)
    version = _version(session, version_id, lock=True)
    if version.status != DRAFT:
        raise Conflict(f"only a draft can be submitted (this one is {version.status})")
    findings = lint(load_script(version.source), merge_rules(default_rules(), tenant_rules))
    if findings:
        _audit(
            session,
            actor=actor.user_id,
            action="script.submit_refused",
            target=f"script_version:{version.id}",
            details={"findings": [_finding_dict(f) for f in findings]},
        )
        session.flush()
        raise LintFailed(findings)
    version.status = SUBMITTED
    version.submitted_by = actor.user_id
    version.submitted_at = _now()
    _audit(
        session,
        actor=actor.user_id,
        action="script.submit",
        target=f"script_version:{version.id}",
        details={"content_hash": version.content_hash},
    )
    return _info(session, version)


def last_approved(
    session: Session, script_id: str, *, before: int | None = None
) -> ScriptVersionRecord | None:
    stmt = (
        select(ScriptVersionRecord)
        .where(ScriptVersionRecord.script_id == script_id)
        .where(ScriptVersionRecord.status.in_((APPROVED, LIVE, RETIRED)))
        .where(ScriptVersionRecord.decided_at.is_not(None))
        .order_by(ScriptVersionRecord.number.desc())
    )
    if before is not None:
        stmt = stmt.where(ScriptVersionRecord.number < before)
    return session.scalars(stmt.limit(1)).first()


def diff_against_approved(session: Session, version_id: str) -> str:
    """Unified diff of this version against the last approved one (all lines if none)."""
    version = _version(session, version_id)
    basis = last_approved(session, version.script_id, before=version.number)
    old = basis.source.splitlines(keepends=True) if basis else []
    label = f"v{basis.number} (approved)" if basis else "(nothing approved yet)"
    return "".join(
        difflib.unified_diff(
            old, version.source.splitlines(keepends=True), label, f"v{version.number}"
        )
    )


def decide(
    session: Session, actor: Actor, version_id: str, *, approve: bool, note: str
) -> VersionInfo:
    """A security officer approves or rejects a submitted version, having seen the diff."""
    require(actor.roles, Action.SCRIPT_APPROVE)
    version = _version(session, version_id, lock=True)
    if version.status != SUBMITTED:
        raise Conflict(f"only a submitted version can be decided (this one is {version.status})")
    if version.submitted_by == actor.user_id or version.created_by == actor.user_id:
        raise Conflict("the author of a script version cannot approve it")
    if not note.strip() and not approve:
        raise ValidationFailed("a rejection needs a reason")
    basis = last_approved(session, version.script_id, before=version.number)
    version.status = APPROVED if approve else REJECTED
    version.decided_by = actor.user_id
    version.decided_at = _now()
    version.decision_note = note.strip() or None
    version.diff_basis_id = basis.id if basis else None
    _audit(
        session,
        actor=actor.user_id,
        action="script.approve" if approve else "script.reject",
        target=f"script_version:{version.id}",
        details={
            "content_hash": version.content_hash,
            "diff_basis": basis.id if basis else None,
            "note": note.strip(),
        },
    )
    return _info(session, version)


def go_live(session: Session, actor: Actor, version_id: str) -> VersionInfo:
    """Make an approved version the live one of its script (the previous live one retires)."""
    if not (Role.CAMPAIGN_MANAGER in actor.roles or Role.SECURITY_OFFICER in actor.roles):
        require(actor.roles, Action.CAMPAIGN_MANAGE)
    version = _version(session, version_id, lock=True)
    if version.status != APPROVED:
        raise Conflict(f"only an approved version can go live (this one is {version.status})")
    session.execute(
        update(ScriptVersionRecord)
        .where(ScriptVersionRecord.script_id == version.script_id)
        .where(ScriptVersionRecord.status == LIVE)
        .values(status=RETIRED)
    )
    version.status = LIVE
    _audit(
        session,
        actor=actor.user_id,
        action="script.live",
        target=f"script_version:{version.id}",
        details={"content_hash": version.content_hash},
    )
    return _info(session, version)


def require_runnable_version(session: Session, version_id: str | None) -> Script:
    """What a campaign needs before it may start: an approved (or live) version."""
    if not version_id:
        raise ValidationFailed("the campaign has no script version: it cannot start")
    version = _version(session, version_id)
    if version.status not in RUNNABLE:
        raise ValidationFailed(
            f"script version {version.number} is {version.status}; only an approved version can run"
        )
    return load_script(version.source)


def require_live_version(session: Session, campaign_id: str) -> Script:
    """For the dialler: the campaign's script version, which must be approved or live.

    Raises ``ValidationFailed`` (the campaign cannot start) if the campaign names no
    version or its version has not been approved by a security officer.
    """
    campaign = session.get(DiallerCampaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id!r}")
    return require_runnable_version(session, campaign.script_version_id)


def history(session: Session, version_id: str) -> list[dict[str, Any]]:
    """The lifecycle events of one version, oldest first."""
    return [
        {"action": e.action, "actor": e.actor, "at": e.at, "details": json.loads(e.details_json)}
        for e in session.scalars(
            select(ScriptEvent).where(ScriptEvent.version_id == version_id).order_by(ScriptEvent.id)
        )
    ]


def get_version(session: Session, version_id: str) -> VersionInfo:
    return _info(session, _version(session, version_id))


def list_versions(session: Session, *, status: str | None = None) -> list[VersionInfo]:
    stmt = select(ScriptVersionRecord).order_by(
        ScriptVersionRecord.script_id, ScriptVersionRecord.number
    )
    if status:
        stmt = stmt.where(ScriptVersionRecord.status == status)
    return [_info(session, v) for v in session.scalars(stmt)]


def _finding_dict(finding: LintFinding) -> dict[str, str]:
    return {
        "element": finding.element,
        "rule": finding.rule,
        "reason": finding.reason,
        "excerpt": finding.excerpt,
    }


# -- interviews --------------------------------------------------------------------------
@dataclass
class StoredInterview:
    id: str
    interview: Interview
    version_id: str
    campaign_id: str


def quota_checker(session: Session, campaign_id: str, script: Script) -> Callable[[str, str], bool]:
    targets = {
        (q.id, cell.key(q.variables)): cell.target for q in script.quotas for cell in q.cells
    }
    counts = {
        (row.quota_id, row.cell_key): row.completes
        for row in session.scalars(select(QuotaCount).where(QuotaCount.campaign_id == campaign_id))
    }

    def is_full(quota_id: str, cell: str) -> bool:
        target = targets.get((quota_id, cell))
        return target is not None and counts.get((quota_id, cell), 0) >= target

    return is_full


def start_interview(
    session: Session,
    *,
    version_id: str,
    campaign_id: str,
    contact_ref: str,
    display: Mapping[str, str],
    attempt_id: str | None = None,
    agent_id: str | None = None,
    training: bool = False,
) -> StoredInterview:
    """Start (or, for the same attempt, resume) the interview for a contact."""
    script = require_runnable_version(session, version_id)
    if attempt_id is not None:
        existing = session.scalars(
            select(InterviewRecord).where(InterviewRecord.attempt_id == attempt_id)
        ).first()
        if existing is not None:
            return load_interview(session, existing.id, display=display)
    # Seeded per contact so a replayed interview shows the same orders.
    # 31 bits: the column is a signed 32-bit INTEGER on PostgreSQL.
    digest = hashlib.sha256(f"{campaign_id}|{contact_ref}".encode()).digest()
    seed = int.from_bytes(digest[:4]) & 0x7FFF_FFFF
    interview = Interview.start(
        script,
        seed=seed,
        contact=display,
        quota_is_full=quota_checker(session, campaign_id, script),
    )
    now = _now()
    record = InterviewRecord(
        id=str(uuid.uuid4()),
        version_id=version_id,
        campaign_id=campaign_id,
        contact_ref=contact_ref,
        respondent_id=_respondent_id(campaign_id, contact_ref),
        attempt_id=attempt_id,
        agent_id=agent_id,
        seed=seed,
        state_json=json.dumps(interview.state),
        outcome=interview.outcome.value if interview.outcome else None,
        training=training,
        started_at=now,
        updated_at=now,
    )
    session.add(record)
    session.flush()
    return StoredInterview(record.id, interview, version_id, campaign_id)


def _respondent_id(campaign_id: str, contact_ref: str) -> str:
    # Pseudonymous and stable per campaign + contact; reveals nothing about the contact.
    digest = hashlib.sha256(f"respondent|{campaign_id}|{contact_ref}".encode()).hexdigest()
    return "R" + digest[:15].upper()


def load_interview(
    session: Session, interview_id: str, *, display: Mapping[str, str]
) -> StoredInterview:
    record = session.get(InterviewRecord, interview_id)
    if record is None:
        raise NotFound(f"no interview {interview_id}")
    version = _version(session, record.version_id)
    script = load_script(version.source)
    interview = Interview.resume(
        script,
        json.loads(record.state_json),
        contact=display,
        quota_is_full=quota_checker(session, record.campaign_id, script),
    )
    return StoredInterview(record.id, interview, record.version_id, record.campaign_id)


def save_interview(session: Session, stored: StoredInterview) -> None:
    """Persist the runner's state (call after every answer/back); counts quotas on finish."""
    record = session.get(InterviewRecord, stored.id, with_for_update=True)
    if record is None:
        raise NotFound(f"no interview {stored.id}")
    interview = stored.interview
    newly_complete = (
        record.outcome != InterviewOutcome.COMPLETE.value
        and interview.outcome is InterviewOutcome.COMPLETE
    )
    record.state_json = json.dumps(interview.state)
    record.outcome = interview.outcome.value if interview.outcome else None
    record.updated_at = _now()
    if newly_complete and not record.training:
        for quota_id, cell in interview.quota_cells.items():
            _count_complete(session, record.campaign_id, quota_id, cell)


def _count_complete(session: Session, campaign_id: str, quota_id: str, cell: str) -> None:
    # One atomic upsert, so two workers completing in the same new cell at once on
    # PostgreSQL both count (a read-then-insert would fail one of them).
    values = {"campaign_id": campaign_id, "quota_id": quota_id, "cell_key": cell, "completes": 1}
    keys = ["campaign_id", "quota_id", "cell_key"]
    bump = {"completes": QuotaCount.completes + 1}
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql_insert(QuotaCount).values(**values)
        session.execute(pg.on_conflict_do_update(index_elements=keys, set_=bump))
    else:
        lite = sqlite_insert(QuotaCount).values(**values)
        session.execute(lite.on_conflict_do_update(index_elements=keys, set_=bump))
