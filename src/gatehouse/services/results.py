"""Results use cases (C8): AAPOR dispositions and rates per campaign, and data exports.

* :func:`aapor_report`: one final disposition per contact from every attempt outcome the
  dialler recorded (``dialler_attempts``) and every interview outcome (``interviews``);
  contacts loaded but never dialled count as 3.11 "not attempted" (AAPOR counts undrawn
  sample; queXS does not). A break-off becomes a 1.2 partial when at least half the
  script's questions were answered. Rates use ``domain.aapor.outcome_rates``.
* :func:`export_campaign`: the campaign's non-training interviews, through one
  ``adapters.exports`` layout, to CSV, ``.sav`` or Triple-S. Rows carry the interview's
  pseudonymous respondent id; client fields appear only if named in ``export_fields`` (the
  campaign's approved list) and supplied by ``field_values`` (the vault's export view).

Both are read-only. The caller's roles are checked against the permission table.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gatehouse.adapters.exports import ExportRow, build_layout, write_csv, write_sav, write_triple_s
from gatehouse.adapters.storage.tables.dialler import DialAttempt, DialContact
from gatehouse.adapters.storage.tables.scripts import InterviewRecord, ScriptVersionRecord
from gatehouse.domain import aapor
from gatehouse.domain.errors import NotFound, ValidationFailed
from gatehouse.domain.permissions import Action, Role, require
from gatehouse.domain.scripts.model import Script, load_script

ExportFormat = Literal["csv", "sav", "sss"]
FieldValues = Callable[[str], Mapping[str, str]]  # contact_ref -> approved export fields

# The dialler's attempt vocabulary (domain.dialler.config.CallOutcome) where it differs from
# domain.aapor's: the dialler's "partial" is a break-off (we decide partial by answers).
_ALIASES = {
    "opt_out": "refused",
    "not_eligible": "screened_out",
    "network_failure": "failed",
    "partial": "break_off",
}


@dataclass(frozen=True, slots=True)
class AaporReport:
    campaign_id: str
    contacts: int
    dispositions: Mapping[str, int]  # AAPOR code -> contacts
    counts: aapor.Counts
    rates: aapor.Rates


def aapor_report(
    session: Session,
    campaign_id: str,
    *,
    roles: frozenset[Role],
    e: float | None = None,
) -> AaporReport:
    require(roles, Action.REPORT_VIEW)
    outcomes: dict[str, list[str]] = {}
    for contact_ref in session.scalars(
        select(DialContact.contact_ref).where(DialContact.campaign_id == campaign_id)
    ):
        outcomes.setdefault(contact_ref, [])  # a loaded contact counts even if never dialled
    for contact_ref, outcome in session.execute(
        select(DialAttempt.contact_ref, DialAttempt.outcome).where(
            DialAttempt.campaign_id == campaign_id, DialAttempt.outcome.is_not(None)
        )
    ):
        if outcome is not None:
            outcomes.setdefault(contact_ref, []).append(_ALIASES.get(outcome, outcome))
    answered: dict[str, float] = {}
    scripts: dict[str, Script] = {}
    for record in _interviews(session, campaign_id):
        if record.outcome is not None:
            outcomes.setdefault(record.contact_ref, []).append(record.outcome)
        script = _script(session, record.version_id, scripts)
        share = _answered_share(script, json.loads(record.state_json))
        answered[record.contact_ref] = max(answered.get(record.contact_ref, 0.0), share)
    if not outcomes:
        raise NotFound(f"campaign {campaign_id!r} has no contacts or interviews")
    finals = [
        aapor.final_disposition(
            found or ["not_attempted"],
            answered_share=answered.get(ref, 0.0),
        )
        for ref, found in outcomes.items()
    ]
    counts = aapor.Counts.from_dispositions(finals)
    tally = Counter(d.value for d in finals)
    return AaporReport(
        campaign_id,
        len(finals),
        dict(sorted(tally.items())),
        counts,
        aapor.outcome_rates(counts, e),
    )


def _answered_share(script: Script, state: Mapping[str, Any]) -> float:
    questions = [q.id for q in script.questions()]
    answers = state.get("answers", {})
    return sum(1 for q in questions if q in answers) / len(questions) if questions else 0.0


@dataclass(frozen=True, slots=True)
class ExportSummary:
    format: str
    rows: int
    columns: int
    paths: tuple[Path, ...]
    version_id: str


def export_campaign(
    session: Session,
    campaign_id: str,
    *,
    roles: frozenset[Role],
    fmt: ExportFormat,
    out: Path,
    export_fields: Sequence[str] = (),
    field_values: FieldValues | None = None,
    labels: bool = False,
    version_id: str | None = None,
) -> ExportSummary:
    """Write the campaign's results; ``out`` is the file (Triple-S: the ``.sss``, data beside)."""
    require(roles, Action.RESULTS_EXPORT)
    records = list(_interviews(session, campaign_id))
    if version_id is not None:
        records = [r for r in records if r.version_id == version_id]
    if not records:
        raise NotFound(f"campaign {campaign_id!r} has no interviews to export")
    versions = sorted({r.version_id for r in records})
    scripts: dict[str, Script] = {}
    layouts = {v: build_layout(_script(session, v, scripts), export_fields) for v in versions}
    # Interviews on different versions go in one file only if the columns are identical.
    newest = max(versions, key=lambda v: _version_number(session, v))
    names = layouts[newest].names
    mismatched = [v for v in versions if layouts[v].names != names]
    if mismatched:
        raise ValidationFailed(
            "interviews ran on script versions with different questions; export one version "
            "at a time (--version)",
            versions=versions,
        )
    layout = layouts[newest]
    rows = (
        ExportRow(
            record.respondent_id,
            record.outcome or "break_off",
            json.loads(record.state_json).get("answers", {}),
            _approved(field_values(record.contact_ref), export_fields) if field_values else {},
        )
        for record in records
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        count = write_csv(out, layout, rows, labels=labels)
        paths: tuple[Path, ...] = (out,)
    elif fmt == "sav":
        count = write_sav(out, layout, rows)
        paths = (out,)
    elif fmt == "sss":
        data = out.with_suffix(".asc")
        count = write_triple_s(out, data, layout, rows)
        paths = (out, data)
    else:
        raise ValidationFailed(f"unknown export format {fmt!r} (csv, sav or sss)")
    return ExportSummary(fmt, count, len(layout.columns), paths, newest)


def _approved(values: Mapping[str, str], export_fields: Sequence[str]) -> dict[str, str]:
    # Whatever the supplier returns, only the approved names leave the system.
    return {name: str(values[name]) for name in export_fields if name in values}


def _interviews(session: Session, campaign_id: str) -> Sequence[InterviewRecord]:
    return session.scalars(
        select(InterviewRecord)
        .where(InterviewRecord.campaign_id == campaign_id)
        .where(InterviewRecord.training.is_(False))
        .order_by(InterviewRecord.started_at, InterviewRecord.id)
    ).all()


def _script(session: Session, version_id: str, cache: dict[str, Script]) -> Script:
    if version_id not in cache:
        version = session.get(ScriptVersionRecord, version_id)
        if version is None:
            raise NotFound(f"no script version {version_id}")
        cache[version_id] = load_script(version.source)
    return cache[version_id]


def _version_number(session: Session, version_id: str) -> int:
    version = session.get(ScriptVersionRecord, version_id)
    return version.number if version is not None else 0
