"""Interop with an independent SIP stack: SIPp (Debian's sip-tester) as callee and as attacker."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gatehouse.telephony.port import CallEvent, CallEventKind, DialRequest
from gatehouse.telephony.sip.engine import SipEngine, SipEngineConfig, free_loopback_port
from tests.integration.sip.conftest import Peer
from tests.integration.sip.test_sip_engine import _next, _request

SIPP = shutil.which("sipp")
SCENARIOS = Path(__file__).resolve().parents[2] / "sipp"
pytestmark = [
    pytest.mark.sip,
    pytest.mark.sipp,
    pytest.mark.timeout(120),
    pytest.mark.skipif(SIPP is None, reason="sip-tester is installed by scripts/test"),
]


def _sipp_uas(scenario: str, port: int, tmp: Path) -> subprocess.Popen[bytes]:
    assert SIPP
    return subprocess.Popen(
        [
            SIPP,
            "-sf",
            str(SCENARIOS / scenario),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            "1",
            "-rtp_echo",
            "-timeout",
            "40s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
            "-error_file",
            str(tmp / f"{scenario}.err"),
        ],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _engine(trunk: str, tmp: Path) -> SipEngine:
    return SipEngine(
        SipEngineConfig(trunk=trunk, recordings_dir=tmp / "rec"),
        resolver=lambda ref: ref,
        keys=lambda _t: (bytes(32), "k"),
    )


def test_sipp_uas_answers_and_takes_our_bye(tmp_path: Path) -> None:
    port = free_loopback_port()
    sipp = _sipp_uas("uas_answer.xml", port, tmp_path)

    async def main() -> None:
        engine = _engine(f"127.0.0.1:{port}", tmp_path)
        events: asyncio.Queue[CallEvent] = asyncio.Queue()
        engine.subscribe(events.put_nowait)
        await engine.start()
        try:
            call_id = await engine.place_call(_request("+441614960201", "sipp-1"))
            await _next(events, CallEventKind.RINGING, call_id)
            await _next(events, CallEventKind.ANSWERED, call_id)
            await asyncio.sleep(1.0)  # audio flows (SIPp echoes RTP)
            await engine.hangup(call_id)
            await _next(events, CallEventKind.HUNG_UP, call_id)
        finally:
            await engine.close()

    try:
        asyncio.run(main())
        assert sipp.wait(timeout=30) == 0, "SIPp saw the scenario fail"
    finally:
        if sipp.poll() is None:
            sipp.kill()


def test_sipp_decline_is_a_failed_call_with_its_status(tmp_path: Path) -> None:
    port = free_loopback_port()
    sipp = _sipp_uas("uas_decline.xml", port, tmp_path)

    async def main() -> CallEvent:
        engine = _engine(f"127.0.0.1:{port}", tmp_path)
        events: asyncio.Queue[CallEvent] = asyncio.Queue()
        engine.subscribe(events.put_nowait)
        await engine.start()
        try:
            call_id = await engine.place_call(_request("+441614960202", "sipp-2"))
            return await _next(events, CallEventKind.FAILED, call_id)
        finally:
            await engine.close()

    try:
        failed = asyncio.run(main())
        assert failed.sip_status == 603
        sipp.wait(timeout=30)
    finally:
        if sipp.poll() is None:
            sipp.kill()


def test_hostile_messages_and_a_bounded_flood_leave_the_engine_working(
    pstn_peer: Peer, tmp_path: Path
) -> None:
    assert SIPP

    async def main() -> None:
        engine = _engine(pstn_peer.listen, tmp_path)
        events: asyncio.Queue[CallEvent] = asyncio.Queue()
        engine.subscribe(events.put_nowait)
        await engine.start()
        try:
            target = engine.listen_address
            pid = engine.worker_pid
            common = [
                "-i",
                "127.0.0.1",
                "-p",
                str(free_loopback_port()),
                "-nostdin",
                "-timeout",
                "15s",
            ]
            hostile = await asyncio.create_subprocess_exec(
                SIPP,
                "-sf",
                str(SCENARIOS / "uac_hostile.xml"),
                target,
                "-m",
                "3",
                *common,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await asyncio.wait_for(hostile.wait(), 30)
            flood = await asyncio.create_subprocess_exec(  # 40 INVITEs at 20/s, bounded
                SIPP,
                "-sn",
                "uac",
                target,
                "-m",
                "40",
                "-r",
                "20",
                *common,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await asyncio.wait_for(flood.wait(), 40)
            assert engine.worker_pid == pid, "the media worker died"
            os.kill(pid, 0)
            # Still placing and answering real calls.
            call_id = await engine.place_call(_request("+441614960101", "after-flood"))
            await _next(events, CallEventKind.ANSWERED, call_id)
            await engine.hangup(call_id)
            await _next(events, CallEventKind.HUNG_UP, call_id)
        finally:
            await engine.close()

    asyncio.run(main())


def test_dial_requests_below_fifteen_seconds_are_refused() -> None:
    with pytest.raises(ValueError, match="15 s"):
        DialRequest(
            attempt_id="x", campaign_id="c", contact_ref="r", caller_id="+44", ring_timeout_s=10
        )
