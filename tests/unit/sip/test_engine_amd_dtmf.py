"""The coordinator's side of AMD and DTMF, on scripted worker reports (no SIP, no worker)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from gatehouse.services.dialler.simnet import Population, SimulatedNetwork
from gatehouse.telephony.amd import AmdDetector, AmdParameters, AmdVerdict
from gatehouse.telephony.clock import Clock
from gatehouse.telephony.port import (
    AnsweredBy,
    CallEvent,
    CallEventKind,
    DialRequest,
    dtmf_digits,
)
from gatehouse.telephony.sip.engine import SipEngine, SipEngineConfig


class _Scripted(SipEngine):
    def __init__(self) -> None:
        super().__init__(
            SipEngineConfig(trunk="127.0.0.1:9"), lambda ref: ref, lambda _t: (bytes(32), "k")
        )
        self.sent: list[dict[str, Any]] = []
        self.events: list[CallEvent] = []
        self.subscribe(self.events.append)

    async def _send(self, command: dict[str, Any]) -> None:
        self.sent.append(command)


def _request(attempt: str, amd: bool) -> DialRequest:
    return DialRequest(
        attempt_id=attempt,
        campaign_id="c",
        contact_ref="+441614960101",
        caller_id="+441614960000",
        amd=amd,
    )


def _place(engine: _Scripted, attempt: str, amd: bool) -> str:
    return asyncio.run(engine.place_call(_request(attempt, amd)))


def test_without_amd_answered_is_immediate_and_unknown_and_the_dial_carries_no_amd() -> None:
    engine = _Scripted()
    call = _place(engine, "a", amd=False)
    assert "amd" not in engine.sent[0]
    engine._on_worker_event({"ev": "answered", "call": call})
    [answered] = engine.events
    assert answered.kind is CallEventKind.ANSWERED
    assert answered.answered_by is AnsweredBy.UNKNOWN
    assert answered.detection_finished_at == answered.at
    assert answered.extra == {}


@pytest.mark.parametrize(
    ("verdict", "answered_by"),
    [
        ("human", AnsweredBy.HUMAN),
        ("machine", AnsweredBy.MACHINE),
        ("not_sure", AnsweredBy.UNKNOWN),
        ("nonsense", AnsweredBy.UNKNOWN),
    ],
)
def test_with_amd_answered_waits_for_the_verdict_and_comes_once(
    verdict: str, answered_by: AnsweredBy
) -> None:
    engine = _Scripted()
    call = _place(engine, "a", amd=True)
    engine._on_worker_event({"ev": "answered", "call": call})
    engine._on_worker_event({"ev": "dtmf", "call": call, "digit": "5", "duration_ms": 90})
    assert engine.events == []  # nothing before the verdict, not even a digit
    time.sleep(0.02)  # the detector listens
    amd = {"ev": "amd", "call": call, "verdict": verdict, "reason": "r", "after_ms": 1280}
    engine._on_worker_event(amd)
    engine._on_worker_event(amd)
    engine._on_worker_event({"ev": "closed", "call": call, "answered": True, "status": None})
    kinds = [e.kind for e in engine.events]
    assert kinds == [CallEventKind.ANSWERED, CallEventKind.DTMF, CallEventKind.HUNG_UP]
    answered = engine.events[0]
    assert answered.answered_by is answered_by
    assert answered.detection_finished_at is not None
    # ``at`` is the answer: the 2 s for the information message run from it, not the verdict
    assert answered.detection_finished_at - answered.at >= 0.02
    assert answered.extra["amd_after_ms"] == "1280"
    assert engine.events[1].digit == "5"


def test_a_call_closed_before_any_verdict_is_answered_undecided_then_hung_up() -> None:
    engine = _Scripted()
    call = _place(engine, "a", amd=True)
    engine._on_worker_event({"ev": "answered", "call": call})
    engine._on_worker_event({"ev": "closed", "call": call, "answered": True, "status": None})
    assert [(e.kind, e.answered_by) for e in engine.events] == [
        (CallEventKind.ANSWERED, AnsweredBy.UNKNOWN),
        (CallEventKind.HUNG_UP, None),
    ]


def test_the_dial_carries_the_detector_rules_capped_for_the_two_second_message() -> None:
    engine = _Scripted()
    _place(engine, "a", amd=True)
    sent = engine.sent[0]["amd"]
    cap = engine.config.amd_decide_within_ms
    assert cap <= 2000 - 300  # room for the message to reach the far end within 2 s
    assert sent["total_analysis_time_ms"] == cap < AmdParameters().total_analysis_time_ms
    assert AmdParameters(**sent).greeting_ms == AmdParameters().greeting_ms  # rules as set


def test_expire_is_not_sure_and_final() -> None:
    detector = AmdDetector()
    assert detector.feed(bytes(320)) is None
    decision = detector.expire()
    assert decision.verdict is AmdVerdict.NOT_SURE
    assert detector.feed(bytes(32000)) is decision


def test_send_dtmf_validates_keys_on_both_engines() -> None:
    assert dtmf_digits("12ab*#") == "12AB*#"
    for bad in ("", "12E", "1 2", "+"):
        with pytest.raises(ValueError):
            dtmf_digits(bad)
    engine = _Scripted()
    call = _place(engine, "a", amd=False)
    asyncio.run(engine.send_dtmf(call, "9#"))
    assert engine.sent[-1] == {"op": "send_dtmf", "call": call, "digits": "9#"}
    with pytest.raises(ValueError):
        asyncio.run(engine.send_dtmf(call, "x"))


def test_simulated_network_records_digits_sent_on_an_answered_call() -> None:
    class _Fast(Clock):  # a thousand times faster than real time
        def now(self) -> float:
            return 0.0

        async def sleep(self, seconds: float) -> None:
            await asyncio.sleep(seconds / 1000)

    async def main() -> SimulatedNetwork:
        people = Population(human=1.0, machine=0.0, busy=0.0, invalid=0.0, patience_s=600)
        net = SimulatedNetwork(_Fast(), lambda ref: ref, population=people)
        answered: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        net.subscribe(
            lambda e: (
                e.kind is CallEventKind.ANSWERED
                and not answered.done()
                and answered.set_result(e.call_id)
            )
        )
        await net.place_call(_request("a", amd=False))
        call_id = await asyncio.wait_for(answered, 5)
        await net.send_dtmf(call_id, "1*")
        await net.send_dtmf(call_id, "2")
        with pytest.raises(ValueError):
            await net.send_dtmf(call_id, "Z")
        await net.close()
        return net

    net = asyncio.run(main())
    assert list(net.sent_digits.values()) == ["1*2"]


def test_simulated_network_answers_at_the_answer_and_decides_later() -> None:
    """AMD on the simulated network: ANSWERED's ``at`` is the answer, ``detection_finished_at``
    the verdict 1.6 s later (the SIP engine's cap), so the runtime's 2 s for the information
    message include the detector's time on both engines."""
    from gatehouse.services.dialler.clocks import LoopClock, run_virtual

    async def main(clock: LoopClock) -> list[CallEvent]:
        people = Population(human=1.0, machine=0.0, busy=0.0, invalid=0.0, patience_s=600)
        net = SimulatedNetwork(clock, lambda ref: ref, population=people)
        seen: list[CallEvent] = []
        net.subscribe(seen.append)
        placed = clock.now()
        await net.place_call(_request("a", amd=True))
        while not any(e.kind is CallEventKind.ANSWERED for e in seen):
            await clock.sleep(0.5)
        assert placed < seen[-1].at
        await net.close()
        return seen

    events = run_virtual(1_000_000.0, main)
    [answered] = [e for e in events if e.kind is CallEventKind.ANSWERED]
    assert answered.answered_by is AnsweredBy.HUMAN
    assert answered.detection_finished_at is not None
    assert answered.detection_finished_at - answered.at == pytest.approx(1.6)
