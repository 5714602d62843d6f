"""Quality scoring and clearance services on a real database (SQLite and PostgreSQL): rules
enforced, rows stored, audit entries written in the same transaction, summaries computed."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.audit import recent, verify_chain
from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.tables.dialler import DialAttempt, DiallerAgent
from gatehouse.adapters.storage.tables.quality import AgentClearanceRow, QualityScoreRow
from gatehouse.domain.clearance import ClearanceStatus, NotCleared
from gatehouse.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gatehouse.domain.permissions import Role
from gatehouse.services import clearance, quality
from gatehouse.services.scripts import Actor

SUPERVISOR = Actor("sup1", frozenset({Role.SUPERVISOR}))
OFFICER = Actor("sec1", frozenset({Role.SECURITY_OFFICER}))
MANAGER = Actor("man1", frozenset({Role.CAMPAIGN_MANAGER}))
GOOD = {
    "opening": 4,
    "questions": 4,
    "recording": 3,
    "manner": 4,
    "closing": 2,
    "on_script": 1,
    "no_personal_information": 1,
    "respected_refusal": 1,
}


def _seed(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        s.add(DiallerAgent(agent_id="agent1", name="Agent One", campaigns='["c1"]'))
        s.add(DiallerAgent(agent_id="sim-01", name="Bot", campaigns='["c1"]', bot=True))
        base = dict(campaign_id="c1", worker_id="w1", attempt_no=1, opened_at=100.0)
        s.add(
            DialAttempt(
                attempt_id="att-done",
                contact_ref="ref-1",
                agent_id="agent1",
                connected_at=110.0,
                ended_at=200.0,
                outcome="complete",
                outcome_at=205.0,
                **base,
            )
        )
        s.add(
            DialAttempt(
                attempt_id="att-open",
                contact_ref="ref-2",
                agent_id="agent1",
                connected_at=300.0,
                **base,
            )
        )
        s.add(DialAttempt(attempt_id="att-machine", contact_ref="ref-3", outcome="machine", **base))


def test_default_rubric_loads() -> None:
    rubric = quality.default_rubric()
    assert rubric.rubric_id == "standard-call" and rubric.version == 1
    assert {c.criterion_id for c in rubric.critical} == {
        "on_script",
        "no_personal_information",
        "respected_refusal",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: x\nversion: 1\nname: X\npass_mark: 50\ncriteria: []\n", "criteria"),
        ("id: x\nversion: 1\nname: X\npass_mark: 50\nsurprise: 1\ncriteria: []\n", "surprise"),
        (
            "id: x\nversion: 1\nname: X\npass_mark: 50\ncriteria:\n - id: a\n   label: A\n"
            "   critical: true\n",
            "weighted",
        ),
        ("[unclosed", "YAML"),
    ],
)
def test_malformed_rubrics_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        quality.parse_rubric(text)


def test_score_a_finished_call_audited_and_summarised(
    session_factory: sessionmaker[Session],
) -> None:
    _seed(session_factory)
    with transaction(session_factory) as s:
        scored = quality.score_call(
            s, SUPERVISOR, attempt_id="att-done", agent_id="agent1", scores=GOOD, comment=" ok "
        )
    assert scored.passed and scored.total == 87.5  # (2*4/4 + 3*4/4 + 3*3/4 + 1*4/4 + 1*2/4) / 10
    assert scored.comment == "ok" and scored.rubric_id == "standard-call"
    with transaction(session_factory) as s:
        entry = recent(s, limit=1)[0]
        assert entry.action == "quality.score" and entry.target == "attempt:att-done"
        assert entry.details["agent"] == "agent1" and entry.details["passed"] is True
        assert verify_chain(s).ok
        row = s.scalars(select(QualityScoreRow)).one()
        assert json.loads(row.scores_json) == GOOD
        # a second scorer may score the same call (calibration); the same scorer may not
        failed = dict(GOOD, no_personal_information=0)
        other = Actor("sup2", frozenset({Role.SUPERVISOR}))
        second = quality.score_call(
            s, other, attempt_id="att-done", agent_id="agent1", scores=failed
        )
        assert not second.passed and second.failed_critical == ("no_personal_information",)
    with transaction(session_factory) as s, pytest.raises(Conflict):
        quality.score_call(s, SUPERVISOR, attempt_id="att-done", agent_id="agent1", scores=GOOD)
    with transaction(session_factory) as s:
        summary = quality.agent_quality_summary(s, "agent1")
        assert summary.count == 2 and summary.pass_rate == 0.5
        assert summary.mean_total == 87.5  # the critical failure does not change the total
        calls = quality.finished_calls(s, "agent1")
        assert [c.attempt_id for c in calls] == ["att-done"]  # open and machine calls excluded
        assert calls[0].scored_total is not None
        assert quality.agent_quality_summary(s, "nobody").count == 0


@pytest.mark.parametrize(
    ("actor", "attempt", "agent", "error"),
    [
        (MANAGER, "att-done", "agent1", PermissionDenied),  # lacks QUALITY_SCORE
        (Actor("agent1", frozenset({Role.SUPERVISOR})), "att-done", "agent1", PermissionDenied),
        (SUPERVISOR, "att-open", "agent1", Conflict),  # not finished
        (SUPERVISOR, "att-machine", "agent1", NotFound),  # never reached an agent
        (SUPERVISOR, "att-nope", "agent1", NotFound),
        (SUPERVISOR, "att-done", "agent2", ValidationFailed),  # someone else's call
    ],
)
def test_scoring_rules(
    session_factory: sessionmaker[Session],
    actor: Actor,
    attempt: str,
    agent: str,
    error: type[Exception],
) -> None:
    _seed(session_factory)
    with transaction(session_factory) as s, pytest.raises(error):
        quality.score_call(s, actor, attempt_id=attempt, agent_id=agent, scores=GOOD)
    with transaction(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(QualityScoreRow)) == 0
        assert not [e for e in recent(s) if e.action == "quality.score"]


def test_clearance_lifecycle_and_the_desk_check(session_factory: sessionmaker[Session]) -> None:
    _seed(session_factory)
    today = date(2026, 11, 24)
    with transaction(session_factory) as s, pytest.raises(NotCleared, match="not cleared"):
        clearance.check_can_work(s, "agent1", "c1", today)
    with transaction(session_factory) as s:
        clearance.set_clearance(
            s,
            OFFICER,
            agent_id="agent1",
            status=ClearanceStatus.CLEARED,
            cleared_until=today + timedelta(days=10),
            campaigns=["c1"],
            on=today,
        )
    with transaction(session_factory) as s:
        clearance.check_can_work(s, "agent1", "c1", today)
        with pytest.raises(NotCleared, match="this campaign"):
            clearance.check_can_work(s, "agent1", "c2", today)
        with pytest.raises(NotCleared, match="expired"):
            clearance.check_can_work(s, "agent1", "c1", today + timedelta(days=11))
        lines = clearance.list_clearances(s, today)
        assert lines["agent1"].status == "cleared"
        assert lines["agent1"].warning == "clearance expires in 10 days"
    with transaction(session_factory) as s:
        clearance.set_clearance(
            s,
            OFFICER,
            agent_id="agent1",
            status=ClearanceStatus.SUSPENDED,
            cleared_until=None,
            campaigns=[],
            note="under review",
            on=today,
        )
    with transaction(session_factory) as s:
        with pytest.raises(NotCleared, match="suspended"):
            clearance.check_can_work(s, "agent1", "c1", today)
        row = s.get(AgentClearanceRow, "agent1")
        assert row is not None and row.version == 2 and row.cleared_until is None
        entries = [e for e in recent(s) if e.action == "agent.clearance"]
        assert [e.details["status"] for e in entries] == ["suspended", "cleared"]
        assert entries[0].details["before"]["status"] == "cleared"
        assert verify_chain(s).ok


@pytest.mark.parametrize(
    ("actor", "agent", "error"),
    [
        (SUPERVISOR, "agent1", PermissionDenied),  # lacks AGENT_VET
        (Actor("agent1", frozenset({Role.SECURITY_OFFICER})), "agent1", PermissionDenied),
        (OFFICER, "sim-01", NotFound),  # simulated agents are not vetted
        (OFFICER, "stranger", NotFound),
    ],
)
def test_clearance_rules(
    session_factory: sessionmaker[Session], actor: Actor, agent: str, error: type[Exception]
) -> None:
    _seed(session_factory)
    with transaction(session_factory) as s, pytest.raises(error):
        clearance.set_clearance(
            s,
            actor,
            agent_id=agent,
            status=ClearanceStatus.CLEARED,
            cleared_until=date.today() + timedelta(days=30),
            campaigns=["c1"],
        )
    with transaction(session_factory) as s:
        assert s.get(AgentClearanceRow, agent) is None
