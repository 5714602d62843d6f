"""A real bridged SIP call is recorded, the engine reports the sealed file, the catalogue
registers it, and an investigator opens it through the audited service: both voices."""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.storage.audit import iter_entries
from gatehouse.domain.permissions import Role
from gatehouse.services import recordings as svc
from gatehouse.telephony.port import CallEvent, CallEventKind, DialRequest
from gatehouse.telephony.sip.engine import RecordingFinished, SipEngine, SipEngineConfig
from tests.integration.sip.conftest import Peer
from tests.integration.sip.test_sip_engine import _next

pytestmark = [pytest.mark.sip, pytest.mark.timeout(120)]


def test_a_recorded_bridged_call_is_registered_and_opened_with_an_audited_reason(
    pstn_peer: Peer, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    keyring = KeyRing(bytes(range(32)))
    config = SipEngineConfig(
        trunk=pstn_peer.listen,
        recordings_dir=tmp_path / "recordings",
        tenant="hmp-northfield",
        agent_phones={"1": f"sip:agent-1@{pstn_peer.listen}"},
    )
    engine = SipEngine(
        config, resolver=lambda ref: ref, keys=svc.engine_key_provider(session_factory, keyring)
    )
    reported: list[RecordingFinished] = []
    register = svc.registrar(session_factory)

    def on_finished(finished: RecordingFinished) -> None:
        reported.append(finished)
        register(finished)

    engine.on_recording_finished(on_finished)

    async def main() -> None:
        events: asyncio.Queue[CallEvent] = asyncio.Queue()
        engine.subscribe(events.put_nowait)
        await engine.start()
        try:
            leg = await engine.open_agent_leg("1")
            await _next(events, CallEventKind.ANSWERED, leg)
            call_id = await engine.place_call(
                DialRequest(
                    attempt_id="att-cat-1",
                    campaign_id="northfield-2024",
                    contact_ref="+441614960101",
                    caller_id="+441614960000",
                    ring_timeout_s=20.0,
                )
            )
            await _next(events, CallEventKind.ANSWERED, call_id)
            await engine.start_recording(call_id, "att-cat-1")
            await engine.bridge(call_id, leg)
            await asyncio.sleep(5)
            await engine.stop_recording(call_id)
            deadline = asyncio.get_running_loop().time() + 10
            while not reported and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            await engine.hangup(call_id)
            await _next(events, CallEventKind.HUNG_UP, call_id)
            await engine.close_agent_leg(leg)
        finally:
            await engine.close()

    asyncio.run(main())
    assert [f.recording_id for f in reported] == ["att-cat-1"]
    finished = reported[0]
    assert finished.attempt_id == "att-cat-1" and finished.campaign_id == "northfield-2024"
    assert 4.0 <= finished.duration_s <= 7.0
    with session_factory() as session:
        (entry,) = svc.list_recordings(session, frozenset({Role.INVESTIGATOR}))
    assert entry.recording_id == "att-cat-1" and entry.sha256 == finished.sha256
    assert entry.size_bytes == (tmp_path / "recordings" / "att-cat-1.ghrec").stat().st_size

    audio = svc.open_recording(
        session_factory,
        keyring,
        "u-investigator",
        frozenset({Role.INVESTIGATOR}),
        "att-cat-1",
        "investigation INV-12: review of the call",
        purpose=svc.AccessPurpose.EXPORT,
    )
    with wave.open(io.BytesIO(audio.wav)) as wav:
        frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    callee, agent_side = frames[:, 0].astype(float), frames[:, 1].astype(float)
    assert np.sqrt(np.mean(callee**2)) > 200, "the callee's voice is in the recording"
    assert np.sqrt(np.mean(agent_side**2)) > 200, "the agent's voice is in the recording"
    assert audio.duration_s == pytest.approx(finished.duration_s, abs=0.05)
    with session_factory() as session:
        last = list(iter_entries(session))[-1]
    assert (last.action, last.target) == ("recording.export", "att-cat-1")
    assert last.details["reason"] == "investigation INV-12: review of the call"
