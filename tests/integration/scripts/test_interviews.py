"""Interview persistence (the API the dialler and the agent desk use), and the example
script end to end: draft → approved → live → interviews → CSV, .sav, Triple-S read back."""

from __future__ import annotations

import csv
import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import pyreadstat
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.exports import ExportRow, build_layout
from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.tables.scripts import InterviewRecord, QuotaCount
from gatehouse.domain.permissions import Role
from gatehouse.domain.scripts.model import InterviewOutcome, load_script
from gatehouse.domain.scripts.persona import COOPERATIVE, respond
from gatehouse.services import results
from gatehouse.services import scripts as svc

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "insurance-survey.yaml"
AUTHOR = svc.Actor("manager-1", frozenset({Role.CAMPAIGN_MANAGER}))
OFFICER = svc.Actor("security-1", frozenset({Role.SECURITY_OFFICER}))
DISPLAY = {"first_name": "Sam"}

QUOTA_SCRIPT = """
id: quota-demo
title: Quota demo
agency: Northfield Research
purpose: a short survey
elements:
  - id: intro
    type: text
    text: Hello, this is Northfield Research with a short survey. You do not have to take part.
  - id: band
    type: single
    text: Which age group are you in?
    options:
      - {code: 1, label: "Under 50"}
      - {code: 2, label: "50 or over"}
  - id: score
    type: rating
    text: How would you rate your insurer?
quotas:
  - id: age
    variables: [band]
    cells:
      - {match: {band: 1}, target: 1}
      - {match: {band: 2}, target: 5}
"""


def _live(factory: sessionmaker[Session], source: str) -> str:
    with transaction(factory) as s:
        version = svc.save_draft(s, AUTHOR, source)
        svc.submit(s, AUTHOR, version.id)
    with transaction(factory) as s:
        svc.decide(s, OFFICER, version.id, approve=True, note="ok")
        svc.go_live(s, AUTHOR, version.id)
    return version.id


def _step(factory: sessionmaker[Session], interview_id: str, value: object) -> str | None:
    """One agent keypress: load (resume) from the database, answer, save. Returns outcome."""
    with transaction(factory) as s:
        stored = svc.load_interview(s, interview_id, display=DISPLAY)
        stored.interview.answer(value)
        svc.save_interview(s, stored)
        return stored.interview.outcome.value if stored.interview.outcome else None


def test_quota_cell_fills_and_ends_the_next_interview(
    session_factory: sessionmaker[Session],
) -> None:
    version_id = _live(session_factory, QUOTA_SCRIPT)

    def run(contact: str, band: int, training: bool = False) -> str | None:
        with transaction(session_factory) as s:
            stored = svc.start_interview(
                s,
                version_id=version_id,
                campaign_id="c1",
                contact_ref=contact,
                display=DISPLAY,
                attempt_id=f"att-{contact}",
                training=training,
            )
        _step(session_factory, stored.id, None)  # intro read out
        outcome = _step(session_factory, stored.id, band)
        return outcome or _step(session_factory, stored.id, 4)

    assert run("t1", 1, training=True) == "complete"  # training never counts
    assert run("a", 1) == "complete"
    assert run("b", 1) == "quota_full"  # the under-50 cell (target 1) is full
    assert run("c", 2) == "complete"
    assert run("d", 2) == "complete"  # the second complete in a cell updates the count
    with session_factory() as s:
        counts = {(q.quota_id, q.cell_key): q.completes for q in s.scalars(select(QuotaCount))}
    assert counts == {("age", "1"): 1, ("age", "2"): 2}


def test_same_attempt_resumes_the_same_interview(session_factory: sessionmaker[Session]) -> None:
    version_id = _live(session_factory, EXAMPLE.read_text(encoding="utf-8"))
    kwargs = dict(version_id=version_id, campaign_id="c1", contact_ref="ref-9", display=DISPLAY)
    with transaction(session_factory) as s:
        first = svc.start_interview(s, attempt_id="att-1", **kwargs)  # type: ignore[arg-type]
    _step(session_factory, first.id, None)
    _step(session_factory, first.id, 1)
    with transaction(session_factory) as s:  # e.g. the agent's browser reloaded, or a crash
        again = svc.start_interview(s, attempt_id="att-1", **kwargs)  # type: ignore[arg-type]
    assert again.id == first.id
    assert again.interview.current() is not None
    assert again.interview.current().id == "decision_maker"  # type: ignore[union-attr]
    assert again.interview.state["answers"] == {"consent": 1}


def test_example_script_end_to_end(tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
    """Done-when of issue 5: draft → approved → live, run, export three formats, read back."""
    version_id = _live(session_factory, EXAMPLE.read_text(encoding="utf-8"))
    rng = random.Random(5)
    for n in range(25):
        with transaction(session_factory) as s:
            stored = svc.start_interview(
                s,
                version_id=version_id,
                campaign_id="ins",
                contact_ref=f"contact-{n}",
                display=DISPLAY,
                attempt_id=f"a-{n}",
            )
        while True:
            with transaction(session_factory) as s:
                stored = svc.load_interview(s, stored.id, display=DISPLAY)
                view = stored.interview.current()
                if view is None:
                    break
                value, other = respond(view, COOPERATIVE, rng)
                stored.interview.answer(value, other_text=other)
                svc.save_interview(s, stored)
    with session_factory() as s:
        records = s.scalars(
            select(InterviewRecord).order_by(InterviewRecord.started_at, InterviewRecord.id)
        ).all()
        states = [(r.respondent_id, r.outcome, json.loads(r.state_json)) for r in records]
    assert len(states) == 25 and {o for _, o, _ in states} >= {"complete", "screened_out"}
    script = load_script(EXAMPLE.read_text(encoding="utf-8"))
    layout = build_layout(script)
    expected = [
        layout.values(ExportRow(rid, outcome or "break_off", state["answers"]))
        for rid, outcome, state in states
    ]
    roles = frozenset({Role.CAMPAIGN_MANAGER})
    with session_factory() as s:
        for fmt in ("csv", "sav", "sss"):
            results.export_campaign(
                s,
                "ins",
                roles=roles,
                fmt=fmt,
                out=tmp_path / f"r.{fmt}",  # type: ignore[arg-type]
            )
    with (tmp_path / "r.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == layout.names
    assert rows[1:] == [["" if v is None else str(v) for v in row] for row in expected]
    frame, _ = pyreadstat.read_sav(str(tmp_path / "r.sav"), user_missing=True)
    for row, record in zip(expected, frame.to_dict(orient="records"), strict=True):
        for column, value in zip(layout.columns, row, strict=True):
            got = record[column.name]
            if column.kind == "text":
                assert got == ("" if value is None else value)
            elif value is None:
                assert got != got  # NaN
            else:
                assert got == pytest.approx(float(value))
    root = ET.parse(tmp_path / "r.sss").getroot()  # noqa: S314 - our own file
    positions = [
        (int(p.get("start", "0")), int(p.get("finish", "0")), v.get("type"))
        for v in root.iter("variable")
        if (p := v.find("position")) is not None
    ]
    lines = (tmp_path / "r.asc").read_text(encoding="utf-8").splitlines()
    for row, line in zip(expected, lines, strict=True):
        for (start, finish, kind), value in zip(positions, row, strict=True):
            cell = line[start - 1 : finish].strip()
            if value is None:
                assert cell == ""
            elif kind == "character":
                assert cell == str(value)
            else:
                assert float(cell) == pytest.approx(float(value))
    assert InterviewOutcome.COMPLETE.value in {o for _, o, _ in states}
