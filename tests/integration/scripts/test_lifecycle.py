"""Script lifecycle on a real database (both legs): draft → submitted → approved → live.

Checks the rules the security department signs off: only a security officer approves, and
never their own script; the lint must be clean to submit; the approver sees a diff against
the last approved version; stored text never changes (database trigger); every transition
is recorded append-only; a campaign cannot run an unapproved version.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.audit import iter_entries
from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.tables.dialler import DiallerCampaign
from gatehouse.domain.errors import Conflict, PermissionDenied, ValidationFailed
from gatehouse.domain.permissions import Role
from gatehouse.domain.scripts.lint import LintFailed
from gatehouse.services import scripts as svc

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "insurance-survey.yaml"
AUTHOR = svc.Actor("manager-1", frozenset({Role.CAMPAIGN_MANAGER}))
OFFICER = svc.Actor("security-1", frozenset({Role.SECURITY_OFFICER}))
AGENT = svc.Actor("agent-1", frozenset({Role.AGENT}))


def _approved(factory: sessionmaker[Session], source: str) -> str:
    with transaction(factory) as s:
        version = svc.save_draft(s, AUTHOR, source)
    with transaction(factory) as s:
        svc.submit(s, AUTHOR, version.id)
    with transaction(factory) as s:
        svc.decide(s, OFFICER, version.id, approve=True, note="checked against the brief")
    return version.id


def test_draft_to_live_with_diff_and_history(session_factory: sessionmaker[Session]) -> None:
    source = EXAMPLE.read_text(encoding="utf-8")
    v1 = _approved(session_factory, source)
    with transaction(session_factory) as s:
        live = svc.go_live(s, AUTHOR, v1)
    assert live.status == "live" and live.number == 1
    # Version 2 changes one question; the officer sees exactly that against v1.
    changed = source.replace("how satisfied were you?", "how satisfied are you now?")
    with transaction(session_factory) as s:
        v2 = svc.save_draft(s, AUTHOR, changed)
    with transaction(session_factory) as s:
        svc.submit(s, AUTHOR, v2.id)
    with session_factory() as s:
        diff = svc.diff_against_approved(s, v2.id)
    assert "-" in diff and "+" in diff and "v1 (approved)" in diff
    assert [line for line in diff.splitlines() if line.startswith("+") and "now?" in line]
    with transaction(session_factory) as s:
        svc.decide(s, OFFICER, v2.id, approve=True, note="wording only")
        svc.go_live(s, AUTHOR, v2.id)
    with session_factory() as s:
        statuses = {v.number: v.status for v in svc.list_versions(s)}
        events = [e["action"] for e in svc.history(s, v2.id)]
    assert statuses == {1: "retired", 2: "live"}
    assert events == ["script.draft", "script.submit", "script.approve", "script.live"]


def test_only_a_security_officer_approves_and_never_their_own(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as s:
        version = svc.save_draft(s, AUTHOR, EXAMPLE.read_text(encoding="utf-8"))
        svc.submit(s, AUTHOR, version.id)
    for who in (AUTHOR, AGENT):
        with transaction(session_factory) as s, pytest.raises(PermissionDenied):
            svc.decide(s, who, version.id, approve=True, note="")
    both = svc.Actor("manager-1", frozenset({Role.SECURITY_OFFICER, Role.CAMPAIGN_MANAGER}))
    with transaction(session_factory) as s, pytest.raises(Conflict, match="author"):
        svc.decide(s, both, version.id, approve=True, note="")
    with transaction(session_factory) as s, pytest.raises(PermissionDenied):
        svc.save_draft(s, AGENT, EXAMPLE.read_text(encoding="utf-8"))


def test_submission_runs_the_lint(session_factory: sessionmaker[Session]) -> None:
    hostile = EXAMPLE.read_text(encoding="utf-8").replace(
        "In the last five years, how many times have you switched insurer?",
        "Roughly what is the total value of the contents of your home?",
    )
    with transaction(session_factory) as s:
        version = svc.save_draft(s, AUTHOR, hostile)
    assert [f.rule for f in version.lint] == ["value-of-possessions"]
    with pytest.raises(LintFailed) as caught, transaction(session_factory) as s:
        svc.submit(s, AUTHOR, version.id)
    assert caught.value.findings[0].element == "recommend"
    with session_factory() as s:
        assert svc.get_version(s, version.id).status == "draft"


def test_stored_text_never_changes_and_history_is_append_only(
    session_factory: sessionmaker[Session],
) -> None:
    version_id = _approved(session_factory, EXAMPLE.read_text(encoding="utf-8"))
    with pytest.raises(DatabaseError), transaction(session_factory) as s:
        s.execute(
            text("UPDATE script_versions SET source = 'id: x' WHERE id = :v"), {"v": version_id}
        )
    with pytest.raises(DatabaseError), transaction(session_factory) as s:
        s.execute(text("DELETE FROM script_events WHERE version_id = :v"), {"v": version_id})
    with pytest.raises(DatabaseError), transaction(session_factory) as s:
        s.execute(text("UPDATE script_events SET actor = 'someone else'"))
    with session_factory() as s:
        assert len(svc.history(s, version_id)) == 3


def test_a_campaign_cannot_run_an_unapproved_version(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as s:
        draft = svc.save_draft(s, AUTHOR, EXAMPLE.read_text(encoding="utf-8"))
        s.add(DiallerCampaign(campaign_id="k1", name="k1", config_json="{}"))
        s.add(
            DiallerCampaign(
                campaign_id="k2", name="k2", config_json="{}", script_version_id=draft.id
            )
        )
    with session_factory() as s:
        with pytest.raises(ValidationFailed, match="no script version"):
            svc.require_live_version(s, "k1")
        with pytest.raises(ValidationFailed, match="only an approved version"):
            svc.require_live_version(s, "k2")
    with transaction(session_factory) as s:
        svc.submit(s, AUTHOR, draft.id)
        svc.decide(s, OFFICER, draft.id, approve=True, note="ok")
    with session_factory() as s:
        assert svc.require_live_version(s, "k2").id == "insurance-attitudes-2026"


def test_every_transition_reaches_the_central_audit_log(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``append_audit`` gets each transition, in the same session as the change."""
    calls: list[tuple[Session, str, str, str]] = []

    def record(session: Session, *, actor: str, action: str, target: str, details: dict) -> None:  # type: ignore[type-arg]
        calls.append((session, actor, action, target))

    monkeypatch.setattr(svc, "append_audit", record)
    version_id = _approved(session_factory, EXAMPLE.read_text(encoding="utf-8"))
    with transaction(session_factory) as s:
        svc.go_live(s, AUTHOR, version_id)
        assert calls[-1][0] is s  # the same transaction as the change
    assert [(a, act) for _, a, act, _ in calls] == [
        ("manager-1", "script.draft"),
        ("manager-1", "script.submit"),
        ("security-1", "script.approve"),
        ("manager-1", "script.live"),
    ]
    assert {t for *_, t in calls} == {f"script_version:{version_id}"}


def test_transitions_are_in_the_platform_audit_chain(
    session_factory: sessionmaker[Session],
) -> None:
    version_id = _approved(session_factory, EXAMPLE.read_text(encoding="utf-8"))
    with session_factory() as s:
        entries = [
            (e.actor, e.action)
            for e in iter_entries(s)
            if e.target == f"script_version:{version_id}"
        ]
    assert entries == [
        ("manager-1", "script.draft"),
        ("manager-1", "script.submit"),
        ("security-1", "script.approve"),
    ]
