"""The web adapters over the real script and results services, on the test database: the
editor's live validation and lint, draft -> submit -> approval with the diff, and an
interview driven with the desk's string answers, saved at every step and exported."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.domain.errors import PermissionDenied, ValidationFailed
from gatehouse.domain.permissions import Role
from gatehouse.web.adapters.interviews import InterviewStarter
from gatehouse.web.adapters.scripts import ScriptServices
from gatehouse.web.auth import WebPrincipal

EXAMPLE = (Path(__file__).resolve().parents[3] / "examples" / "insurance-survey.yaml").read_text()
MANAGER = WebPrincipal("u-manager", "manager", "Manager", frozenset({Role.CAMPAIGN_MANAGER}), "s1")
OFFICER = WebPrincipal("u-officer", "officer", "Officer", frozenset({Role.SECURITY_OFFICER}), "s2")


def test_validation_reports_lines_and_lint() -> None:
    scripts = ScriptServices(sessionmaker())
    ok = scripts.validate(EXAMPLE)
    assert ok.ok and ok.errors == () and "questions" in ok.summary
    broken = scripts.validate("id: x\ntitle: [unclosed\n")
    assert not broken.ok and broken.errors
    bad = scripts.validate(
        EXAMPLE.replace("Which of these age groups are you in?", "What is your postcode?")
    )
    assert not bad.ok and any("age_band" in p.where for p in bad.lint), bad.lint


def test_draft_submit_approve_and_interview(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    scripts = ScriptServices(session_factory)
    v1 = scripts.save_draft(MANAGER, None, EXAMPLE)
    scripts.submit(MANAGER, v1)
    assert [p.version_id for p in scripts.pending()] == [v1]
    view = scripts.approval(v1)
    assert view.previous is None and view.report.ok
    with pytest.raises(PermissionDenied):  # a manager cannot approve scripts
        scripts.decide(MANAGER, v1, True, "self-approval")
    scripts.decide(OFFICER, v1, True, "read the whole script; fine")
    assert scripts.pending() == []
    v2 = scripts.save_draft(MANAGER, None, EXAMPLE.replace("Good evening", "Good afternoon"))
    scripts.submit(MANAGER, v2)
    diff = scripts.approval(v2)
    assert diff.previous is not None and diff.previous.version_id == v1

    start = InterviewStarter(session_factory)
    session = start(
        version_id=v1,
        campaign_id="c1",
        contact_ref="ref-1",
        attempt_id="att-1",
        agent_id="agent-1",
        display={"first_name": "Kit"},
    )
    assert session is not None
    first = session.question()
    assert first is not None and first.kind == "readout" and "Kit" in first.text
    assert session.agency_line.startswith("Northfield Research")
    answered = 0
    while not session.finished and answered < 60:
        q = session.question()
        assert q is not None
        if q.kind == "readout":
            values: list[str] = []
        elif q.kind == "numeric":
            values = [str(int(q.minimum or 0))]
        elif q.kind == "text":
            values = ["The price mostly"]
        elif q.kind == "grid":
            values = [f"{item}={q.options[0].code}" for item, _ in q.items]
        else:
            values = [q.options[0].code]
        try:
            session.answer(q.question_id, values)
        except ValidationFailed as refused:  # e.g. "other, specify" wants text
            pytest.fail(f"{q.question_id}: {refused.message}")
        answered += 1
    assert session.finished
    # Resuming the same attempt gives the same, finished interview from the database.
    again = start(
        version_id=v1,
        campaign_id="c1",
        contact_ref="ref-1",
        attempt_id="att-1",
        agent_id="agent-1",
        display={"first_name": "Kit"},
    )
    assert again is not None and again.finished and again.outcome == session.outcome
