"""The worker's "closed" event carries the leg's media report from the library's own stats."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gatehouse.telephony.port import CallEvent, CallEventKind, DialRequest
from gatehouse.telephony.sip.engine import SipEngine, SipEngineConfig
from tests.integration.sip.conftest import Peer

pytestmark = [pytest.mark.sip, pytest.mark.timeout(90)]


def test_closed_event_carries_jitter_buffer_and_audio_counters(
    pstn_peer: Peer, info_prompt: Path, tmp_path: Path
) -> None:
    reports: dict[str, dict[str, Any]] = {}

    async def main() -> tuple[str, float]:
        engine = SipEngine(
            SipEngineConfig(
                trunk=pstn_peer.listen, prompts={"info": info_prompt}, recordings_dir=tmp_path
            ),
            resolver=lambda ref: ref,
            keys=lambda _t: (bytes(32), "k"),
        )
        engine.on_media_stats(lambda call_id, stats: reports.__setitem__(call_id, stats))
        events: asyncio.Queue[CallEvent] = asyncio.Queue()
        engine.subscribe(events.put_nowait)
        await engine.start()
        try:
            call_id = await engine.place_call(
                DialRequest(
                    attempt_id="a-stats",
                    campaign_id="c1",
                    contact_ref="+441614960101",
                    caller_id="+441614960000",
                    ring_timeout_s=20,
                )
            )
            kinds: list[CallEventKind] = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            answered_at = 0.0
            while CallEventKind.HUNG_UP not in kinds and loop.time() < deadline:
                event = await asyncio.wait_for(events.get(), deadline - loop.time())
                if event.call_id != call_id:
                    continue
                kinds.append(event.kind)
                if event.kind is CallEventKind.ANSWERED:
                    answered_at = loop.time()
                    await engine.play_prompt(call_id, "info")
                elif event.kind is CallEventKind.PROMPT_FINISHED:
                    await engine.hangup(call_id)
            assert CallEventKind.HUNG_UP in kinds, kinds
            return call_id, loop.time() - answered_at
        finally:
            await engine.close()

    call_id, held = asyncio.run(main())
    stats = reports[call_id]  # delivered with the closed event, before HUNG_UP reached us
    # Media flowed both ways for the whole call: 50 RTP packets a second each way (20 ms).
    assert stats["rx_packets"] >= 40 * (held - 1), (held, stats)
    assert stats["tx_packets"] >= 40 * (held - 1), (held, stats)
    # Jitter-buffer counters are measured numbers, not absent, and sane for one call on
    # loopback: nothing lost on the wire, the fixed 20-60 ms jitter buffer in force.
    for key in ("jbuf_late", "jbuf_lost", "jbuf_overflow"):
        assert isinstance(stats[key], int), (key, stats)
        assert 0 <= stats[key] <= stats["rx_packets"], (key, stats)
    assert stats["rx_lost"] == 0
    assert stats["jbuf_delay_ms"] == 20
    assert 1.0 <= stats["mos_estimate"] <= 5.0
    # Audio-buffer counters from the live snapshot taken at our hang-up: the prompt kept the
    # transmit queue fed (no starvation) and the media loop kept up (nothing discarded).
    audio = stats["audio"]
    assert audio is not None, stats
    assert audio["tx_starved_frames"] == 0, audio
    assert audio["rx_discarded_bytes"] == 0, audio
    assert audio["rx_dropped_bytes"] == 0, audio
    # The stack sends silence only when we have nothing queued: at most the moments before
    # the prompt started and after it finished, never most of the call.
    assert 0 <= audio["tx_silence_frames"] < 25 * held, audio
