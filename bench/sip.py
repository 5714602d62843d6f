"""SIP engine capacity on loopback: concurrent bridged + recorded calls, CPU per leg, media
health from the library's own counters, and answer → audio latencies with marked audio.

Far ends: SIPp's built-in ``uas`` scenario with ``-rtp_echo`` (every RTP packet echoed back,
so every leg carries audio both ways) for the load, and our PSTN peer (``gatehouse pstn-peer``,
``probe`` behaviour) for the latency probes. For each N the engine holds 2N legs in its one
media worker:

* N − P SIPp pairs, bridged in Python, one leg of each pair recorded (encrypted);
* P probe slots (P = min(5, N // 2)): a nailed-up agent leg to the peer, and a stream of
  callee calls to the peer, one at a time per slot. On each callee's ANSWERED event the bench
  bridges it to the slot's agent leg, starts recording it and plays the information message
  into it (both directions at once: the message goes to the callee, the callee's voice goes
  to the agent). The callee talks (1 kHz tone) from its answer for 0.6 s, then sends a 100 ms
  burst every 0.5 s, and hangs up after 3 s; the agent leg is silent and logs every onset.

Measured from the peer's log (``time.monotonic()``, one clock: both probe ends are in the
peer process): answer → information message (callee hears the first sample of the message),
answer → agent audio (the agent hears the callee's first sound; includes the coordinator's
reaction to ANSWERED and the bridge command), and mouth → ear through the bridge (each burst,
sent into an empty transmit queue, to its onset at the agent: two full stack hops, jitter
buffers included, plus the Python bridge, so an upper bound on what the bridge adds).

Media health: every leg's closing report from the worker's ``closed`` event (the library's
``CallStats``): jitter-buffer late frames / RTP packets received, starved transmit frames,
discarded receive audio (``rx_discarded_bytes`` + jitter-buffer overflow). Baseline in the
same run: the same 2N legs to SIPp with no bridge and no recording (the library's own cost).
Bounded: N up to the worker's 200 legs, a fixed hold, loopback only.

With ``--workers N`` (or a list, ``1,2``: one row each) the engine runs a pool of N media
workers (decision 0064). Legs are placed by the engine (least-loaded worker); the bench then
pairs the SIPp legs so that a share ``1 − 1/N`` of the bridges join legs in two workers (the
share an agent leg spread at random would give) and go through the relay, the rest stay in
one worker. Probe callees land where the engine puts them; their mouth → ear is split into
relayed and local bridges, and every relay leg reports each datagram's age when the other
worker's media loop took it (what the relay adds). CPU is the sum over the workers.

    python bench/sip.py [--pairs 10,25,50,100] [--hold 15] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import yaml
from rich.console import Console
from rich.table import Table

from gatehouse.telephony.port import CallEvent, CallEventKind, DialRequest
from gatehouse.telephony.sip.engine import SipEngine, SipEngineConfig, free_loopback_port
from gatehouse.telephony.sip.pstn_peer import read_log, speech

PROBE_SLOTS = 5
CALLEE = {
    "behaviour": "probe",
    "ring_s": 0.2,
    "talk_s": 0.6,
    "pulse_every_s": 0.5,
    "hangup_after_s": 3.0,
}
AGENT = {"behaviour": "probe", "ring_s": 0.1, "hangup_after_s": 600}
INFO_TEXT = "This is Northfield Research. Sorry we missed you. To opt out, call 0161 496 0000."


@dataclass
class Peer:
    proc: subprocess.Popen[bytes]
    listen: str
    log: Path

    def events(self) -> list[dict[str, Any]]:
        return read_log(self.log)


def start_peer(tmp: Path) -> Peer:
    listen = f"127.0.0.1:{free_loopback_port()}"
    log = tmp / "peer.jsonl"
    numbers = {f"callee-{i}": CALLEE for i in range(PROBE_SLOTS)}
    numbers |= {f"agent-{i}": AGENT for i in range(PROBE_SLOTS)}
    config = tmp / "peer.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "listen": listen,
                "log": str(log),
                "record_dir": str(tmp / "heard"),
                "numbers": numbers,
            }
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatehouse.cli.main", "pstn-peer", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "peer.err").open("ab"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    peer = Peer(proc, listen, log)
    deadline = time.monotonic() + 40
    while not any(e["event"] == "ready" for e in peer.events()):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("the PSTN peer did not start: " + (tmp / "peer.err").read_text())
        time.sleep(0.1)
    return peer


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def info_prompt(tmp: Path) -> Path:
    """The information message, leading silence trimmed (we time the engine, not espeak)."""
    pcm = np.frombuffer(speech(INFO_TEXT, tmp / "tts"), dtype="<i2")
    loud = np.flatnonzero(np.abs(pcm) > 1500)
    path = tmp / "info.raw"
    path.write_bytes(pcm[int(loud[0]) if loud.size else 0 :].tobytes())
    return path


@dataclass
class Run:
    answered: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    waiters: dict[tuple[str, CallEventKind], asyncio.Future[None]] = field(default_factory=dict)

    def on_event(self, event: CallEvent) -> None:
        if event.kind is CallEventKind.ANSWERED:
            self.answered.add(event.call_id)
        elif event.kind in (CallEventKind.FAILED, CallEventKind.NO_ANSWER, CallEventKind.BUSY):
            self.failed.add(event.call_id)
        elif event.kind is CallEventKind.HUNG_UP:
            self.closed.add(event.call_id)
        ended = event.kind in (
            CallEventKind.FAILED,
            CallEventKind.NO_ANSWER,
            CallEventKind.BUSY,
            CallEventKind.HUNG_UP,
        )
        # The end of a call also releases whoever waits for its answer or its end.
        kinds = (CallEventKind.ANSWERED, CallEventKind.HUNG_UP) if ended else (event.kind,)
        for kind in kinds:
            waiter = self.waiters.pop((event.call_id, kind), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def wait(self, call_id: str, kind: CallEventKind) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if (kind is CallEventKind.ANSWERED and call_id in self.answered) or (
            kind is CallEventKind.HUNG_UP and call_id in self.closed | self.failed
        ):
            future.set_result(None)
        else:
            self.waiters[(call_id, kind)] = future
        return future


async def probe_slot(
    engine: SipEngine, run: Run, slot: int, agent_leg: str, until: float, relayed: list[bool]
) -> int:
    """Callee calls to the peer, one at a time, each bridged to the slot's agent leg at once
    (``relayed``: per callee, in order, whether its bridge crossed workers)."""
    placed = 0
    while time.monotonic() < until - 3.5:  # only calls that can finish inside the hold
        callee = await engine.open_agent_leg(f"callee-{slot}")
        relayed.append(engine.worker_of(callee) != engine.worker_of(agent_leg))
        placed += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.wait(callee, CallEventKind.ANSWERED), 10)
        if callee not in run.answered or callee in run.closed | run.failed:
            await engine.hangup(callee)
            continue
        await engine.bridge(callee, agent_leg)
        await engine.play_prompt(callee, "info")
        await engine.start_recording(callee, f"rec-{callee}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.wait(callee, CallEventKind.HUNG_UP), 10)
    return placed


def pair_up(
    legs: list[str], worker_of: dict[str, int], relayed_share: float
) -> list[tuple[str, str]]:
    """Pairs of legs, ``relayed_share`` of them across two workers (as far as the legs'
    placement allows), the rest inside one."""
    buckets: dict[int, list[str]] = {}
    for leg in legs:
        buckets.setdefault(worker_of[leg], []).append(leg)
    crossing = round(len(legs) // 2 * relayed_share)
    pairs: list[tuple[str, str]] = []
    while sum(len(b) for b in buckets.values()) >= 2:
        full = sorted((b for b in buckets.values() if b), key=len, reverse=True)
        if len(pairs) < crossing and len(full) >= 2:
            pairs.append((full[0].pop(), full[1].pop()))
        elif len(full[0]) >= 2:
            pairs.append((full[0].pop(), full[0].pop()))
        else:
            pairs.append((full[0].pop(), full[1].pop()))
    return pairs


async def run_once(
    pairs: int, hold: float, bridged: bool, tmp: Path, peer: Peer, prompt: Path, workers: int = 1
) -> dict[str, Any]:
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
    slots = min(PROBE_SLOTS, pairs // 2) if bridged else 0
    phones = {
        f"{who}-{i}": f"sip:{who}-{i}@{peer.listen}"
        for who in ("callee", "agent")
        for i in range(slots)
    }
    engine = SipEngine(
        SipEngineConfig(
            trunk=f"127.0.0.1:{port}",
            recordings_dir=tmp / f"rec-{pairs}-{bridged}",
            prompts={"info": prompt},
            agent_phones=phones,
            media_workers=workers,
        ),
        resolver=lambda ref: ref,
        keys=lambda _t: (bytes(32), "bench"),
    )
    run = Run()
    relays: list[dict[str, Any]] = []
    engine.subscribe(run.on_event)
    engine.on_media_stats(lambda call_id, stats: run.stats.__setitem__(call_id, stats))
    engine.on_relay_stats(lambda _leg, report: relays.append(report))
    log_from = len(peer.events())
    await engine.start()
    try:
        started = time.monotonic()
        ids = []
        for i in range(2 * (pairs - slots)):
            ids.append(
                await engine.place_call(
                    DialRequest(
                        attempt_id=f"b{i}",
                        campaign_id="bench",
                        contact_ref=f"+441174960{i:03d}",
                        caller_id="+441174960000",
                        ring_timeout_s=30,
                    )
                )
            )
        agents = [await engine.open_agent_leg(f"agent-{i}") for i in range(slots)]
        ids += agents
        deadline = time.monotonic() + 60
        while len(run.answered) + len(run.failed) < len(ids) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        setup_s = time.monotonic() - started
        sipp_legs = [leg for leg in ids[: 2 * (pairs - slots)] if leg in run.answered]
        placement = {leg: engine.worker_of(leg) or 0 for leg in sipp_legs}
        load_pairs = pair_up(sipp_legs, placement, 1 - 1 / workers)
        relayed_pairs = sum(1 for a, b in load_pairs if placement[a] != placement[b])
        if bridged:
            for a, b in load_pairs:
                await engine.bridge(a, b)
                await engine.start_recording(a, f"rec-{a}")
        procs = [psutil.Process(pid) for pid in engine.worker_pids if pid is not None]
        for proc in procs:
            proc.cpu_percent(None)
        until = time.monotonic() + hold
        relayed_probe: list[list[bool]] = [[] for _ in range(slots)]
        probes = [
            asyncio.create_task(probe_slot(engine, run, i, agents[i], until, relayed_probe[i]))
            for i in range(slots)
        ]
        await asyncio.sleep(max(0.0, until - time.monotonic()))
        per_worker = [proc.cpu_percent(None) for proc in procs]
        cpu = sum(per_worker)
        placed = sum(await asyncio.gather(*probes))
        if bridged:  # relay reports end with the hold, not with a loaded teardown's stalls
            for a, _b in load_pairs:
                await engine.unbridge(a)
            await asyncio.sleep(0.3)
        for call_id in ids:
            await engine.hangup(call_id)
        deadline = time.monotonic() + 20
        while len(run.closed) < len(run.answered) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        load_answered = len(run.answered & set(ids))
        await asyncio.sleep(0.5)  # the relay legs' reports follow their calls' ends
        return {
            "workers": workers,
            "relayed_pairs": f"{relayed_pairs}/{len(load_pairs)}" if bridged else "—",
            "cpu_per_worker": per_worker,
            "relay": relay_delays(relays),
            "legs": 2 * pairs,
            "answered": load_answered,
            "false_no_answer": len(ids) - load_answered,
            "probe_calls": placed,
            "probe_answered": len(run.answered - set(ids)),
            "setup_cps": len(ids) / setup_s,
            "cpu_pct": cpu,
            # a probe slot holds a callee leg most of the hold (3 s of every ~3.5 s)
            "cpu_per_leg": cpu / max(1, load_answered + slots),
            **media_health(list(run.stats.values()), len(run.answered)),
            **latencies(peer.events()[log_from:], relayed_probe),
            "per_leg": {
                ("load " if call_id in ids else "probe ") + call_id: stats
                for call_id, stats in run.stats.items()
            },
        }
    finally:
        await engine.close()
        stop(sipp)


def media_health(stats: list[dict[str, Any]], answered: int) -> dict[str, Any]:
    def total(key: str) -> int:
        return sum(int(s.get(key) or 0) for s in stats)

    def audio(key: str) -> int:
        return sum(int((s.get("audio") or {}).get(key) or 0) for s in stats)

    rx = total("rx_packets")
    late_pct = [
        100 * (s.get("jbuf_late") or 0) / s["rx_packets"] for s in stats if s.get("rx_packets")
    ]
    return {
        "stats_legs": f"{len(stats)}/{answered}",
        "audio_legs": sum(1 for s in stats if s.get("audio")),
        "jbuf_reported": all(s.get("jbuf_late") is not None for s in stats),
        "late_pct": 100 * total("jbuf_late") / rx if rx else float("nan"),
        "late_pct_worst_leg": max(late_pct, default=float("nan")),
        "late_legs_over_2pct": sum(1 for p in late_pct if p >= 2),
        "starved": audio("tx_starved_frames"),
        "discarded_frames": audio("rx_discarded_bytes") / 320 + total("jbuf_overflow"),
        "dropped_bytes": audio("rx_dropped_bytes"),
        "jbuf_lost": total("jbuf_lost"),
        "rx_lost": total("rx_lost"),
    }


def relay_delays(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Over every relay leg: the median leg's p50 and the worst leg's p99 of each datagram's
    age when the receiving worker's media loop took it (ms), and datagrams lost/dropped."""
    p50 = [r["delay_ms_p50"] for r in reports if r.get("delay_ms_p50") is not None]
    p99 = [r["delay_ms_p99"] for r in reports if r.get("delay_ms_p99") is not None]
    return {
        "legs": len(reports),
        "p50_ms": float(np.median(p50)) if p50 else None,
        "p99_worst_ms": max(p99, default=None),
        "p99_median_ms": float(np.median(p99)) if p99 else None,
        "lost": sum(int(r.get("lost") or 0) for r in reports),
        "dropped_frames": sum(int(r.get("dropped_frames") or 0) for r in reports),
    }


def latencies(
    log: list[dict[str, Any]], relayed: list[list[bool]] | None = None
) -> dict[str, list[float]]:
    """Answer → information message, answer → agent audio, mouth → ear (seconds); mouth →
    ear also split by whether the callee's bridge was relayed (``relayed[slot]``: per callee
    in dialling order, matched to the peer's calls to ``callee-<slot>`` in arrival order)."""
    number = {e["call"]: e["number"] for e in log if e["event"] == "incoming"}
    by_call: dict[int, list[dict[str, Any]]] = {}
    for e in log:
        if "call" in e:
            by_call.setdefault(e["call"], []).append(e)
    onsets: dict[str, list[float]] = {}  # agent number -> onset times
    for call, events in by_call.items():
        if str(number.get(call, "")).startswith("agent-"):
            onsets.setdefault(number[call], []).extend(
                float(e["at"]) for e in events if e["event"] == "onset"
            )
    info: list[float] = []
    agent_audio: list[float] = []
    mouth_ear: list[float] = []
    split: dict[str, list[float]] = {"mouth_ear_relayed": [], "mouth_ear_local": []}
    seen: dict[str, int] = {}
    for call, events in sorted(by_call.items()):
        name = str(number.get(call, ""))
        if not name.startswith("callee-"):
            continue
        nth = seen[name] = seen.get(name, -1) + 1
        flags = (relayed or [])[int(name.removeprefix("callee-"))] if relayed else []
        side = None if nth >= len(flags) else ("relayed" if flags[nth] else "local")
        answered = next((float(e["t"]) for e in events if e["event"] == "answered"), None)
        closed = next((float(e["t"]) for e in events if e["event"] == "closed"), None)
        if answered is None or closed is None:
            continue
        first = next((float(e["at"]) for e in events if e["event"] == "first_audio"), None)
        if first is not None:
            info.append(first - answered)
        heard = sorted(onsets.get("agent-" + name.removeprefix("callee-"), []))
        during = [t for t in heard if answered < t < closed + 0.5]
        if during:
            agent_audio.append(during[0] - answered)
        for pulse in (float(e["t"]) for e in events if e["event"] == "pulse"):
            match = [t for t in heard if pulse < t < pulse + 0.45]
            if match:
                mouth_ear.append(match[0] - pulse)
                if side is not None:
                    split[f"mouth_ear_{side}"].append(match[0] - pulse)
    return {"info": info, "agent_audio": agent_audio, "mouth_ear": mouth_ear, **split}


def late(r: dict[str, Any]) -> str:
    return f"{r['late_pct']:.1f} ({r['late_legs_over_2pct']}, {r['late_pct_worst_leg']:.0f})"


def pct(values: list[float]) -> str:
    if not values:
        return "—"
    ms = np.array(values) * 1000
    return f"{np.percentile(ms, 50):.0f} / {np.percentile(ms, 99):.0f} (n={len(ms)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", default="10,25,50")
    parser.add_argument("--hold", type=float, default=15.0)
    parser.add_argument(
        "--workers", default="1", help="media workers: N, or a list (1,2) for one row each"
    )
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    args = parser.parse_args()
    pool = [int(w) for w in str(args.workers).split(",")]
    if any(not 1 <= w <= 16 for w in pool):
        raise SystemExit("--workers: 1 to 16")
    console = Console(width=250)
    table = Table(title="SIP engine on loopback: media workers, SIPp -rtp_echo far ends")
    for column in (
        "pairs",
        "workers",
        "legs",
        "answered",
        "false no-answer",
        "setup calls/s",
        "relayed pairs",
        "CPU % all workers (bridged+recorded)",
        "per worker",
        "baseline CPU % (plain legs)",
        "CPU per leg (ratio to baseline)",
    ):
        table.add_column(column, justify="right")
    media = Table(title="Media health (library CallStats, all legs) and latency (PSTN peer probes)")
    for column in (
        "pairs",
        "workers",
        "stats legs",
        "late % (legs ≥ 2 %, worst)",
        "baseline late % (legs ≥ 2 %, worst)",
        "starved",
        "discarded frames",
        "probe calls answered",
        "answer→info msg p50/p99 ms",
        "answer→agent audio p50/p99 ms",
        "mouth→ear via bridge p50/p99 ms",
        "… relayed bridges",
        "… local bridges",
        "relay adds p50 / p99 ms (worst leg; legs)",
    ):
        media.add_column(column, justify="right")
    results = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        prompt = info_prompt(tmp)
        peer = start_peer(tmp)
        try:
            for pairs in (int(p) for p in args.pairs.split(",")):
                for workers in pool:
                    with console.status(f"{pairs} pairs, {workers} workers"):
                        base = asyncio.run(
                            run_once(pairs, args.hold, False, tmp, peer, prompt, workers)
                        )
                        full = asyncio.run(
                            run_once(pairs, args.hold, True, tmp, peer, prompt, workers)
                        )
                    results.append(
                        {"pairs": pairs, "workers": workers, "baseline": base, "bridged": full}
                    )
                    ratio = (
                        full["cpu_per_leg"] / base["cpu_per_leg"]
                        if base["cpu_per_leg"]
                        else float("nan")
                    )
                    relay = full["relay"]
                    table.add_row(
                        str(pairs),
                        str(workers),
                        f"{full['legs']:.0f}",
                        f"{full['answered']:.0f}",
                        f"{full['false_no_answer']:.0f}",
                        f"{full['setup_cps']:.1f}",
                        full["relayed_pairs"],
                        f"{full['cpu_pct']:.1f}",
                        " + ".join(f"{c:.0f}" for c in full["cpu_per_worker"]),
                        f"{base['cpu_pct']:.1f}",
                        f"{full['cpu_per_leg']:.2f} ({ratio:.2f}x)",
                    )
                    media.add_row(
                        str(pairs),
                        str(workers),
                        full["stats_legs"],
                        late(full),
                        late(base),
                        f"{full['starved']} (base {base['starved']})",
                        f"{full['discarded_frames']:.0f} (base {base['discarded_frames']:.0f})",
                        f"{full['probe_answered']}/{full['probe_calls']}",
                        pct(full["info"]),
                        pct(full["agent_audio"]),
                        pct(full["mouth_ear"]),
                        pct(full["mouth_ear_relayed"]),
                        pct(full["mouth_ear_local"]),
                        "—"
                        if relay["p50_ms"] is None
                        else f"{relay['p50_ms']:.0f} / {relay['p99_worst_ms']:.0f} "
                        f"({relay['legs']})",
                    )
        finally:
            stop(peer.proc)
    console.print(table)
    console.print(media)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
