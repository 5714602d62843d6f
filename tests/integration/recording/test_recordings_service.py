"""Invariant 3 on the database: every access to a recording is audited, with its reason,
before any audio leaves; refusals and damaged files are audited too."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.crypto.recording import RecordingDamaged, read_header
from gatehouse.adapters.storage.audit import iter_entries, verify_chain
from gatehouse.adapters.storage.db import transaction
from gatehouse.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gatehouse.domain.permissions import Role
from gatehouse.services import recordings as svc
from gatehouse.services.recordings import AccessPurpose
from tests.integration.recording.helpers import RATE, TENANT, write_and_register

OFFICER = frozenset({Role.SECURITY_OFFICER})
REASON = "complaint C-2291: caller says the agent was rude"


@pytest.fixture
def keyring() -> KeyRing:
    return KeyRing(bytes(range(32)))


def _entries(factory: sessionmaker[Session]) -> list[tuple[str, str, str, dict[str, object]]]:
    with factory() as session:
        return [(e.actor, e.action, e.target, e.details) for e in iter_entries(session)]


def _chain_ok(factory: sessionmaker[Session]) -> bool:
    with factory() as session:
        return verify_chain(session).ok


def _decode(wav_bytes: bytes) -> tuple[int, int, np.ndarray]:
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
        return wav.getnchannels(), wav.getframerate(), frames.reshape(-1, wav.getnchannels())


def _peak_hz(signal: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(signal.astype(float)))
    return float(np.fft.rfftfreq(len(signal), 1 / RATE)[spectrum.argmax()])


def test_the_catalogue_table_exists_with_its_columns(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        columns = {c["name"] for c in inspect(session.get_bind()).get_columns("recordings")}
    assert columns == {
        "recording_id",
        "tenant",
        "campaign_id",
        "attempt_id",
        "call_id",
        "kind",
        "path",
        "started_at",
        "ended_at",
        "duration_s",
        "bytes",
        "sha256",
        "created_at",
    }


def test_register_then_export_decodes_and_audits_the_reason_first(
    session_factory: sessionmaker[Session], keyring: KeyRing, tmp_path: Path
) -> None:
    entry, pcm = write_and_register(session_factory, keyring, tmp_path)
    assert entry.size_bytes == (tmp_path / "rec-0001.ghrec").stat().st_size
    with session_factory() as session:
        listed = svc.list_recordings(session, OFFICER)
    assert [r.recording_id for r in listed] == ["rec-0001"]
    assert listed[0].campaign_id == "northfield-2024" and listed[0].kind == "dialler"

    audio = svc.open_recording(
        session_factory,
        keyring,
        "u-officer",
        OFFICER,
        "rec-0001",
        REASON,
        purpose=AccessPurpose.EXPORT,
    )
    channels, rate, frames = _decode(audio.wav)
    assert (channels, rate) == (2, RATE)
    assert frames.tobytes() == pcm
    assert abs(_peak_hz(frames[:, 0]) - 440) < 5 and abs(_peak_hz(frames[:, 1]) - 1000) < 5
    assert audio.complete and audio.duration_s == pytest.approx(2.5)

    last = _entries(session_factory)[-1]
    assert last[:3] == ("u-officer", "recording.export", "rec-0001")
    assert last[3]["reason"] == REASON and last[3]["sha256"] == entry.sha256
    with session_factory() as session:
        seqs = [e.seq for e in iter_entries(session)]
    assert audio.audit_seq == seqs[-1]
    assert _chain_ok(session_factory)


def test_the_audit_entry_is_committed_before_any_decryption(
    session_factory: sessionmaker[Session],
    keyring: KeyRing,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_and_register(session_factory, keyring, tmp_path)
    seen: list[list[str]] = []
    real = svc.decrypt

    def watching(path: Path, wrapper: object) -> object:
        # What another connection sees at the moment decryption starts.
        seen.append([action for _a, action, _t, _d in _entries(session_factory)])
        return real(path, wrapper)  # type: ignore[arg-type]

    monkeypatch.setattr(svc, "decrypt", watching)
    svc.open_recording(session_factory, keyring, "u-officer", OFFICER, "rec-0001", REASON)
    assert seen and seen[0][-1] == "recording.play"


@pytest.mark.parametrize("reason", ["", "   ", "because"])
def test_no_or_a_short_reason_is_refused_and_the_refusal_audited(
    session_factory: sessionmaker[Session], keyring: KeyRing, tmp_path: Path, reason: str
) -> None:
    write_and_register(session_factory, keyring, tmp_path)
    with pytest.raises(ValidationFailed, match="reason"):
        svc.open_recording(session_factory, keyring, "u-officer", OFFICER, "rec-0001", reason)
    actor, action, target, details = _entries(session_factory)[-1]
    assert (actor, action, target) == ("u-officer", "recording.refused", "rec-0001")
    assert details["refused"] == "validation-failed"
    assert not any(a == "recording.play" for _x, a, _t, _d in _entries(session_factory))


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN, Role.SUPERVISOR, Role.GOVERNOR])
def test_other_roles_are_refused_and_the_refusal_audited(
    session_factory: sessionmaker[Session], keyring: KeyRing, tmp_path: Path, role: Role
) -> None:
    write_and_register(session_factory, keyring, tmp_path)
    with pytest.raises(PermissionDenied):
        svc.open_recording(
            session_factory, keyring, "u-someone", frozenset({role}), "rec-0001", REASON
        )
    with pytest.raises(PermissionDenied), session_factory() as session:
        svc.list_recordings(session, frozenset({role}))
    actor, action, target, details = _entries(session_factory)[-1]
    assert (actor, action, target) == ("u-someone", "recording.refused", "rec-0001")
    assert details["refused"] == "permission-denied" and details["reason"] == REASON
    assert _chain_ok(session_factory)


def test_an_unknown_recording_is_refused_and_audited(
    session_factory: sessionmaker[Session], keyring: KeyRing
) -> None:
    with pytest.raises(NotFound, match="no recording rec-nope"):
        svc.open_recording(session_factory, keyring, "u-officer", OFFICER, "rec-nope", REASON)
    assert _entries(session_factory)[-1][1:3] == ("recording.refused", "rec-nope")


def test_a_tampered_chunk_is_named_and_the_failed_access_audited(
    session_factory: sessionmaker[Session], keyring: KeyRing, tmp_path: Path
) -> None:
    write_and_register(session_factory, keyring, tmp_path)
    path = tmp_path / "rec-0001.ghrec"
    with path.open("rb") as stream:
        read_header(stream)
        first_chunk = stream.tell()
    chunk_len = int.from_bytes(path.read_bytes()[first_chunk : first_chunk + 4], "big")
    target = first_chunk + 4 + chunk_len + 4 + 100  # a byte inside chunk 1
    data = bytearray(path.read_bytes())
    data[target] ^= 0x01
    path.write_bytes(bytes(data))

    with pytest.raises(RecordingDamaged, match="chunk 1 fails authentication"):
        svc.open_recording(
            session_factory,
            keyring,
            "u-investigator",
            frozenset({Role.INVESTIGATOR}),
            "rec-0001",
            REASON,
        )
    actions = [(a, d) for _x, a, _t, d in _entries(session_factory)]
    assert actions[-2][0] == "recording.play"  # the attempt was on the record first
    action, details = actions[-1]
    assert action == "recording.access_failed"
    assert details["chunk"] == 1 and details["error"] == "recording-damaged"
    assert details["reason"] == REASON
    assert _chain_ok(session_factory)


def test_a_replaced_file_is_caught_by_the_catalogue_hash(
    session_factory: sessionmaker[Session], keyring: KeyRing, tmp_path: Path
) -> None:
    """A file swapped for another valid recording of the same id (someone holding the tenant
    key) authenticates chunk by chunk, but not against the SHA-256 registered with it."""
    write_and_register(session_factory, keyring, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    from gatehouse.adapters.crypto.recording import RecordingWriter

    with transaction(session_factory) as session:
        wrapper = svc.recording_wrapper(session, keyring, TENANT)
    with RecordingWriter(
        other / "rec-0001.ghrec", recording_id="rec-0001", tenant=TENANT, wrapper=wrapper
    ) as writer:
        writer.write(bytes(8000))
    (other / "rec-0001.ghrec").replace(tmp_path / "rec-0001.ghrec")
    with pytest.raises(RecordingDamaged, match="SHA-256 differs"):
        svc.open_recording(session_factory, keyring, "u-officer", OFFICER, "rec-0001", REASON)
    assert _entries(session_factory)[-1][1] == "recording.access_failed"


def test_a_missing_file_is_a_clear_audited_error(
    session_factory: sessionmaker[Session], keyring: KeyRing, tmp_path: Path
) -> None:
    write_and_register(session_factory, keyring, tmp_path)
    (tmp_path / "rec-0001.ghrec").unlink()
    with pytest.raises(NotFound, match="file of recording rec-0001 is missing"):
        svc.open_recording(session_factory, keyring, "u-officer", OFFICER, "rec-0001", REASON)
    assert _entries(session_factory)[-1][1] == "recording.access_failed"


def test_registration_checks_the_file(
    session_factory: sessionmaker[Session], keyring: KeyRing, tmp_path: Path
) -> None:
    entry, _pcm = write_and_register(session_factory, keyring, tmp_path)
    path = Path(entry.path)
    common = {
        "tenant": TENANT,
        "path": path,
        "started_at": 1.0,
        "ended_at": 3.5,
        "duration_s": 2.5,
    }
    with transaction(session_factory) as session, pytest.raises(Conflict):
        svc.register_recording(session, recording_id="rec-0001", **common)  # type: ignore[arg-type]
    with transaction(session_factory) as session, pytest.raises(ValidationFailed, match="holds"):
        svc.register_recording(session, recording_id="rec-other", **common)  # type: ignore[arg-type]
    with transaction(session_factory) as session, pytest.raises(ValidationFailed, match="hash"):
        svc.register_recording(
            session,
            recording_id="rec-0001",
            sha256="0" * 64,
            **common,  # type: ignore[arg-type]
        )
    with transaction(session_factory) as session, pytest.raises(NotFound):
        svc.register_recording(
            session,
            recording_id="rec-x",
            tenant=TENANT,
            path=tmp_path / "absent.ghrec",
            started_at=1.0,
            ended_at=2.0,
            duration_s=1.0,
        )


def test_a_web_playback_grant_serves_only_its_user_recording_and_time(
    session_factory: sessionmaker[Session], keyring: KeyRing, tmp_path: Path
) -> None:
    write_and_register(session_factory, keyring, tmp_path)
    write_and_register(session_factory, keyring, tmp_path, "rec-0002")
    audio = svc.open_recording(session_factory, keyring, "u-officer", OFFICER, "rec-0001", REASON)
    again = svc.granted_audio(
        session_factory, keyring, "u-officer", OFFICER, "rec-0001", audio.audit_seq
    )
    assert again.wav == audio.wav
    refusals = [
        ("u-other", "rec-0001", audio.audit_seq, None),  # someone else's grant
        ("u-officer", "rec-0002", audio.audit_seq, None),  # another recording
        ("u-officer", "rec-0001", audio.audit_seq - 1, None),  # not a play entry
        ("u-officer", "rec-0001", audio.audit_seq, audio.recording.created_at + 10_000),
    ]
    for actor, recording_id, seq, now in refusals:
        with pytest.raises(PermissionDenied, match="not granted"):
            svc.granted_audio(session_factory, keyring, actor, OFFICER, recording_id, seq, now=now)
        assert _entries(session_factory)[-1][:3] == (actor, "recording.refused", recording_id)
    with pytest.raises(PermissionDenied):
        svc.granted_audio(
            session_factory,
            keyring,
            "u-officer",
            frozenset({Role.AGENT}),
            "rec-0001",
            audio.audit_seq,
        )
    assert _chain_ok(session_factory)
