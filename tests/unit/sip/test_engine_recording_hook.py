"""The SIP engine reports each sealed recording (path, duration, size, SHA-256, ids) so the
catalogue can register it; the writer hashes what it writes, so the report is exact."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

from gatehouse.adapters.crypto.recording import AesGcmKeyWrapper, RecordingWriter
from gatehouse.telephony.port import DialRequest
from gatehouse.telephony.sip.engine import RecordingFinished, SipEngine, SipEngineConfig


class _Captured(SipEngine):
    def __init__(self, recordings_dir: Path) -> None:
        super().__init__(
            SipEngineConfig(trunk="127.0.0.1:9", recordings_dir=recordings_dir, tenant="t1"),
            lambda ref: ref,
            lambda _t: (bytes(32), "t1/v1"),
            clock_now=lambda: 1000.0,
        )
        self.sent: list[dict[str, Any]] = []

    async def _send(self, command: dict[str, Any]) -> None:
        self.sent.append(command)


def test_writer_reports_the_size_and_hash_of_the_file_it_wrote(tmp_path: Path) -> None:
    path = tmp_path / "r.ghrec"
    with RecordingWriter(
        path, recording_id="r", tenant="t1", wrapper=AesGcmKeyWrapper(bytes(32), "k")
    ) as writer:
        writer.write(bytes(8000 * 4 * 3 // 2))  # 1.5 s of stereo s16 at 8 kHz
    data = path.read_bytes()
    assert writer.size_bytes == len(data)
    assert writer.sha256 == hashlib.sha256(data).hexdigest()
    assert writer.duration_s == 1.5


def test_engine_reports_a_sealed_recording_with_its_call_ids(tmp_path: Path) -> None:
    finished: list[RecordingFinished] = []

    async def main() -> _Captured:
        engine = _Captured(tmp_path)
        engine.on_recording_finished(finished.append)
        call_id = await engine.place_call(
            DialRequest(
                attempt_id="att-9",
                campaign_id="camp-1",
                contact_ref="+441614960101",
                caller_id="+441614960000",
            )
        )
        await engine.start_recording(call_id, "att-9")
        record = next(c for c in engine.sent if c["op"] == "record")
        assert record["path"] == str(tmp_path / "att-9.ghrec")
        # What the media worker prints once it has closed and fsynced the file:
        engine._on_worker_event(
            {
                "ev": "recording_closed",
                "call": call_id,
                "recording_id": "att-9",
                "path": record["path"],
                "size_bytes": 4321,
                "sha256": "ab" * 32,
                "duration_s": 12.5,
            }
        )
        # A report for a recording the engine did not start is ignored.
        engine._on_worker_event(
            {"ev": "recording_closed", "call": "sip-other", "recording_id": "x", "path": "/x"}
        )
        return engine

    engine = asyncio.run(main())
    assert finished == [
        RecordingFinished(
            recording_id="att-9",
            tenant="t1",
            path=tmp_path / "att-9.ghrec",
            started_at=1000.0,
            ended_at=1000.0,
            duration_s=12.5,
            size_bytes=4321,
            sha256="ab" * 32,
            call_id=engine._by_attempt["att-9"],
            attempt_id="att-9",
            campaign_id="camp-1",
        )
    ]


def test_a_failing_listener_does_not_stop_the_engine(tmp_path: Path) -> None:
    seen: list[str] = []

    def broken(_finished: RecordingFinished) -> None:
        raise RuntimeError("database down")

    async def main() -> None:
        engine = _Captured(tmp_path)
        engine.on_recording_finished(broken)
        engine.on_recording_finished(lambda f: seen.append(f.recording_id))
        call_id = await engine.place_call(
            DialRequest(attempt_id="a1", campaign_id="c", contact_ref="1", caller_id="2")
        )
        await engine.start_recording(call_id, "a1")
        engine._on_worker_event(
            {
                "ev": "recording_closed",
                "call": call_id,
                "recording_id": "a1",
                "path": str(tmp_path / "a1.ghrec"),
                "size_bytes": 1,
                "sha256": "00" * 32,
                "duration_s": 0.0,
            }
        )

    asyncio.run(main())
    assert seen == ["a1"]
