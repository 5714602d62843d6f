"""A pool of two media workers (decision 0064) against the PSTN peer on loopback: a call on
one worker bridged to an agent leg on the other through the relay, and a killed worker that
fails only its own legs."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gatehouse.adapters.crypto.recording import AesGcmKeyWrapper, decrypt
from gatehouse.telephony.port import CallEvent, CallEventKind
from gatehouse.telephony.sip.engine import SipEngine, SipEngineConfig
from tests.integration.sip.conftest import Peer
from tests.integration.sip.test_sip_engine import TENANT_KEY, _next, _request

pytestmark = [pytest.mark.sip, pytest.mark.timeout(150)]


def _pool(peer: Peer, prompt: Path, tmp: Path) -> SipEngine:
    config = SipEngineConfig(
        trunk=peer.listen,
        prompts={"info": prompt},
        recordings_dir=tmp / "recordings",
        tenant="t1",
        agent_phones={"1": f"sip:agent-1@{peer.listen}"},
        media_workers=2,
    )
    return SipEngine(config, resolver=lambda ref: ref, keys=lambda _t: (TENANT_KEY, "t1/v1"))


def _heard(peer: Peer, since: int, number: str) -> np.ndarray:
    """What the peer's party on ``number`` heard, from its WAV (written when its call ends)."""
    log = peer.events()[since:]
    call = next(e["call"] for e in log if e["event"] == "incoming" and e["number"] == number)
    deadline = time.monotonic() + 10
    while not (
        closed := [e for e in peer.events()[since:] if e["event"] == "closed" and e["call"] == call]
    ):
        assert time.monotonic() < deadline, f"the peer's call {call} ({number}) never closed"
        time.sleep(0.05)
    with wave.open(str(closed[0]["wav"]), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(float)


def _loud_seconds(pcm: np.ndarray) -> float:
    frames = pcm[: len(pcm) // 160 * 160].reshape(-1, 160)
    return float((np.sqrt(np.mean(frames**2, axis=1)) > 500).sum() * 0.02)


def test_a_call_on_one_worker_bridged_to_an_agent_on_the_other_both_hear_and_are_recorded(
    pstn_peer: Peer, info_prompt: Path, tmp_path: Path
) -> None:
    since = len(pstn_peer.events())
    relays: list[tuple[str, dict[str, Any]]] = []

    async def main() -> tuple[str, str]:
        engine = _pool(pstn_peer, info_prompt, tmp_path)
        events: asyncio.Queue[CallEvent] = asyncio.Queue()
        engine.subscribe(events.put_nowait)
        engine.on_relay_stats(lambda leg, report: relays.append((leg, report)))
        await engine.start()
        try:
            assert len(set(engine.listen_addresses)) == 2
            assert None not in engine.worker_pids
            leg = await engine.open_agent_leg("1")
            await _next(events, CallEventKind.ANSWERED, leg)
            call_id = await engine.place_call(_request("+441614960101", "a-pool-bridge"))
            # the least-loaded worker: not the one holding the agent leg
            assert engine.worker_of(call_id) != engine.worker_of(leg)
            await _next(events, CallEventKind.ANSWERED, call_id)
            await engine.start_recording(call_id, "rec-pool")
            await engine.bridge(call_id, leg)
            await asyncio.sleep(7)  # the callee greets, the agent answers, the callee replies
            await engine.hangup(call_id)
            await _next(events, CallEventKind.HUNG_UP, call_id)
            await engine.close_agent_leg(leg)
            await _next(events, CallEventKind.HUNG_UP, leg)
            await asyncio.sleep(0.3)  # the relay legs' reports
            return call_id, leg
        finally:
            await engine.close()

    call_id, leg = asyncio.run(main())
    rec = decrypt(tmp_path / "recordings" / "rec-pool.ghrec", AesGcmKeyWrapper(TENANT_KEY, "t1/v1"))
    frames = np.frombuffer(rec.pcm, "<i2").reshape(-1, 2).astype(float)
    assert rec.complete
    assert np.sqrt(np.mean(frames[:, 0] ** 2)) > 200, "the callee's voice is in the recording"
    assert np.sqrt(np.mean(frames[:, 1] ** 2)) > 200, "the agent's voice is in the recording"
    # Each far end heard the other through the relay (the agent's greeting was said before
    # the bridge, so what the callee heard loud is the agent's reply).
    callee_heard = _heard(pstn_peer, since, "+441614960101")
    agent_heard = _heard(pstn_peer, since, "agent-1")
    assert _loud_seconds(callee_heard) > 0.5, "the callee heard the agent"
    assert _loud_seconds(agent_heard) > 0.5, "the agent heard the callee"
    # Both relay legs reported: frames went both ways; what the relay adds is about a frame.
    by_leg = dict(relays)  # the call stands in the agent's worker under its own id; the
    # agent stands beside the call as "<leg>~<stream>"
    assert {name.split("~")[0] for name in by_leg} == {call_id, leg} and len(by_leg) == 2
    for report in by_leg.values():
        assert report["received"] > 100 and report["lost"] == 0
        assert report["delay_ms_p50"] is not None and report["delay_ms_p50"] < 60
    print("relay:", {k: {f: v[f] for f in v if f.startswith("delay")} for k, v in by_leg.items()})


def test_a_killed_worker_fails_only_its_own_legs_and_the_other_workers_call_goes_on(
    pstn_peer: Peer, info_prompt: Path, tmp_path: Path
) -> None:
    """kill -9 of the worker holding the agent leg: the agent leg is reported FAILED ("media
    worker lost"), the call it was bridged to (on the other worker, over the relay) carries
    on: it still plays a message and hangs up normally; the killed worker alone is
    restarted, on its address."""

    async def main() -> None:
        engine = _pool(pstn_peer, info_prompt, tmp_path)
        events: list[CallEvent] = []
        queue: asyncio.Queue[CallEvent] = asyncio.Queue()
        engine.subscribe(events.append)
        engine.subscribe(queue.put_nowait)
        await engine.start()
        try:
            leg = await engine.open_agent_leg("1")
            await _next(queue, CallEventKind.ANSWERED, leg)
            call_id = await engine.place_call(_request("+441614960101", "a-pool-kill"))
            await _next(queue, CallEventKind.ANSWERED, call_id)
            await engine.bridge(call_id, leg)
            await asyncio.sleep(1.0)
            dead, alive = engine.worker_of(leg), engine.worker_of(call_id)
            assert dead is not None and alive is not None and dead != alive
            pids, addresses = engine.worker_pids, engine.listen_addresses
            victim = pids[dead]
            assert victim is not None
            os.kill(victim, signal.SIGKILL)
            lost = await _next(queue, CallEventKind.FAILED, leg)
            assert lost.reason == "media worker lost"
            # the other worker's call is untouched: it plays a message to its end
            await engine.play_prompt(call_id, "info")
            await _next(queue, CallEventKind.PROMPT_FINISHED, call_id)
            assert engine.worker_pids[alive] == pids[alive]
            deadline = asyncio.get_running_loop().time() + 30
            while engine.worker_restarts == 0:
                assert asyncio.get_running_loop().time() < deadline, "worker not restarted"
                await asyncio.sleep(0.1)
            assert engine.worker_pids[dead] not in (None, victim)
            assert engine.listen_addresses == addresses
            await engine.hangup(call_id)
            await _next(queue, CallEventKind.HUNG_UP, call_id)
        finally:
            await engine.close()
        failed = [e.call_id for e in events if e.kind is CallEventKind.FAILED]
        assert failed == [leg]

    asyncio.run(main())
