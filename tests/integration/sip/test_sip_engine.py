"""The SIP engine against a real SIP peer on loopback (one baresip runtime per process)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gatehouse.adapters.crypto.recording import AesGcmKeyWrapper, decrypt
from gatehouse.telephony.port import CallEvent, CallEventKind, DialRequest
from gatehouse.telephony.sip.engine import SipEngine, SipEngineConfig
from tests.integration.sip.conftest import Peer

pytestmark = [pytest.mark.sip, pytest.mark.timeout(120)]
TENANT_KEY = bytes(range(32))


def _engine(peer: Peer, prompt: Path, tmp: Path) -> SipEngine:
    config = SipEngineConfig(
        trunk=peer.listen,
        prompts={"info": prompt},
        recordings_dir=tmp / "recordings",
        tenant="t1",
        agent_phones={"1": f"sip:agent-1@{peer.listen}"},
    )
    return SipEngine(config, resolver=lambda ref: ref, keys=lambda _t: (TENANT_KEY, "t1/v1"))


async def _next(
    queue: asyncio.Queue[CallEvent], kind: CallEventKind, call_id: str, timeout: float = 30
) -> CallEvent:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        event = await asyncio.wait_for(
            queue.get(), max(0.1, deadline - asyncio.get_running_loop().time())
        )
        if event.call_id == call_id and event.kind is kind:
            return event
        if (
            event.call_id == call_id
            and event.kind
            in (
                CallEventKind.FAILED,
                CallEventKind.BUSY,
                CallEventKind.NO_ANSWER,
                CallEventKind.HUNG_UP,
            )
            and kind is not event.kind
        ):
            raise AssertionError(f"expected {kind}, got {event}")


def _request(number: str, attempt: str, ring: float = 20.0) -> DialRequest:
    return DialRequest(
        attempt_id=attempt,
        campaign_id="c1",
        contact_ref=number,
        caller_id="+441614960000",
        ring_timeout_s=ring,
    )


def test_information_message_starts_within_two_seconds_of_the_answer(
    pstn_peer: Peer, info_prompt: Path, tmp_path: Path
) -> None:
    async def main() -> None:
        engine = _engine(pstn_peer, info_prompt, tmp_path)
        events: asyncio.Queue[CallEvent] = asyncio.Queue()
        engine.subscribe(events.put_nowait)
        await engine.start()
        try:
            call_id = await engine.place_call(_request("+441614960101", "a-info"))
            await _next(events, CallEventKind.ANSWERED, call_id)
            await engine.play_prompt(call_id, "info")  # no agent free: abandon with the message
            await _next(events, CallEventKind.PROMPT_FINISHED, call_id)
            await engine.hangup(call_id)
            await _next(events, CallEventKind.HUNG_UP, call_id)
        finally:
            await engine.close()

    asyncio.run(main())
    log = pstn_peer.events()
    call = next(
        e["call"] for e in log if e["event"] == "incoming" and e["number"] == "+441614960101"
    )
    answered = next(e["t"] for e in log if e["event"] == "answered" and e["call"] == call)
    heard = pstn_peer.wait_for("first_audio")
    first = next(e["t"] for e in heard if e["call"] == call)
    latency = float(first) - float(answered)  # type: ignore[arg-type]
    assert 0 <= latency <= 2.0, latency
    print(f"answer -> information message at the far end: {latency * 1000:.0f} ms")


def test_busy_and_ring_timeout(pstn_peer: Peer, info_prompt: Path, tmp_path: Path) -> None:
    async def main() -> tuple[CallEvent, CallEvent, float]:
        engine = _engine(pstn_peer, info_prompt, tmp_path)
        events: asyncio.Queue[CallEvent] = asyncio.Queue()
        engine.subscribe(events.put_nowait)
        await engine.start()
        try:
            busy_id = await engine.place_call(_request("+441614960102", "a-busy"))
            busy = await _next(events, CallEventKind.BUSY, busy_id)
            started = asyncio.get_running_loop().time()
            silent_id = await engine.place_call(_request("+441614960103", "a-noans", ring=15.0))
            no_answer = await _next(events, CallEventKind.NO_ANSWER, silent_id, timeout=40)
            return busy, no_answer, asyncio.get_running_loop().time() - started
        finally:
            await engine.close()

    busy, no_answer, rang = asyncio.run(main())
    assert busy.sip_status == 486
    assert no_answer.kind is CallEventKind.NO_ANSWER
    assert 15.0 <= rang < 20.0  # Ofcom: ring at least 15 s, then CANCEL


def test_bridged_call_is_recorded_encrypted_with_both_voices(
    pstn_peer: Peer, info_prompt: Path, tmp_path: Path
) -> None:
    async def main() -> None:
        engine = _engine(pstn_peer, info_prompt, tmp_path)
        events: asyncio.Queue[CallEvent] = asyncio.Queue()
        engine.subscribe(events.put_nowait)
        await engine.start()
        try:
            leg = await engine.open_agent_leg("1")
            await _next(events, CallEventKind.ANSWERED, leg)
            call_id = await engine.place_call(_request("+441614960101", "a-bridge"))
            await _next(events, CallEventKind.ANSWERED, call_id)
            await engine.start_recording(call_id, "rec-bridge")
            await engine.bridge(call_id, leg)
            await asyncio.sleep(6)  # the callee greets; the agent's side answers back
            await engine.hangup(call_id)
            await _next(events, CallEventKind.HUNG_UP, call_id)
            await engine.close_agent_leg(leg)
        finally:
            await engine.close()

    asyncio.run(main())
    import numpy as np

    rec = decrypt(
        tmp_path / "recordings" / "rec-bridge.ghrec", AesGcmKeyWrapper(TENANT_KEY, "t1/v1")
    )
    frames = np.frombuffer(rec.pcm, "<i2").reshape(-1, 2).astype(float)
    callee, agent_side = frames[:, 0], frames[:, 1]
    assert rec.complete
    assert np.sqrt(np.mean(callee**2)) > 200, "the callee's voice is in the recording"
    assert np.sqrt(np.mean(agent_side**2)) > 200, "the agent's voice is in the recording"


def test_a_killed_media_worker_is_restarted_and_dialling_resumes(
    pstn_peer: Peer, info_prompt: Path, tmp_path: Path
) -> None:
    """kill -9 of the media worker: its calls are reported FAILED ("media worker lost", for
    the runtime's reconciliation), the recording it was writing is catalogued with every
    sealed chunk, a new worker comes up on the same address, and the next call is placed and
    answered."""
    import os
    import signal

    from gatehouse.telephony.sip.engine import RecordingFinished

    async def main() -> None:
        engine = _engine(pstn_peer, info_prompt, tmp_path)
        events: asyncio.Queue[CallEvent] = asyncio.Queue()
        finished: list[RecordingFinished] = []
        engine.subscribe(events.put_nowait)
        engine.on_recording_finished(finished.append)
        await engine.start()
        address = engine.listen_address
        try:
            call_id = await engine.place_call(_request("+441614960101", "a-kill-1"))
            await _next(events, CallEventKind.ANSWERED, call_id)
            await engine.start_recording(call_id, "rec-cut")
            await asyncio.sleep(2.6)  # two 1 s chunks sealed, the third being filled
            old = engine.worker_pid
            assert old is not None
            os.kill(old, signal.SIGKILL)
            lost = await _next(events, CallEventKind.FAILED, call_id)
            assert lost.reason == "media worker lost"
            [cut] = finished
            assert (cut.recording_id, cut.call_id, cut.attempt_id) == (
                "rec-cut",
                call_id,
                "a-kill-1",
            )
            assert 1.0 <= cut.duration_s <= 3.0 and cut.path.stat().st_size == cut.size_bytes
            rec = decrypt(cut.path, AesGcmKeyWrapper(TENANT_KEY, "t1/v1"))
            assert not rec.complete and len(rec.pcm) == round(cut.duration_s * 8000 * 2 * 2)
            deadline = asyncio.get_running_loop().time() + 30
            while engine.worker_restarts == 0:
                assert asyncio.get_running_loop().time() < deadline, "worker not restarted"
                await asyncio.sleep(0.1)
            assert engine.worker_pid not in (None, old)
            assert engine.listen_address == address  # the trunk still knows where we are
            again = await engine.place_call(_request("+441614960101", "a-kill-2"))
            await _next(events, CallEventKind.ANSWERED, again)
            await engine.hangup(again)
            await _next(events, CallEventKind.HUNG_UP, again)
        finally:
            await engine.close()

    asyncio.run(main())
