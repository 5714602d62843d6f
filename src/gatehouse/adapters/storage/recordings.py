"""Recordings catalogue repository: register a recording file, find it, list them.

Every function works inside the caller's session (the service decides the transaction).
Rows are returned as frozen :class:`RecordingEntry` values, never as live ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gatehouse.adapters.storage.tables.recordings import KINDS, RecordingRow
from gatehouse.domain.errors import Conflict, NotFound, ValidationFailed


@dataclass(frozen=True, slots=True)
class RecordingEntry:
    recording_id: str
    tenant: str
    campaign_id: str | None
    attempt_id: str | None
    call_id: str | None
    kind: str
    path: str
    started_at: float
    ended_at: float
    duration_s: float
    size_bytes: int
    sha256: str
    created_at: float


def _entry(row: RecordingRow) -> RecordingEntry:
    return RecordingEntry(
        recording_id=row.recording_id,
        tenant=row.tenant,
        campaign_id=row.campaign_id,
        attempt_id=row.attempt_id,
        call_id=row.call_id,
        kind=row.kind,
        path=row.path,
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_s=row.duration_s,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        created_at=row.created_at,
    )


def add(session: Session, entry: RecordingEntry) -> RecordingEntry:
    """Insert a catalogue row; a recording id is registered once (a second is a conflict)."""
    if entry.kind not in KINDS:
        raise ValidationFailed(f"recording kind must be one of {', '.join(KINDS)}")
    if session.get(RecordingRow, entry.recording_id) is not None:
        raise Conflict(f"recording {entry.recording_id} is already registered")
    session.add(
        RecordingRow(
            recording_id=entry.recording_id,
            tenant=entry.tenant,
            campaign_id=entry.campaign_id,
            attempt_id=entry.attempt_id,
            call_id=entry.call_id,
            kind=entry.kind,
            path=entry.path,
            started_at=entry.started_at,
            ended_at=entry.ended_at,
            duration_s=entry.duration_s,
            size_bytes=entry.size_bytes,
            sha256=entry.sha256,
            created_at=entry.created_at,
        )
    )
    session.flush()
    return entry


def get(session: Session, recording_id: str) -> RecordingEntry:
    row = session.get(RecordingRow, recording_id)
    if row is None:
        raise NotFound(f"no recording {recording_id}")
    return _entry(row)


def find(
    session: Session,
    *,
    recording_id: str | None = None,
    tenant: str | None = None,
    campaign_id: str | None = None,
    attempt_id: str | None = None,
    since: float | None = None,
    until: float | None = None,
    limit: int = 100,
) -> list[RecordingEntry]:
    """Newest first, filtered by whichever criteria are given."""
    stmt = select(RecordingRow)
    if recording_id is not None:
        stmt = stmt.where(RecordingRow.recording_id == recording_id)
    if tenant is not None:
        stmt = stmt.where(RecordingRow.tenant == tenant)
    if campaign_id is not None:
        stmt = stmt.where(RecordingRow.campaign_id == campaign_id)
    if attempt_id is not None:
        stmt = stmt.where(RecordingRow.attempt_id == attempt_id)
    if since is not None:
        stmt = stmt.where(RecordingRow.started_at >= since)
    if until is not None:
        stmt = stmt.where(RecordingRow.started_at < until)
    stmt = stmt.order_by(RecordingRow.started_at.desc(), RecordingRow.recording_id).limit(limit)
    return [_entry(row) for row in session.scalars(stmt)]
