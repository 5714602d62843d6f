"""Quality scoring of finished calls (C6) and each agent's quality summary (C9 work record).

- ``load_rubric`` reads a rubric from YAML (default ``gatehouse/data/quality_rubric.yaml``),
  validated by Pydantic for shape and by ``domain.quality.validate_rubric`` for sense.
- ``score_call`` scores one finished dialler attempt of one agent, in the caller's
  transaction, with its audit entry in the same transaction. The scorer must hold
  ``Action.QUALITY_SCORE``; the call must exist, must be finished, must have been taken by
  that agent; nobody scores their own call; one score per call per scorer.
- ``agent_quality_summary`` (count, mean total, pass rate) is the work record's QA feed.

No PII is read or returned: an attempt is named by its id; the contact appears nowhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from gatehouse.adapters.storage.audit import append_audit
from gatehouse.adapters.storage.tables.dialler import DialAttempt
from gatehouse.adapters.storage.tables.quality import QualityScoreRow
from gatehouse.domain import quality
from gatehouse.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gatehouse.domain.permissions import Action, require
from gatehouse.services.scripts import Actor

MAX_COMMENT = 2000


class _CriterionModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    scale_max: int | None = Field(default=None, ge=1, le=quality.MAX_SCALE)
    weight: float | None = Field(default=None, ge=0)
    critical: bool = False


class _RubricModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$")
    version: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=200)
    pass_mark: float = Field(ge=0, le=100)
    criteria: list[_CriterionModel] = Field(min_length=1, max_length=quality.MAX_CRITERIA)


def parse_rubric(text: str) -> quality.Rubric:
    """A rubric from YAML text; ``ValidationFailed`` names what is wrong."""
    try:
        data = yaml.safe_load(text)
        model = _RubricModel.model_validate(data)
    except yaml.YAMLError as bad:
        raise ValidationFailed(f"the rubric is not valid YAML: {bad}") from bad
    except PydanticValidationError as bad:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in bad.errors()
        )
        raise ValidationFailed(f"the rubric is malformed: {problems}") from bad
    criteria = tuple(
        quality.Criterion(
            criterion_id=c.id,
            label=c.label,
            # critical criteria are yes/no checks without weight unless stated (and refused
            # by the domain if stated otherwise)
            scale_max=c.scale_max if c.scale_max is not None else (1 if c.critical else 4),
            weight=c.weight if c.weight is not None else (0.0 if c.critical else 1.0),
            critical=c.critical,
            description=c.description,
        )
        for c in model.criteria
    )
    return quality.validate_rubric(
        quality.Rubric(model.id, model.version, model.name, criteria, model.pass_mark)
    )


def load_rubric(path: Path | None = None) -> quality.Rubric:
    if path is not None:
        return parse_rubric(path.read_text("utf-8"))
    return default_rubric()


@lru_cache(maxsize=1)
def default_rubric() -> quality.Rubric:
    text = resources.files("gatehouse").joinpath("data/quality_rubric.yaml").read_text("utf-8")
    return parse_rubric(text)


@dataclass(frozen=True, slots=True)
class ScoredCall:
    score_id: int
    attempt_id: str
    campaign_id: str
    agent_id: str
    scorer_id: str
    rubric_id: str
    rubric_version: int
    scores: dict[str, int]
    total: float
    passed: bool
    failed_critical: tuple[str, ...]
    comment: str
    scored_at: float


@dataclass(frozen=True, slots=True)
class FinishedCall:
    attempt_id: str
    campaign_id: str
    agent_id: str
    outcome: str
    connected_at: float
    ended_at: float | None
    scored_total: float | None  # the latest score's total, if any
    scored_passed: bool | None


def _scored(row: QualityScoreRow) -> ScoredCall:
    return ScoredCall(
        score_id=row.id,
        attempt_id=row.attempt_id,
        campaign_id=row.campaign_id,
        agent_id=row.agent_id,
        scorer_id=row.scorer_id,
        rubric_id=row.rubric_id,
        rubric_version=row.rubric_version,
        scores={str(k): int(v) for k, v in json.loads(row.scores_json).items()},
        total=row.total,
        passed=row.passed,
        failed_critical=tuple(json.loads(row.failed_critical)),
        comment=row.comment,
        scored_at=row.scored_at,
    )


def finished_call(session: Session, attempt_id: str) -> DialAttempt:
    """A dialler attempt that reached an agent and has its outcome (else NotFound/Conflict)."""
    attempt = session.get(DialAttempt, attempt_id)
    if attempt is None or attempt.agent_id is None or attempt.connected_at is None:
        raise NotFound("no such call taken by an agent")
    if attempt.outcome is None:
        raise Conflict("that call has not finished yet")
    return attempt


def score_call(
    session: Session,
    actor: Actor,
    *,
    attempt_id: str,
    agent_id: str,
    scores: Mapping[str, int],
    comment: str = "",
    rubric: quality.Rubric | None = None,
    now: float | None = None,
) -> ScoredCall:
    require(actor.roles, Action.QUALITY_SCORE)
    rubric = rubric or default_rubric()
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(f"keep the comment under {MAX_COMMENT} characters")
    attempt = finished_call(session, attempt_id)
    if attempt.agent_id != agent_id:
        raise ValidationFailed("that call was not taken by this agent")
    if actor.user_id == agent_id:
        raise PermissionDenied("nobody scores their own calls")
    already = session.scalars(
        select(QualityScoreRow.id).where(
            QualityScoreRow.attempt_id == attempt_id, QualityScoreRow.scorer_id == actor.user_id
        )
    ).first()
    if already is not None:
        raise Conflict("you have already scored this call")
    result = quality.score(rubric, scores)
    row = QualityScoreRow(
        attempt_id=attempt_id,
        campaign_id=attempt.campaign_id,
        agent_id=agent_id,
        scorer_id=actor.user_id,
        rubric_id=rubric.rubric_id,
        rubric_version=rubric.version,
        scores_json=json.dumps(result.as_dict(), sort_keys=True),
        total=result.total,
        passed=result.passed,
        failed_critical=json.dumps(list(result.failed_critical)),
        comment=comment,
        scored_at=time.time() if now is None else now,
    )
    session.add(row)
    session.flush()
    append_audit(
        session,
        actor=actor.user_id,
        action="quality.score",
        target=f"attempt:{attempt_id}",
        details={
            "agent": agent_id,
            "campaign": attempt.campaign_id,
            "rubric": f"{rubric.rubric_id}@{rubric.version}",
            "total": result.total,
            "passed": result.passed,
            "failed_critical": list(result.failed_critical),
            "score_id": row.id,
        },
    )
    return _scored(row)


def scores_for_agent(session: Session, agent_id: str, limit: int = 200) -> list[ScoredCall]:
    rows = session.scalars(
        select(QualityScoreRow)
        .where(QualityScoreRow.agent_id == agent_id)
        .order_by(QualityScoreRow.scored_at.desc(), QualityScoreRow.id.desc())
        .limit(limit)
    )
    return [_scored(r) for r in rows]


def scores_for_call(session: Session, attempt_id: str) -> list[ScoredCall]:
    rows = session.scalars(
        select(QualityScoreRow)
        .where(QualityScoreRow.attempt_id == attempt_id)
        .order_by(QualityScoreRow.id)
    )
    return [_scored(r) for r in rows]


def agent_quality_summary(session: Session, agent_id: str) -> quality.QualitySummary:
    """The work record's QA line for one agent: every score they have received."""
    rows = session.execute(
        select(QualityScoreRow.total, QualityScoreRow.passed).where(
            QualityScoreRow.agent_id == agent_id
        )
    ).all()
    return quality.summarise((float(t), bool(p)) for t, p in rows)


def finished_calls(session: Session, agent_id: str, limit: int = 25) -> list[FinishedCall]:
    """The agent's most recent finished live calls, newest first, with any score."""
    attempts = session.scalars(
        select(DialAttempt)
        .where(
            DialAttempt.agent_id == agent_id,
            DialAttempt.outcome.is_not(None),
            DialAttempt.connected_at.is_not(None),
        )
        .order_by(DialAttempt.connected_at.desc())
        .limit(limit)
    ).all()
    ids = [a.attempt_id for a in attempts]
    latest: dict[str, QualityScoreRow] = {}
    if ids:
        for row in session.scalars(
            select(QualityScoreRow)
            .where(QualityScoreRow.attempt_id.in_(ids))
            .order_by(QualityScoreRow.id)
        ):
            latest[row.attempt_id] = row
    out: list[FinishedCall] = []
    for a in attempts:
        scored = latest.get(a.attempt_id)
        assert a.outcome is not None and a.connected_at is not None
        out.append(
            FinishedCall(
                attempt_id=a.attempt_id,
                campaign_id=a.campaign_id,
                agent_id=agent_id,
                outcome=a.outcome,
                connected_at=a.connected_at,
                ended_at=a.ended_at or a.outcome_at,
                scored_total=scored.total if scored else None,
                scored_passed=scored.passed if scored else None,
            )
        )
    return out
