"""Shared setup for recordings tests: a key ring, a real encrypted recording, users."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.crypto.recording import RecordingWriter
from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.recordings import RecordingEntry
from gatehouse.domain.permissions import Role
from gatehouse.services import accounts
from gatehouse.services import recordings as svc

RATE = 8000
TENANT = "hmp-northfield"
PASSWORD = "correct horse battery staple"


def tone(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (8000 * np.sin(2 * np.pi * freq * t)).astype("<i2")


def stereo_pcm(seconds: float = 2.5) -> bytes:
    """Left 440 Hz (the far end), right 1 kHz (the agent): two voices we can tell apart."""
    return np.column_stack([tone(440, seconds), tone(1000, seconds)]).astype("<i2").tobytes()


def write_and_register(
    factory: sessionmaker[Session],
    keyring: KeyRing,
    directory: Path,
    recording_id: str = "rec-0001",
    pcm: bytes | None = None,
    *,
    chunk_ms: int = 500,
) -> tuple[RecordingEntry, bytes]:
    """Record with the real writer under the tenant's key, then register the file."""
    pcm = stereo_pcm() if pcm is None else pcm
    path = directory / f"{recording_id}.ghrec"
    with transaction(factory) as session:
        wrapper = svc.recording_wrapper(session, keyring, TENANT)
    started = time.time() - 10
    with RecordingWriter(
        path, recording_id=recording_id, tenant=TENANT, wrapper=wrapper, chunk_ms=chunk_ms
    ) as writer:
        for i in range(0, len(pcm), 640):
            writer.write(pcm[i : i + 640])
    size, sha = svc.file_facts(path)
    with transaction(factory) as session:
        entry = svc.register_recording(
            session,
            recording_id=recording_id,
            tenant=TENANT,
            path=path,
            started_at=started,
            ended_at=started + len(pcm) / (RATE * 4),
            duration_s=len(pcm) / (RATE * 4),
            campaign_id="northfield-2024",
            attempt_id="att-1",
            call_id="sip-abc",
            size_bytes=size,
            sha256=sha,
        )
    return entry, pcm


def add_user(factory: sessionmaker[Session], username: str, role: Role) -> str:
    with transaction(factory) as session:
        account = accounts.create_user(
            session,
            username=username,
            password=PASSWORD,
            roles={role},
            display_name=username.title(),
            actor="test",
        )
    return account.id
