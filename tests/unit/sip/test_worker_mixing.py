"""Who hears whom: bridge and supervisor modes in the media worker (no SIP needed)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from gatehouse.telephony.sip.worker import Leg, Worker, mix


def _worker() -> Worker:
    worker = Worker("127.0.0.1:1")
    for name in ("customer", "agent", "supervisor"):
        tracked = SimpleNamespace(call=None, handle=hash(name) & 0xFFFF)
        worker.legs[name] = Leg(name, tracked, 30.0, 0.0, answered=True)  # type: ignore[arg-type]
    worker.legs["customer"].partner = "agent"
    worker.legs["agent"].partner = "customer"
    return worker


def test_bridge_only() -> None:
    assert _worker()._feeds() == {"customer": ["agent"], "agent": ["customer"]}


@pytest.mark.parametrize(
    ("mode", "customer_hears", "agent_hears"),
    [
        ("listen", ["agent"], ["customer"]),
        ("whisper", ["agent"], ["customer", "supervisor"]),
        ("barge", ["agent", "supervisor"], ["customer", "supervisor"]),
    ],
)
def test_supervisor_modes(mode: str, customer_hears: list[str], agent_hears: list[str]) -> None:
    worker = _worker()
    worker.legs["customer"].supervisor = "supervisor"
    worker.legs["customer"].supervise_mode = mode
    feeds = worker._feeds()
    assert feeds["supervisor"] == ["customer", "agent"]  # hears both sides in every mode
    assert feeds["customer"] == customer_hears
    assert feeds["agent"] == agent_hears


def test_mix_sums_and_clips() -> None:
    a = np.full(160, 20000, dtype="<i2").tobytes()
    b = np.full(160, 20000, dtype="<i2").tobytes()
    c = np.full(80, -100, dtype="<i2").tobytes()
    mixed = np.frombuffer(mix([a, b, c]), dtype="<i2")
    assert len(mixed) == 160
    assert mixed.max() == 32767
    assert mix([]) == b"" and mix([b"", a]) == a
