"""The coordinator's routing table for a pool of media workers (decision 0064), on scripted
workers: placement, local bridges, relayed bridges and supervision, teardown (no SIP)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gatehouse.telephony.port import DialRequest, SuperviseMode
from gatehouse.telephony.sip.engine import EngineUnavailable, SipEngine, SipEngineConfig


class _Pool(SipEngine):
    def __init__(self, workers: int = 2, max_legs: int = 200) -> None:
        super().__init__(
            SipEngineConfig(
                trunk="127.0.0.1:9",
                agent_phones={"a": "sip:a@x", "b": "sip:b@x"},
                media_workers=workers,
                max_legs_per_worker=max_legs,
            ),
            lambda ref: ref,
            lambda _t: (bytes(32), "k"),
        )
        self.sent: list[tuple[int, dict[str, Any]]] = []
        for i, worker in enumerate(self._workers):
            worker.relay = f"127.0.0.1:{7000 + i}"
            worker.ready.set()

    async def _send_to(self, index: int, command: dict[str, Any]) -> None:
        self.sent.append((index, command))

    def ops(self, since: int = 0) -> list[tuple[int, str, str]]:
        return [(i, c["op"], c.get("call", "")) for i, c in self.sent[since:]]


def _request(attempt: str) -> DialRequest:
    return DialRequest(
        attempt_id=attempt, campaign_id="c", contact_ref="+441614960101", caller_id="+44"
    )


def test_legs_go_to_the_least_loaded_worker_and_a_full_pool_refuses() -> None:
    async def main() -> _Pool:
        engine = _Pool(workers=2, max_legs=2)
        legs = [await engine.open_agent_leg("a"), await engine.place_call(_request("1"))]
        legs.append(await engine.place_call(_request("2")))
        assert [engine.worker_of(leg) for leg in legs] == [0, 1, 0]
        assert engine.worker_load() == [2, 1]
        await engine.place_call(_request("3"))
        with pytest.raises(EngineUnavailable):
            await engine.place_call(_request("4"))
        engine._on_worker_event({"ev": "closed", "call": legs[1], "answered": True}, 1)
        assert engine.worker_load() == [2, 1]
        await engine.place_call(_request("5"))
        return engine

    engine = asyncio.run(main())
    assert [i for i, c in engine.sent if c["op"] == "dial"] == [0, 1, 0, 1, 1]


def test_a_bridge_in_one_worker_has_no_relay_and_across_workers_goes_through_one() -> None:
    async def main() -> None:
        engine = _Pool()
        agent = await engine.open_agent_leg("a")  # worker 0
        far = await engine.place_call(_request("1"))  # worker 1
        near = await engine.place_call(_request("2"))  # worker 0
        mark = len(engine.sent)
        await engine.bridge(near, agent)
        assert engine.ops(mark) == [(0, "bridge", near)]
        mark = len(engine.sent)
        await engine.bridge(far, agent)  # the agent's last call was never unbridged
        remote = [c for _, c in engine.sent[mark:] if c["op"] == "remote"]
        assert engine.ops(mark) == [
            (0, "remote", far),  # the call stands in the agent's worker
            (1, "remote", f"{agent}~1"),  # the agent stands beside the call
            (1, "bridge", far),
            (0, "bridge", agent),
        ]
        assert remote[0]["peer"] == "127.0.0.1:7001" and remote[1]["peer"] == "127.0.0.1:7000"
        assert remote[0]["stream"] == remote[1]["stream"]
        # supervision of the relayed call is mixed in the agent's worker; a supervisor
        # phone in the other worker is linked in
        sup = await engine.open_supervisor_leg("s", "sip:s@x")
        assert engine.worker_of(sup) == 1
        mark = len(engine.sent)
        await engine.supervise(sup, far, SuperviseMode.WHISPER)
        assert engine.ops(mark) == [
            (0, "remote", sup),
            (1, "remote", "mix~2"),
            (1, "bridge", sup),
            (0, "supervise", far),
        ]
        mark = len(engine.sent)
        await engine.end_supervision(sup)
        assert engine.ops(mark) == [
            (0, "end_supervision", sup),
            (0, "drop_remote", sup),
            (1, "drop_remote", "mix~2"),
        ]
        # the call ends: both relay legs are dropped
        mark = len(engine.sent)
        engine._on_worker_event({"ev": "closed", "call": far, "answered": True}, 1)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert sorted(engine.ops(mark)) == [
            (0, "drop_remote", far),
            (1, "drop_remote", f"{agent}~1"),
        ]

    asyncio.run(main())


def test_one_worker_sends_what_it_always_sent() -> None:
    async def main() -> _Pool:
        engine = _Pool(workers=1)
        agent = await engine.open_agent_leg("a")
        call = await engine.place_call(_request("1"))
        sup = await engine.open_supervisor_leg("s", "sip:s@x")
        await engine.bridge(call, agent)
        await engine.supervise(sup, call, SuperviseMode.LISTEN)
        await engine.end_supervision(sup)
        await engine.unbridge(call)
        return engine

    engine = asyncio.run(main())
    assert {i for i, _ in engine.sent} == {0}
    assert [c["op"] for _, c in engine.sent] == [
        "dial",
        "dial",
        "dial",
        "bridge",
        "supervise",
        "end_supervision",
        "unbridge",
    ]
