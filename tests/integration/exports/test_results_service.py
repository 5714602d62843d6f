"""Results service: AAPOR report from stored attempts and interviews; exports from storage.

Rows are written straight into the tables (the lifecycle service has its own tests), so
this checks what the report and the export read: every interview that is not training,
the dialler's attempt outcomes, contacts never dialled, approved export fields only.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pyreadstat
import pytest
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.audit import iter_entries
from gatehouse.adapters.storage.tables.dialler import DialAttempt, DialContact
from gatehouse.adapters.storage.tables.scripts import (
    InterviewRecord,
    ScriptRecord,
    ScriptVersionRecord,
)
from gatehouse.domain import aapor
from gatehouse.domain.errors import PermissionDenied
from gatehouse.domain.permissions import Role
from gatehouse.domain.scripts.model import load_script
from gatehouse.domain.scripts.persona import COOPERATIVE, simulate
from gatehouse.services.accounts import create_user
from gatehouse.services.results import aapor_report, export_campaign

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "insurance-survey.yaml"
MANAGER = frozenset({Role.CAMPAIGN_MANAGER})


def _seed(factory: sessionmaker[Session]) -> list[InterviewRecord]:
    source = EXAMPLE.read_text(encoding="utf-8")
    script = load_script(source)
    stored = []
    with factory.begin() as session:
        session.add(
            ScriptRecord(id="s1", slug=script.id, title=script.title, created_by="m", created_at=0)
        )
        session.add(
            ScriptVersionRecord(
                id="v1",
                script_id="s1",
                number=1,
                source=source,
                content_hash=hashlib.sha256(source.encode()).hexdigest(),
                status="live",
                created_by="m",
                created_at=0.0,
            )
        )
        session.flush()  # no ORM relationships, so parents go in first explicitly
        for i in range(40):
            interview = simulate(script, seed=i, persona=COOPERATIVE)
            record = InterviewRecord(
                id=f"i{i}",
                version_id="v1",
                campaign_id="c1",
                contact_ref=f"ref{i}",
                respondent_id=f"RESP{i:03d}",
                seed=i,
                state_json=json.dumps(interview.state),
                outcome=interview.outcome.value if interview.outcome else None,
                training=i >= 36,  # training interviews never reach reports or exports
                started_at=float(i),
                updated_at=float(i),
            )
            session.add(record)
            stored.append(record)
        # Dialler view of the same campaign: contacts, some never answered, one never dialled.
        for i in range(44):
            session.add(DialContact(campaign_id="c1", contact_ref=f"ref{i}", tz="Europe/London"))
        for i, outcome in [(40, "no_answer"), (41, "busy"), (42, "opt_out")]:
            session.add(
                DialAttempt(
                    attempt_id=f"a{i}",
                    campaign_id="c1",
                    contact_ref=f"ref{i}",
                    worker_id="w",
                    attempt_no=1,
                    opened_at=0.0,
                    outcome=outcome,
                )
            )
    return stored


def test_aapor_report_counts_every_contact(session_factory: sessionmaker[Session]) -> None:
    stored = _seed(session_factory)
    with session_factory() as session:
        report = aapor_report(session, "c1", roles=MANAGER)
    assert report.contacts == 44
    real = [r for r in stored if not r.training]
    expected = Counter_of(
        [
            aapor.final_disposition(
                [r.outcome or "break_off"],
                answered_share=_share(r),
            ).value
            for r in real
        ]
        + ["3.13", "3.12", "2.11"]  # no answer, always busy, opted out (a refusal)
        + ["3.11"] * 4  # training-only contacts 36-39 and contact 43: never a real attempt
        + ["3.11"]
    )
    assert dict(report.dispositions) == expected
    c = report.counts
    # RR1 by hand: I / ((I+P) + (R+NC+O) + (UH+UO))
    assert report.rates["RR1"] == pytest.approx(
        c.I / ((c.I + c.P) + (c.R + c.NC + c.O) + (c.UH + c.UO))
    )
    with session_factory() as session, pytest.raises(PermissionDenied):
        aapor_report(session, "c1", roles=frozenset({Role.AGENT}))


def Counter_of(codes: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for code in codes:
        out[code] = out.get(code, 0) + 1
    return dict(sorted(out.items()))


def _share(record: InterviewRecord) -> float:
    script = load_script(EXAMPLE.read_text(encoding="utf-8"))
    questions = [q.id for q in script.questions()]
    answers = json.loads(record.state_json)["answers"]
    return sum(1 for q in questions if q in answers) / len(questions)


@pytest.mark.parametrize("fmt", ["csv", "sav", "sss"])
def test_export_from_storage(
    fmt: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    stored = _seed(session_factory)
    out = tmp_path / f"results.{fmt}"

    def supplier(contact_ref: str) -> dict[str, str]:
        # The vault would supply more than was approved: only "segment" may leave.
        return {"segment": f"seg-{contact_ref}", "phone": "+441614960123"}

    with session_factory() as session:
        summary = export_campaign(
            session,
            "c1",
            roles=MANAGER,
            fmt=fmt,  # type: ignore[arg-type]
            out=out,
            export_fields=["segment"],
            field_values=supplier,
        )
    assert summary.rows == 36 and summary.version_id == "v1"
    blob = b"".join(p.read_bytes() for p in summary.paths)
    assert b"4960123" not in blob and b"ref0" in blob  # seg-ref0 is the approved field
    expected_ids = [r.respondent_id for r in stored if not r.training]
    if fmt == "csv":
        with out.open(encoding="utf-8", newline="") as handle:
            ids = [row["respid"] for row in csv.DictReader(handle)]
    elif fmt == "sav":
        frame, _ = pyreadstat.read_sav(str(out))
        ids = list(frame["respid"])
    else:
        ids = [line[:40].rstrip() for line in out.with_suffix(".asc").read_text().splitlines()]
    assert ids == expected_ids
    with session_factory() as session, pytest.raises(PermissionDenied):
        export_campaign(session, "c1", roles=frozenset({Role.AGENT}), fmt="csv", out=out)


def test_cli_report_and_export(
    tmp_path: Path,
    db_url: str,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from gatehouse.cli.main import app

    _seed(session_factory)
    with session_factory.begin() as session:
        manager = create_user(
            session, username="mgr", password="a long passphrase", roles={Role.CAMPAIGN_MANAGER}
        )
        create_user(session, username="agent7", password="a long passphrase", roles={Role.AGENT})
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", db_url)
    runner = CliRunner()
    result = runner.invoke(app, ["report", "aapor", "c1", "--as", "mgr"])
    assert result.exit_code == 0, result.output
    assert "RR1" in result.output and "COOP4" in result.output and "3.11" in result.output
    out = tmp_path / "r.sav"
    result = runner.invoke(
        app, ["export", "c1", "--format", "sav", "--out", str(out), "--as", "mgr"]
    )
    assert result.exit_code == 0, result.output
    frame, _ = pyreadstat.read_sav(str(out))
    assert len(frame) == 36
    with session_factory() as s:
        exports = [e for e in iter_entries(s) if e.action == "results.export"]
    assert [(e.actor, e.target, e.details["format"], e.details["rows"]) for e in exports] == [
        (manager.id, "campaign:c1", "sav", 36)
    ]
    for who in ("agent7", "nobody"):  # an agent's stored roles, then no such user
        refused = runner.invoke(
            app, ["export", "c1", "--format", "csv", "--out", str(tmp_path / "x.csv"), "--as", who]
        )
        assert refused.exit_code == 3, refused.output
        assert runner.invoke(app, ["report", "aapor", "c1", "--as", who]).exit_code == 3
    assert not (tmp_path / "x.csv").exists()
    with session_factory() as s:
        refusals = [(e.action, e.details.get("as")) for e in iter_entries(s)]
    assert ("cli.refused", "nobody") in refusals
    missing = runner.invoke(app, ["report", "aapor", "nope", "--as", "mgr"])
    assert missing.exit_code == 2
