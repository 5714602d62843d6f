"""AMD on the far end's audio and DTMF both ways, through the SIP engine, against the PSTN peer.

A peer process of its own (its numbers are these tests' alone): a person, an answering
machine, and a person who presses keys after answering.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gatehouse.telephony.amd import AmdParameters
from gatehouse.telephony.port import AnsweredBy, CallEvent, CallEventKind, DialRequest
from gatehouse.telephony.sip.engine import SipEngine, SipEngineConfig
from tests.integration.sip.conftest import Peer, start_peer, stop_peer

pytestmark = [pytest.mark.sip, pytest.mark.slow, pytest.mark.timeout(150)]

PERSON = "+441614960201"
MACHINE = "+441614960204"
PRESSES = "+441614960205"
NUMBERS: dict[str, dict[str, object]] = {
    PERSON: {"behaviour": "person", "ring_s": 0.2},
    MACHINE: {"behaviour": "machine", "ring_s": 0.2},
    PRESSES: {"behaviour": "person", "ring_s": 0.2, "send_digits": "159#*0"},
}


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    base = tmp_path_factory.mktemp("amd-dtmf-peer")
    for _attempt in range(3):
        proc, started = start_peer(base, NUMBERS)
        try:
            started.wait_for("ready", timeout=40)
        except AssertionError:
            stop_peer(proc)
            continue
        try:
            yield started
        finally:
            stop_peer(proc)
        return
    raise AssertionError("the PSTN peer did not start: " + (base / "peer.err").read_text()[-2000:])


def _engine(peer: Peer, prompt: Path, tmp: Path, **amd: object) -> SipEngine:
    config = SipEngineConfig(
        trunk=peer.listen, prompts={"info": prompt}, recordings_dir=tmp / "rec", tenant="t1"
    )
    return SipEngine(
        replace(config, **amd), resolver=lambda ref: ref, keys=lambda _t: (bytes(32), "k")
    )


def _request(number: str, attempt: str, amd: bool) -> DialRequest:
    return DialRequest(
        attempt_id=attempt,
        campaign_id="c1",
        contact_ref=number,
        caller_id="+441614960000",
        ring_timeout_s=20.0,
        amd=amd,
    )


async def _until(
    events: list[CallEvent], call_id: str, kind: CallEventKind, timeout: float = 20
) -> CallEvent:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        for event in events:
            if event.call_id == call_id and event.kind is kind:
                return event
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kind} for {call_id}: {events}")


def _peer_call(peer: Peer, number: str, nth: int = 0) -> object:
    calls = [e["call"] for e in peer.events() if e["event"] == "incoming"]
    numbers = [e["number"] for e in peer.events() if e["event"] == "incoming"]
    return [c for c, n in zip(calls, numbers, strict=True) if n == number][nth]


def test_amd_reports_machine_and_person_once_with_the_decision_time(
    peer: Peer, info_prompt: Path, tmp_path: Path
) -> None:
    """With the detector's own analysis time (2.5 s): the peer's machine greeting is a
    MACHINE (its 'long greeting' rule needs 1.8 s of speech), the person never is; each
    call gets exactly one ANSWERED, carrying the verdict and when it was reached."""
    full = AmdParameters().total_analysis_time_ms

    async def main() -> list[CallEvent]:
        engine = _engine(peer, info_prompt, tmp_path, amd_decide_within_ms=full)
        events: list[CallEvent] = []
        engine.subscribe(events.append)
        await engine.start()
        try:
            machine = await engine.place_call(_request(MACHINE, "amd-m", amd=True))
            person = await engine.place_call(_request(PERSON, "amd-p", amd=True))
            for call_id in (machine, person):
                await _until(events, call_id, CallEventKind.ANSWERED)
            await asyncio.sleep(0.5)  # nothing more may come for either
            for call_id in (machine, person):
                await engine.hangup(call_id)
                await _until(events, call_id, CallEventKind.HUNG_UP)
        finally:
            await engine.close()
        return events

    events = asyncio.run(main())
    by_call: dict[str, list[CallEvent]] = {}
    for event in events:
        by_call.setdefault(event.attempt_id, []).append(event)
    for attempt, verdicts in (
        ("amd-m", {AnsweredBy.MACHINE}),
        ("amd-p", {AnsweredBy.HUMAN, AnsweredBy.UNKNOWN}),
    ):
        answered = [e for e in by_call[attempt] if e.kind is CallEventKind.ANSWERED]
        assert len(answered) == 1, by_call[attempt]
        ev = answered[0]
        assert ev.answered_by in verdicts, ev
        assert ev.detection_finished_at is not None
        after_ms = int(ev.extra["amd_after_ms"])
        assert 0 < after_ms <= full + 200, ev  # the cap, plus a media tick or two
        print(f"{attempt}: {ev.extra['amd_verdict']} ({ev.extra['amd_reason']}) at {after_ms} ms")
    assert by_call["amd-m"][-1].kind is CallEventKind.HUNG_UP


def test_amd_under_the_default_cap_leaves_the_information_message_within_two_seconds(
    peer: Peer, info_prompt: Path, tmp_path: Path
) -> None:
    """The engine's default cap (decision 0063): the person is never a machine, the verdict
    comes by the cap, and the information message played on it reaches the far end within
    2 s of the answer, measured at the far end. The machine is never taken for a person."""

    async def main() -> list[CallEvent]:
        engine = _engine(peer, info_prompt, tmp_path)
        events: list[CallEvent] = []
        engine.subscribe(events.append)
        await engine.start()
        try:
            person = await engine.place_call(_request(PERSON, "cap-p", amd=True))
            answered = await _until(events, person, CallEventKind.ANSWERED)
            assert answered.answered_by is not AnsweredBy.MACHINE, answered
            await engine.play_prompt(person, "info")  # no agent free
            await _until(events, person, CallEventKind.PROMPT_FINISHED)
            await engine.hangup(person)
            machine = await engine.place_call(_request(MACHINE, "cap-m", amd=True))
            await _until(events, machine, CallEventKind.ANSWERED)
            await engine.hangup(machine)
            await _until(events, machine, CallEventKind.HUNG_UP)
        finally:
            await engine.close()
        return events

    events = asyncio.run(main())
    cap = SipEngineConfig(trunk="x").amd_decide_within_ms
    answered = [e.attempt_id for e in events if e.kind is CallEventKind.ANSWERED]
    assert sorted(answered) == ["cap-m", "cap-p"]  # once each
    for event in events:
        if event.kind is CallEventKind.ANSWERED:
            assert int(event.extra["amd_after_ms"]) <= cap + 100, event
            extra = event.extra
            print(f"{event.attempt_id}: {extra['amd_verdict']} at {extra['amd_after_ms']} ms")
            if event.attempt_id == "cap-m":
                assert event.answered_by is not AnsweredBy.HUMAN, event
    call = _peer_call(peer, PERSON, nth=-1)
    log = peer.events()
    answered_at = next(e["t"] for e in log if e["event"] == "answered" and e["call"] == call)
    heard = next(e["t"] for e in log if e["event"] == "first_audio" and e["call"] == call)
    latency = float(heard) - float(answered_at)  # type: ignore[arg-type]
    assert 0 < latency <= 2.0, latency
    print(f"answer -> AMD verdict -> information message at the far end: {latency * 1000:.0f} ms")


def test_dtmf_is_reported_in_order_and_sent_digits_reach_the_far_end(
    peer: Peer, info_prompt: Path, tmp_path: Path
) -> None:
    async def main() -> list[CallEvent]:
        engine = _engine(peer, info_prompt, tmp_path)
        events: list[CallEvent] = []
        engine.subscribe(events.append)
        await engine.start()
        try:
            call_id = await engine.place_call(_request(PRESSES, "dtmf-1", amd=False))
            answered = await _until(events, call_id, CallEventKind.ANSWERED)
            assert answered.answered_by is AnsweredBy.UNKNOWN  # AMD off: as before
            assert answered.extra == {}
            await engine.send_dtmf(call_id, "2468*#")
            deadline = asyncio.get_running_loop().time() + 15
            while len([e for e in events if e.kind is CallEventKind.DTMF]) < 6:
                assert asyncio.get_running_loop().time() < deadline, events
                await asyncio.sleep(0.05)
            peer.wait_for("dtmf", count=6, timeout=15)
            await engine.hangup(call_id)
            await _until(events, call_id, CallEventKind.HUNG_UP)
        finally:
            await engine.close()
        return events

    events = asyncio.run(main())
    digits = [e for e in events if e.kind is CallEventKind.DTMF]
    assert "".join(e.digit for e in digits) == "159#*0"
    assert all(e.call_id == digits[0].call_id and e.attempt_id == "dtmf-1" for e in digits)
    assert all(int(e.extra["duration_ms"]) > 0 for e in digits)
    call = _peer_call(peer, PRESSES)
    heard = [e["digit"] for e in peer.events() if e["event"] == "dtmf" and e["call"] == call]
    assert "".join(str(d) for d in heard) == "2468*#"
