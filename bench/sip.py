"""SIP engine capacity on loopback: concurrent bridged + recorded calls, CPU per leg.

Far end: SIPp's built-in ``uas`` scenario with ``-rtp_echo`` (every RTP packet echoed back,
so every leg carries audio both ways). For each N, the engine places 2N calls, bridges them
in pairs and records one leg of each pair (encrypted), holds for a while, then hangs up.
Baseline in the same run: the same 2N legs with no bridge and no recording (the library's own
cost). Bounded: N up to --max-pairs, a fixed hold, loopback only.

    python bench/sip.py [--pairs 10,25,50] [--hold 8]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

from gatehouse.telephony.port import CallEvent, CallEventKind, DialRequest
from gatehouse.telephony.sip.engine import SipEngine, SipEngineConfig, free_loopback_port


async def run_once(pairs: int, hold: float, bridged: bool, tmp: Path) -> dict[str, float]:
    port = free_loopback_port()
    sipp = subprocess.Popen(
        [
            shutil.which("sipp") or "sipp",
            "-sn",
            "uas",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-rtp_echo",
            "-nostdin",
            "-timeout",
            str(int(hold + 120)) + "s",
        ],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    engine = SipEngine(
        SipEngineConfig(trunk=f"127.0.0.1:{port}", recordings_dir=tmp / f"rec-{pairs}-{bridged}"),
        resolver=lambda ref: ref,
        keys=lambda _t: (bytes(32), "bench"),
    )
    answered: set[str] = set()
    failed: set[str] = set()
    closed: set[str] = set()

    def on_event(event: CallEvent) -> None:
        if event.kind is CallEventKind.ANSWERED:
            answered.add(event.call_id)
        elif event.kind in (CallEventKind.FAILED, CallEventKind.NO_ANSWER, CallEventKind.BUSY):
            failed.add(event.call_id)
        elif event.kind is CallEventKind.HUNG_UP:
            closed.add(event.call_id)

    engine.subscribe(on_event)
    await engine.start()
    try:
        started = time.monotonic()
        ids = []
        for i in range(2 * pairs):
            ids.append(
                await engine.place_call(
                    DialRequest(
                        attempt_id=f"b{i}",
                        campaign_id="bench",
                        contact_ref=f"+4411749600{i:02d}",
                        caller_id="+441174960000",
                        ring_timeout_s=30,
                    )
                )
            )
        deadline = time.monotonic() + 60
        while len(answered) + len(failed) < len(ids) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        setup_s = time.monotonic() - started
        if bridged:
            for a, b in zip(ids[0::2], ids[1::2], strict=True):
                await engine.bridge(a, b)
                await engine.start_recording(a, f"rec-{a}")
        worker = psutil.Process(engine.worker_pid)
        worker.cpu_percent(None)
        await asyncio.sleep(hold)
        cpu = worker.cpu_percent(None)
        for call_id in ids:
            await engine.hangup(call_id)
        deadline = time.monotonic() + 20
        while len(closed) < len(answered) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return {
            "legs": 2 * pairs,
            "answered": len(answered),
            "false_no_answer": len(ids) - len(answered),
            "setup_cps": len(ids) / setup_s,
            "cpu_pct": cpu,
            "cpu_per_leg": cpu / max(1, len(answered)),
        }
    finally:
        await engine.close()
        sipp.terminate()
        try:
            sipp.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sipp.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", default="10,25,50")
    parser.add_argument("--hold", type=float, default=8.0)
    args = parser.parse_args()
    console = Console()
    table = Table(title="SIP engine on loopback: one media worker, SIPp -rtp_echo far ends")
    for column in (
        "pairs",
        "legs",
        "answered",
        "false no-answer",
        "setup calls/s",
        "worker CPU % (bridged+recorded)",
        "baseline CPU % (plain legs)",
        "CPU per leg (ratio to baseline)",
    ):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for pairs in (int(p) for p in args.pairs.split(",")):
            with console.status(f"{pairs} pairs"):
                base = asyncio.run(run_once(pairs, args.hold, False, Path(tmp)))
                full = asyncio.run(run_once(pairs, args.hold, True, Path(tmp)))
            ratio = (
                full["cpu_per_leg"] / base["cpu_per_leg"] if base["cpu_per_leg"] else float("nan")
            )
            table.add_row(
                str(pairs),
                f"{full['legs']:.0f}",
                f"{full['answered']:.0f}",
                f"{full['false_no_answer']:.0f}",
                f"{full['setup_cps']:.1f}",
                f"{full['cpu_pct']:.1f}",
                f"{base['cpu_pct']:.1f}",
                f"{full['cpu_per_leg']:.2f} ({ratio:.2f}x)",
            )
    console.print(table)


if __name__ == "__main__":
    main()
