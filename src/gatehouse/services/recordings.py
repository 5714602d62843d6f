"""Recordings: register what the engines recorded, list them, and open one with a reason.

Invariant 3 ("recordings are encrypted at rest; every access is audited"):

- ``open_recording`` checks ``recording.access`` and a stated reason (``domain.recordings``),
  then commits an audit entry (``recording.play`` / ``recording.export``, the reason in its
  details) *before* a byte is decrypted. Only then is the file decrypted and authenticated,
  chunk by chunk, and compared with the SHA-256 in the catalogue.
- A refusal (no permission, no or too short a reason, no such recording) commits a
  ``recording.refused`` entry and then raises; a damaged or missing file commits a
  ``recording.access_failed`` entry naming the bad chunk and then raises. So this function
  manages its own transactions (it takes a session factory, not a session): a refusal must
  be on the record even though the request fails.
- A legally privileged call is never recorded (the engine refuses ``start_recording`` on it),
  so there is no file and no catalogue row: nothing here can open one.

The web page plays audio through an ``<audio>`` element, which can only GET; the GET carries
the sequence number of the audit entry the POST wrote, and ``granted_audio`` serves the
audio only to the same user, for the same recording, within ``GRANT_TTL_S`` of that entry.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.crypto.recording import (
    AesGcmKeyWrapper,
    RecordingDamaged,
    decrypt,
    read_header,
)
from gatehouse.adapters.storage import recordings as catalogue
from gatehouse.adapters.storage.audit import append_audit, recent
from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.recordings import RecordingEntry
from gatehouse.adapters.storage.tables.vault import TenantKey
from gatehouse.domain import recordings as rules
from gatehouse.domain.errors import GatehouseError, NotFound, PermissionDenied, ValidationFailed
from gatehouse.domain.permissions import Action, Role, require
from gatehouse.domain.recordings import AccessPurpose

__all__ = [
    "GRANT_TTL_S",
    "AccessPurpose",
    "FinishedRecording",
    "RecordingAudio",
    "RecordingEntry",
    "engine_key_provider",
    "file_facts",
    "granted_audio",
    "list_recordings",
    "open_recording",
    "record_refusal",
    "recording_wrapper",
    "register_finished",
    "register_recording",
    "registrar",
]

GRANT_TTL_S = 15 * 60
_READ = 1 << 20


@dataclass(frozen=True, slots=True)
class RecordingAudio:
    """A decrypted recording, handed out only after its access was audited."""

    recording: RecordingEntry
    wav: bytes
    duration_s: float
    complete: bool  # False: the writer was killed; audio up to the last whole chunk
    audit_seq: int  # the audit entry that records this access
    purpose: AccessPurpose


class FinishedRecording(Protocol):
    """What an engine reports when it has sealed a recording file (see ``SipEngine``)."""

    @property
    def recording_id(self) -> str: ...
    @property
    def tenant(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def started_at(self) -> float: ...
    @property
    def ended_at(self) -> float: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def campaign_id(self) -> str | None: ...
    @property
    def attempt_id(self) -> str | None: ...
    @property
    def call_id(self) -> str | None: ...


# ------------------------------------------------------------------------------- keys


def recording_wrapper(session: Session, keyring: KeyRing, tenant: str) -> AesGcmKeyWrapper:
    """The tenant's data key wraps each recording's own key (docs/decisions/0010)."""
    key = keyring.data_key(session, tenant)
    version = session.scalar(select(TenantKey.version).where(TenantKey.tenant == tenant))
    return AesGcmKeyWrapper(key, f"{tenant}/v{version}")


def engine_key_provider(
    factory: sessionmaker[Session], keyring: KeyRing
) -> Callable[[str], tuple[bytes, str]]:
    """``SipEngine``'s ``keys``: tenant -> (tenant data key, key id), from the key ring."""

    def provide(tenant: str) -> tuple[bytes, str]:
        with transaction(factory) as session:
            wrapper = recording_wrapper(session, keyring, tenant)
            return keyring.data_key(session, tenant), wrapper.key_id

    return provide


# --------------------------------------------------------------------------- register


def file_facts(path: Path) -> tuple[int, str]:
    """Size and SHA-256 (hex) of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while block := stream.read(_READ):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def register_recording(
    session: Session,
    *,
    recording_id: str,
    tenant: str,
    path: Path,
    started_at: float,
    ended_at: float,
    duration_s: float,
    kind: str = "dialler",
    campaign_id: str | None = None,
    attempt_id: str | None = None,
    call_id: str | None = None,
    size_bytes: int | None = None,
    sha256: str | None = None,
    now: float | None = None,
) -> RecordingEntry:
    """Catalogue a sealed recording file (in the caller's transaction).

    The file must exist, be a Gatehouse recording of this id and tenant, and, when the
    engine reported its size and SHA-256, still match them (else: a clear error, no row).
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise NotFound(f"recording file {path} does not exist")
    with path.open("rb") as stream:
        header, _digest = read_header(stream)
    if header.recording_id != recording_id or header.tenant != tenant:
        raise ValidationFailed(
            f"{path} holds recording {header.recording_id!r} of tenant {header.tenant!r}, "
            f"not {recording_id!r} of {tenant!r}"
        )
    actual_size, actual_sha = file_facts(path)
    if size_bytes is not None and size_bytes != actual_size:
        raise ValidationFailed(
            f"{path} is {actual_size} bytes, the engine reported {size_bytes}: changed since"
        )
    if sha256 is not None and sha256.lower() != actual_sha:
        raise ValidationFailed(f"{path} does not hash to what the engine reported: changed since")
    if ended_at < started_at or duration_s < 0:
        raise ValidationFailed("a recording cannot end before it starts")
    return catalogue.add(
        session,
        RecordingEntry(
            recording_id=recording_id,
            tenant=tenant,
            campaign_id=campaign_id,
            attempt_id=attempt_id,
            call_id=call_id,
            kind=kind,
            path=str(path),
            started_at=started_at,
            ended_at=ended_at,
            duration_s=duration_s,
            size_bytes=actual_size,
            sha256=actual_sha,
            created_at=time.time() if now is None else now,
        ),
    )


def register_finished(session: Session, finished: FinishedRecording) -> RecordingEntry:
    """Register what an engine reported when it sealed a recording."""
    return register_recording(
        session,
        recording_id=finished.recording_id,
        tenant=finished.tenant,
        path=finished.path,
        started_at=finished.started_at,
        ended_at=finished.ended_at,
        duration_s=finished.duration_s,
        kind=finished.kind,
        campaign_id=finished.campaign_id,
        attempt_id=finished.attempt_id,
        call_id=finished.call_id,
        size_bytes=finished.size_bytes,
        sha256=finished.sha256,
    )


def registrar(factory: sessionmaker[Session]) -> Callable[[FinishedRecording], RecordingEntry]:
    """A listener for ``SipEngine.on_recording_finished``: registers each sealed recording
    in its own transaction (``engine.on_recording_finished(registrar(factory))``)."""

    def register(finished: FinishedRecording) -> RecordingEntry:
        with transaction(factory) as session:
            return register_finished(session, finished)

    return register


# ------------------------------------------------------------------------------- read


def list_recordings(
    session: Session,
    roles: frozenset[Role],
    *,
    recording_id: str | None = None,
    tenant: str | None = None,
    campaign_id: str | None = None,
    attempt_id: str | None = None,
    limit: int = 100,
) -> list[RecordingEntry]:
    """Catalogue rows (no audio), newest first; only for those who may open recordings."""
    require(roles, Action.RECORDING_ACCESS)
    return catalogue.find(
        session,
        recording_id=recording_id,
        tenant=tenant,
        campaign_id=campaign_id,
        attempt_id=attempt_id,
        limit=limit,
    )


def record_refusal(
    factory: sessionmaker[Session],
    actor: str,
    recording_id: str,
    purpose: AccessPurpose,
    reason: str | None,
    error: GatehouseError,
) -> None:
    """Commit a ``recording.refused`` entry (also used by the web guard's 403s)."""
    with transaction(factory) as session:
        append_audit(
            session,
            actor=actor,
            action=rules.REFUSED,
            target=recording_id,
            details={
                "purpose": purpose.value,
                "reason": (reason or "")[: rules.MAX_REASON_CHARS],
                "refused": error.error_id,
                "message": error.message,
            },
        )


def _refuse(
    factory: sessionmaker[Session],
    actor: str,
    recording_id: str,
    purpose: AccessPurpose,
    reason: str | None,
    error: GatehouseError,
) -> NoReturn:
    record_refusal(factory, actor, recording_id, purpose, reason, error)
    raise error


def _failed(
    factory: sessionmaker[Session],
    actor: str,
    entry: RecordingEntry,
    purpose: AccessPurpose,
    reason: str,
    error: GatehouseError,
) -> NoReturn:
    details: dict[str, object] = {
        "purpose": purpose.value,
        "reason": reason,
        "error": error.error_id,
        "message": error.message,
    }
    if "chunk" in error.details:
        details["chunk"] = error.details["chunk"]
    with transaction(factory) as session:
        append_audit(
            session,
            actor=actor,
            action=rules.FAILED,
            target=entry.recording_id,
            details=details,
        )
    raise error


def _decrypt(
    factory: sessionmaker[Session],
    keyring: KeyRing,
    actor: str,
    entry: RecordingEntry,
    purpose: AccessPurpose,
    reason: str,
    audit_seq: int,
) -> RecordingAudio:
    with transaction(factory) as session:
        wrapper = recording_wrapper(session, keyring, entry.tenant)
    path = Path(entry.path)
    try:
        decrypted = decrypt(path, wrapper)
        _size, sha = file_facts(path)
        if sha != entry.sha256:
            raise RecordingDamaged(
                "the file does not match the catalogue (SHA-256 differs): "
                "it was changed after it was registered"
            )
    except RecordingDamaged as exc:
        named = RecordingDamaged(f"recording {entry.recording_id}: {exc.message}", **exc.details)
        _failed(factory, actor, entry, purpose, reason, named)
    except FileNotFoundError:
        _failed(
            factory,
            actor,
            entry,
            purpose,
            reason,
            NotFound(f"the file of recording {entry.recording_id} is missing ({path})"),
        )
    header = decrypted.header
    frame = header.sample_rate * header.channels * 2
    return RecordingAudio(
        recording=entry,
        wav=decrypted.wav_bytes(),
        duration_s=len(decrypted.pcm) / frame if frame else 0.0,
        complete=decrypted.complete,
        audit_seq=audit_seq,
        purpose=purpose,
    )


def open_recording(
    factory: sessionmaker[Session],
    keyring: KeyRing,
    actor: str,
    roles: frozenset[Role],
    recording_id: str,
    reason: str | None,
    *,
    purpose: AccessPurpose = AccessPurpose.PLAY,
    via: str = "",
) -> RecordingAudio:
    """Audit, then decrypt: the WAV of one recording for ``actor`` who stated ``reason``.

    ``via`` (``cli`` / ``web``) is recorded in the audit entry's details.
    """
    try:
        clean = rules.check_access(roles, reason)
    except (PermissionDenied, ValidationFailed) as exc:
        _refuse(factory, actor, recording_id, purpose, reason, exc)
    with transaction(factory) as session:
        try:
            entry = catalogue.get(session, recording_id)
        except NotFound as exc:
            missing: NotFound | None = exc
        else:
            missing = None
            audit = append_audit(
                session,
                actor=actor,
                action=rules.audit_action(purpose),
                target=recording_id,
                details={
                    "reason": clean,
                    "purpose": purpose.value,
                    "roles": sorted(r.value for r in roles),
                    "sha256": entry.sha256,
                    "via": via,
                },
            )
    if missing is not None:
        _refuse(factory, actor, recording_id, purpose, clean, missing)
    # The access is committed to the audit log; only now is any audio decrypted.
    return _decrypt(factory, keyring, actor, entry, purpose, clean, audit.seq)


def granted_audio(
    factory: sessionmaker[Session],
    keyring: KeyRing,
    actor: str,
    roles: frozenset[Role],
    recording_id: str,
    audit_seq: int,
    *,
    now: float | None = None,
) -> RecordingAudio:
    """Serve audio again under an access already audited by ``open_recording`` (the web
    page's ``<audio>`` GET): same actor, same recording, a ``recording.play`` entry no older
    than ``GRANT_TTL_S``. Anything else is refused, and the refusal audited."""
    try:
        require(roles, Action.RECORDING_ACCESS)
    except PermissionDenied as exc:
        _refuse(factory, actor, recording_id, AccessPurpose.PLAY, None, exc)
    with transaction(factory) as session:
        found = recent(session, before=audit_seq + 1, limit=1)
        entry = found[0] if found else None
        rows = catalogue.find(session, limit=1, recording_id=recording_id)
        record = rows[0] if rows else None
    at = datetime.fromisoformat(entry.at).timestamp() if entry is not None else 0.0
    clock = time.time() if now is None else now
    if (
        entry is None
        or record is None
        or entry.seq != audit_seq
        or entry.action != rules.audit_action(AccessPurpose.PLAY)
        or entry.target != recording_id
        or entry.actor != actor
        or not (0 <= clock - at <= GRANT_TTL_S)
    ):
        _refuse(
            factory,
            actor,
            recording_id,
            AccessPurpose.PLAY,
            None,
            PermissionDenied(
                "this playback was not granted to you or has expired: open the recording "
                "again and state your reason",
                grant=audit_seq,
            ),
        )
    reason = str(entry.details.get("reason", ""))
    return _decrypt(factory, keyring, actor, record, AccessPurpose.PLAY, reason, audit_seq)
