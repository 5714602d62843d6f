"""``RecordingsPort`` over ``services.recordings`` (catalogue, audited open, playback grant)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.storage.db import transaction
from gatehouse.domain.errors import NotFound, PermissionDenied
from gatehouse.services import recordings as svc
from gatehouse.web.auth import WebPrincipal
from gatehouse.web.pages.recordings import OpenedRecording, RecordingView


def _view(entry: svc.RecordingEntry) -> RecordingView:
    return RecordingView(
        recording_id=entry.recording_id,
        kind=entry.kind,
        campaign=entry.campaign_id or "",
        attempt=entry.attempt_id or entry.call_id or "",
        started=datetime.fromtimestamp(entry.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        duration=f"{int(entry.duration_s // 60)}:{int(entry.duration_s % 60):02d}",
        size=f"{entry.size_bytes / 1024:,.0f} KiB",
        sha256=entry.sha256,
    )


class RecordingsServices:
    def __init__(self, factory: sessionmaker[Session], keyring: KeyRing) -> None:
        self._factory = factory
        self._keyring = keyring

    def list_recordings(self, actor: WebPrincipal) -> list[RecordingView]:
        with transaction(self._factory) as session:
            rows = svc.list_recordings(session, actor.roles, limit=200)
        return [_view(r) for r in rows]

    def recording(self, actor: WebPrincipal, recording_id: str) -> RecordingView:
        with transaction(self._factory) as session:
            rows = svc.list_recordings(session, actor.roles, recording_id=recording_id, limit=1)
        if not rows:
            raise NotFound(f"no recording {recording_id}")
        return _view(rows[0])

    def open(
        self, actor: WebPrincipal, recording_id: str, reason: str, purpose: str
    ) -> OpenedRecording:
        audio = svc.open_recording(
            self._factory,
            self._keyring,
            actor.user_id,
            actor.roles,
            recording_id,
            reason,
            purpose=svc.AccessPurpose(purpose),
            via="web",
        )
        return OpenedRecording(
            _view(audio.recording), audio.wav, audio.duration_s, audio.complete, audio.audit_seq
        )

    def refused(self, actor: WebPrincipal, target: str, purpose: str) -> None:
        svc.record_refusal(
            self._factory,
            actor.user_id,
            target,
            svc.AccessPurpose(purpose),
            None,
            PermissionDenied("not allowed: recording.access (web)"),
        )

    def granted(self, actor: WebPrincipal, recording_id: str, grant: int) -> bytes:
        audio = svc.granted_audio(
            self._factory, self._keyring, actor.user_id, actor.roles, recording_id, grant
        )
        return audio.wav
