"""A privileged call (record=False) can never get a recording stream or a listener."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gatehouse.domain.errors import ComplianceRefused
from gatehouse.telephony.port import DialRequest, SuperviseMode
from gatehouse.telephony.sip.engine import SipEngine, SipEngineConfig


class _Recorder(SipEngine):
    def __init__(self) -> None:
        super().__init__(
            SipEngineConfig(trunk="127.0.0.1:9"), lambda ref: ref, lambda _t: (bytes(32), "k")
        )
        self.sent: list[dict[str, Any]] = []

    async def _send(self, command: dict[str, Any]) -> None:
        self.sent.append(command)


def test_privileged_call_is_never_recorded_or_monitored() -> None:
    async def main() -> _Recorder:
        engine = _Recorder()
        privileged = await engine.place_call(
            DialRequest(
                attempt_id="p1",
                campaign_id="incell",
                contact_ref="+441614960999",
                caller_id="+441614960000",
                record=False,
            )
        )
        with pytest.raises(ComplianceRefused):
            await engine.start_recording(privileged, "r1")
        with pytest.raises(ComplianceRefused):
            await engine.supervise("sup-leg", privileged, SuperviseMode.LISTEN)
        ordinary = await engine.place_call(
            DialRequest(
                attempt_id="o1",
                campaign_id="c",
                contact_ref="+441614960998",
                caller_id="+441614960000",
            )
        )
        await engine.start_recording(ordinary, "r2")
        return engine

    engine = asyncio.run(main())
    ops = [(c["op"], c.get("call")) for c in engine.sent]
    assert [op for op, _ in ops].count("record") == 1
    assert all(
        call != engine._by_attempt["p1"] for op, call in ops if op in ("record", "supervise")
    )


def test_placing_the_same_attempt_twice_dials_once() -> None:
    async def main() -> _Recorder:
        engine = _Recorder()
        request = DialRequest(
            attempt_id="a", campaign_id="c", contact_ref="+441614960997", caller_id="+441614960000"
        )
        first = await engine.place_call(request)
        assert await engine.place_call(request) == first
        return engine

    assert [c["op"] for c in asyncio.run(main()).sent] == ["dial"]
