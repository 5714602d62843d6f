"""The SIP media worker process: one baresip runtime, driven by JSON lines on stdin.

Run by :class:`gatehouse.telephony.sip.engine.SipEngine` (``python -m
gatehouse.telephony.sip.worker --listen 127.0.0.1:PORT``). Commands arrive one JSON object per
line on stdin; events leave one per line on stdout. The worker owns media: prompts written
into calls, two-call bridges (a PCM copy each way, 20 ms frames, queues capped at 60 ms),
per-call recording encrypted while written (stereo: left the far end, right what we
sent it), answering-machine detection on the far end's audio after the answer (a dial with
``amd`` parameters; one ``amd`` report with the verdict, by the analysis cap at the latest)
and DTMF both ways. It never decides anything about a campaign: that is the coordinator's job.

In a pool of workers (``--relay 127.0.0.1``, decision 0064) a bridge may join a leg here to a
leg in another worker. Each side then holds a *relay leg*: a stand-in, under the real leg's id,
for the leg in the other worker, whose audio arrives and leaves as UDP datagrams on loopback
(``remote`` / ``drop_remote`` commands). A relay leg is answered, has no SIP call, and is
bridged, mixed, supervised and recorded by the same code as a local leg.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import socket
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gatehouse.adapters.crypto.recording import AesGcmKeyWrapper, RecordingWriter
from gatehouse.telephony.amd import AmdDecision, AmdDetector, AmdParameters
from gatehouse.telephony.sip.host import (
    FRAME_MS,
    SipHost,
    TrackedCall,
    audio_stats,
    read_audio,
    write_audio,
)

RATE = 8000
FRAME_BYTES = RATE * 2 * FRAME_MS // 1000
AUDIO_STATS_EVERY = 25  # ticks (0.5 s): live AudioStats snapshot per answered leg
# A relay datagram: stream id, sequence number, the sender's time.monotonic() (one clock for
# every process on the host), then s16 PCM as read from the leg (at most a few frames).
RELAY_HEADER = struct.Struct("!IId")
RELAY_QUEUE_CAP_BYTES = FRAME_BYTES * 3  # 60 ms, like a leg's transmit queue: older is dropped
RELAY_SOCKET_BUFFER = 4 << 20  # asked for; the kernel may cap it (net.core.rmem_max)
RELAY_DRAIN_MAX = 20_000  # datagrams per tick at most (200 relay legs x a 2 s stall)


class RelayAudio:
    """The ``call.audio`` of a relay leg: ``read`` takes what the other worker sent for this
    stream (oldest first, never more than 60 ms queued), ``write`` sends a datagram to it.
    Never raises (a lost peer worker is the coordinator's business), like ``read_audio``.
    Also measures what the relay adds: each datagram's age when the media loop takes it."""

    def __init__(self, stream: int, peer: tuple[str, int], send: Any) -> None:
        self.stream = stream
        self.peer = peer
        self._send = send  # the worker's relay transport's sendto
        self._queue: deque[tuple[float, bytes]] = deque()
        self._queued = 0
        self._seq = 0
        self._next_seq: int | None = None
        self.sent = 0
        self.received = 0
        self.lost = 0  # sequence gaps
        self.dropped = 0  # frames dropped because the queue was over its cap
        self.delays_ms: list[float] = []  # sent -> taken by our media loop, per datagram

    def arrived(self, seq: int, sent_at: float, pcm: bytes) -> None:
        self.received += 1
        if self._next_seq is not None and seq > self._next_seq:
            self.lost += seq - self._next_seq
        self._next_seq = seq + 1
        self._queue.append((sent_at, pcm))
        self._queued += len(pcm)
        while self._queued > RELAY_QUEUE_CAP_BYTES and len(self._queue) > 1:
            _, old = self._queue.popleft()
            self._queued -= len(old)
            self.dropped += len(old) // FRAME_BYTES

    def read(self, max_bytes: int) -> bytes:
        out = bytearray()
        now = time.monotonic()
        while self._queue and len(out) + len(self._queue[0][1]) <= max_bytes:
            sent_at, pcm = self._queue.popleft()
            self._queued -= len(pcm)
            out += pcm
            if len(self.delays_ms) < 100_000:
                self.delays_ms.append((now - sent_at) * 1000)
        return bytes(out)

    def write(self, pcm: bytes) -> int:
        with contextlib.suppress(OSError):
            self._send(RELAY_HEADER.pack(self.stream, self._seq, time.monotonic()) + pcm, self.peer)
            self._seq += 1
            self.sent += 1
        return len(pcm)

    def info(self) -> Any:
        return _RelayInfo()

    def flush_tx(self) -> None:
        pass

    def stats(self) -> None:
        return None

    def report(self) -> dict[str, Any]:
        delays = np.array(self.delays_ms) if self.delays_ms else None
        return {
            "stream": self.stream,
            "sent": self.sent,
            "received": self.received,
            "lost": self.lost,
            "dropped_frames": self.dropped,
            "delay_ms_p50": None if delays is None else round(float(np.percentile(delays, 50)), 2),
            "delay_ms_p99": None if delays is None else round(float(np.percentile(delays, 99)), 2),
            "delay_ms_max": None if delays is None else round(float(delays.max()), 2),
        }


@dataclass(frozen=True)
class _RelayInfo:
    tx_buffered: int = 0


class RelayCall:
    """The ``call`` of a relay leg: it has audio and nothing else to do."""

    def __init__(self, audio: RelayAudio) -> None:
        self.audio = audio

    async def hangup(self) -> None:
        return None

    async def send_dtmf(self, digits: str) -> None:
        raise ValueError("a relay leg cannot send DTMF: send it on the worker with the call")


@dataclass
class Leg:
    id: str
    tracked: TrackedCall
    ring_timeout: float
    dialled_at: float
    answered: bool = False
    prompt: bytearray = field(default_factory=bytearray)
    prompt_id: str | None = None
    partner: str | None = None
    recorder: RecordingWriter | None = None
    timed_out: bool = False
    supervisor: str | None = None  # a supervisor leg listening to this (customer) leg
    supervise_mode: str = "listen"
    audio: Any = None  # the last live baresip.AudioStats snapshot
    amd_params: AmdParameters | None = None  # AMD requested for this call
    amd: AmdDetector | None = None  # running from the answer until its verdict
    answered_at: float = 0.0
    dtmf: asyncio.Task[None] | None = None  # digits being sent, one send after another
    relay: RelayAudio | None = None  # a relay leg: a stand-in for a leg in another worker


class Worker:
    def __init__(self, listen: str, relay_host: str = "") -> None:
        self.host = SipHost(listen, user="gatehouse", max_calls=200)
        self.legs: dict[str, Leg] = {}
        self.by_handle: dict[int, str] = {}
        self.out = sys.stdout
        self.relay_host = relay_host  # "" = no relay socket (a single worker)
        # Non-blocking, drained by the media loop at each tick: asyncio's datagram transport
        # takes one datagram per loop iteration, which fell behind (seconds, and losses) at
        # 50 relayed pairs on a loaded 2-core host.
        self.relay_sock: socket.socket | None = None
        self.streams: dict[int, RelayAudio] = {}

    def emit(self, ev: str, **fields: Any) -> None:
        self.out.write(json.dumps({"ev": ev, "t": time.monotonic(), **fields}) + "\n")
        self.out.flush()

    async def run(self) -> None:
        await self.host.start()
        self.host.listeners.append(self._on_call_event)
        # The worker only places calls; anything arriving uninvited is refused (486).
        self.host.ua.on_incoming(self._refuse)
        if self.relay_host:
            sock = self.relay_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            with contextlib.suppress(OSError):  # best effort: room for a stalled tick or two
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RELAY_SOCKET_BUFFER)
            sock.bind((self.relay_host, 0))
            host, port = sock.getsockname()[:2]
            self.emit("ready", listen=self.host.listen, relay=f"{host}:{port}")
        else:
            self.emit("ready", listen=self.host.listen)
        media = asyncio.create_task(self._media_loop())
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break  # the coordinator went away: stop
                try:
                    command = json.loads(line)
                except ValueError:
                    self.emit("error", message="unreadable command")
                    continue
                if command.get("op") == "shutdown":
                    break
                try:
                    await self._command(command)
                except Exception as exc:
                    self.emit("error", call=command.get("call"), message=str(exc)[:300])
        finally:
            media.cancel()
            for leg in list(self.legs.values()):
                self._stop_recording(leg)
                with contextlib.suppress(Exception):
                    await leg.tracked.call.hangup()
            await self.host.close()
            if self.relay_sock is not None:
                self.relay_sock.close()

    def _drain_relay(self) -> None:
        sock = self.relay_sock
        if sock is None:
            return
        for _ in range(RELAY_DRAIN_MAX):
            try:
                data, addr = sock.recvfrom(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._relay_datagram(data, addr)

    def _relay_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < RELAY_HEADER.size:
            return
        stream, seq, sent_at = RELAY_HEADER.unpack_from(data)
        relay = self.streams.get(stream)
        # Only the worker the coordinator named for this stream may feed it.
        if relay is None or tuple(addr[:2]) != relay.peer:
            return
        relay.arrived(seq, sent_at, data[RELAY_HEADER.size :])

    def _add_remote(self, c: dict[str, Any]) -> None:
        """A relay leg standing for leg ``call`` in the worker whose relay socket is ``peer``."""
        if self.relay_sock is None:
            raise ValueError("this worker has no relay socket")
        if c["call"] in self.legs:
            raise ValueError("a leg with that id is already here")
        host, _, port = str(c["peer"]).rpartition(":")
        audio = RelayAudio(int(c["stream"]), (host, int(port)), self.relay_sock.sendto)
        tracked = TrackedCall(call=RelayCall(audio), handle=-int(c["stream"]))
        leg = Leg(c["call"], tracked, 0.0, time.monotonic(), answered=True, relay=audio)
        leg.answered_at = time.monotonic()
        self.legs[leg.id] = leg
        self.streams[audio.stream] = audio

    def _drop_remote(self, leg: Leg) -> None:
        assert leg.relay is not None
        self._stop_recording(leg)
        for other in self.legs.values():
            if other.partner == leg.id:
                other.partner = None
            if other.supervisor == leg.id:
                other.supervisor = None
        self.legs.pop(leg.id, None)
        self.streams.pop(leg.relay.stream, None)
        self.emit("relay_closed", call=leg.id, **leg.relay.report())

    async def _command(self, c: dict[str, Any]) -> None:
        op = c.get("op")
        if op == "dial":
            if c["call"] in self.legs:
                return  # idempotent per call id
            tracked = await self.host.dial(c["uri"], c.get("headers"))
            new_leg = Leg(c["call"], tracked, float(c["ring_timeout"]), time.monotonic())
            if c.get("amd"):
                new_leg.amd_params = AmdParameters(**c["amd"])
            self.legs[new_leg.id] = new_leg
            self.by_handle[tracked.handle] = new_leg.id
            tracked.call.on_dtmf(lambda d, leg_id=new_leg.id: self._on_dtmf(leg_id, d))
            # Events may already have arrived for this handle (a fast answer).
            if tracked.ringing_at is not None:
                self._on_call_event("ringing", tracked)
            if tracked.established_at is not None:
                self._on_call_event("established", tracked)
            if tracked.closed_at is not None:
                self._on_call_event("closed", tracked)
            return
        if op == "remote":
            self._add_remote(c)
            return
        leg = self.legs.get(c.get("call", ""))
        if leg is None:
            self.emit("error", call=c.get("call"), message=f"no such call for {op}")
            return
        if op == "drop_remote":
            if leg.relay is None:
                raise ValueError("not a relay leg")
            self._drop_remote(leg)
        elif op == "hangup":
            leg.audio = audio_stats(leg.tracked.call) or leg.audio
            with contextlib.suppress(Exception):
                await leg.tracked.call.hangup()
        elif op == "play":
            leg.prompt = bytearray(Path(c["prompt"]).read_bytes())
            leg.prompt_id = c.get("id")
            with contextlib.suppress(Exception):
                leg.tracked.call.audio.flush_tx()
        elif op == "record":
            wrapper = AesGcmKeyWrapper(bytes.fromhex(c["key_hex"]), c["key_id"])
            leg.recorder = RecordingWriter(
                Path(c["path"]), recording_id=c["recording_id"], tenant=c["tenant"], wrapper=wrapper
            )
        elif op == "stop_record":
            self._stop_recording(leg)
        elif op == "send_dtmf":
            # send_dtmf takes ~220 ms a key: never on the command reader; keys in order
            leg.dtmf = asyncio.get_running_loop().create_task(
                self._send_dtmf(leg, str(c["digits"]), leg.dtmf)
            )
        elif op == "bridge":
            other = self.legs.get(c["other"])
            if other is None:
                raise ValueError("no such leg to bridge")
            leg.partner, other.partner = other.id, leg.id
            # Start clean: drop anything queued, so the bridge adds no standing latency.
            read_audio(leg.tracked.call, 65536)
            read_audio(other.tracked.call, 65536)
        elif op == "supervise":
            supervisor = self.legs.get(c["supervisor"])
            if supervisor is None or not supervisor.answered:
                raise ValueError("no answered supervisor leg")
            if c["mode"] not in ("listen", "whisper", "barge"):
                raise ValueError("mode must be listen, whisper or barge")
            leg.supervisor, leg.supervise_mode = supervisor.id, c["mode"]
            read_audio(supervisor.tracked.call, 65536)
        elif op == "end_supervision":
            for other in self.legs.values():
                if other.supervisor == leg.id:
                    other.supervisor = None
        elif op == "unbridge":
            if leg.partner and leg.partner in self.legs:
                self.legs[leg.partner].partner = None
            leg.partner = None

    def _on_call_event(self, what: str, tracked: TrackedCall) -> None:
        leg_id = self.by_handle.get(tracked.handle)
        if leg_id is None:
            return
        leg = self.legs.get(leg_id)
        if leg is None:
            return
        if what == "ringing":
            self.emit("ringing", call=leg.id)
        elif what == "established" and not leg.answered:
            leg.answered = True
            leg.answered_at = time.monotonic()
            read_audio(tracked.call, 65536)
            if leg.amd_params is not None:
                leg.amd = AmdDetector(leg.amd_params, RATE)
            self.emit("answered", call=leg.id)
        elif what == "closed":
            if leg.amd is not None:  # hung up during the analysis: the verdict first
                self._amd_verdict(leg, leg.amd.finish())
            self._stop_recording(leg)
            reason = tracked.closed_reason or ""
            match = re.match(r"\s*(\d{3})\b", reason)
            self.emit(
                "closed",
                call=leg.id,
                answered=leg.answered,
                status=int(match.group(1)) if match else None,
                reason=reason[:200],
                timed_out=leg.timed_out,
                stats=media_stats(tracked.final_stats, leg.audio),
            )
            if leg.partner and leg.partner in self.legs:
                self.legs[leg.partner].partner = None
            self.legs.pop(leg.id, None)
            self.by_handle.pop(tracked.handle, None)

    def _on_dtmf(self, leg_id: str, digit: Any) -> None:
        self.emit("dtmf", call=leg_id, digit=str(digit.digit), duration_ms=digit.duration_ms)

    async def _send_dtmf(self, leg: Leg, digits: str, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            with contextlib.suppress(Exception):
                await before
        try:
            await leg.tracked.call.send_dtmf(digits)
        except Exception as exc:  # the call ended meanwhile, the stack refused a key
            self.emit("error", call=leg.id, message=f"DTMF not sent: {exc}"[:300])

    def _detect(self, leg: Leg, heard: bytes, now: float) -> None:
        """Feed the far end's audio to the detector; report its verdict once, at the latest
        when the analysis cap has passed on the wall clock (late or missing audio)."""
        assert leg.amd is not None and leg.amd_params is not None
        decision = leg.amd.feed(heard) if heard else None
        cap_s = leg.amd_params.total_analysis_time_ms / 1000
        if decision is None and now - leg.answered_at >= cap_s:
            decision = leg.amd.expire()
        if decision is not None:
            self._amd_verdict(leg, decision)

    def _amd_verdict(self, leg: Leg, decision: AmdDecision) -> None:
        leg.amd = None
        self.emit(
            "amd",
            call=leg.id,
            verdict=decision.verdict.value,
            reason=decision.reason,
            after_ms=round((time.monotonic() - leg.answered_at) * 1000),
            audio_ms=decision.decided_after_ms,
            words=decision.words,
        )

    def _stop_recording(self, leg: Leg) -> None:
        recorder, leg.recorder = leg.recorder, None
        if recorder is None:
            return
        try:
            recorder.close()
        except Exception as exc:
            self.emit("error", call=leg.id, message=f"recording not sealed: {exc}"[:300])
            return
        # Sealed and fsynced: the coordinator may now register it (services.recordings).
        self.emit(
            "recording_closed",
            call=leg.id,
            recording_id=recorder.recording_id,
            path=str(recorder.path),
            size_bytes=recorder.size_bytes,
            sha256=recorder.sha256,
            duration_s=recorder.duration_s,
        )

    async def _media_loop(self) -> None:
        next_tick = time.monotonic()
        tick = 0
        while True:
            self._drain_relay()
            now = time.monotonic()
            tick += 1
            rx: dict[str, bytes] = {}
            for leg in list(self.legs.values()):
                if not leg.answered:
                    if now - leg.dialled_at > leg.ring_timeout and not leg.timed_out:
                        leg.timed_out = True  # ring timeout: hang up = CANCEL on the wire
                        asyncio.get_running_loop().create_task(self._cancel(leg))
                    continue
                rx[leg.id] = read_audio(leg.tracked.call, FRAME_BYTES * 4)
                if leg.amd is not None:
                    self._detect(leg, rx[leg.id], now)
                if tick % AUDIO_STATS_EVERY == 0:
                    leg.audio = audio_stats(leg.tracked.call) or leg.audio
            feeds = self._feeds()
            for leg in list(self.legs.values()):
                if not leg.answered:
                    continue
                sent = b""
                if leg.prompt:
                    chunk = bytes(leg.prompt[:FRAME_BYTES])
                    accepted = write_audio(leg.tracked.call, chunk)
                    del leg.prompt[:accepted]
                    sent = chunk[:accepted]
                    if not leg.prompt:
                        self.emit("prompt_finished", call=leg.id, prompt=leg.prompt_id)
                elif feeds.get(leg.id):
                    sent = mix([rx.get(source, b"") for source in feeds[leg.id]])
                    if sent:
                        write_audio(leg.tracked.call, sent)
                if leg.recorder is not None:
                    heard = rx.get(leg.id, b"")
                    leg.recorder.write(_stereo(heard, sent))
            next_tick += FRAME_MS / 1000
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
            if time.monotonic() - next_tick > 0.2:
                next_tick = time.monotonic()  # fell behind (busy machine): do not burst

    def _feeds(self) -> dict[str, list[str]]:
        """Whose audio each leg hears: its bridge partner, plus a supervisor by mode.

        listen: the supervisor hears both sides; whisper: the agent also hears the supervisor,
        the called person does not; barge: all three hear each other.
        """
        feeds: dict[str, list[str]] = {
            leg.id: [leg.partner] for leg in self.legs.values() if leg.partner in self.legs
        }
        for leg in self.legs.values():
            if leg.supervisor not in self.legs or leg.partner not in self.legs:
                continue
            supervisor, agent = leg.supervisor, leg.partner
            assert supervisor is not None and agent is not None
            feeds[supervisor] = [leg.id, agent]
            if leg.supervise_mode in ("whisper", "barge"):
                feeds.setdefault(agent, []).append(supervisor)
            if leg.supervise_mode == "barge":
                feeds.setdefault(leg.id, []).append(supervisor)
        return feeds

    def _refuse(self, call: Any) -> None:
        async def refuse() -> None:
            with contextlib.suppress(Exception):
                await call.reject()

        asyncio.get_running_loop().create_task(refuse())
        self.emit("refused_inbound", peer=str(getattr(call, "peer", ""))[:100])

    async def _cancel(self, leg: Leg) -> None:
        with contextlib.suppress(Exception):
            await leg.tracked.call.hangup()


def media_stats(final: Any, audio: Any) -> dict[str, Any] | None:
    """The leg's media report for the ``closed`` event: RTP and jitter-buffer counters from
    the closing ``baresip.CallStats`` (``jbuf_*`` None when the native build keeps none; a
    zero is a measured zero), audio-buffer counters from the last live ``AudioStats``
    snapshot (every 0.5 s and at our hang-up; None if the leg never had audio), because the
    closing report's own ``audio_*`` counters read 0 in 0.5.2a3. None without either."""
    if final is None and audio is None:
        return None
    report: dict[str, Any] = {}
    if final is not None:
        report |= {
            "duration_s": final.duration_s,
            "rx_packets": final.rx_packets,
            "tx_packets": final.tx_packets,
            "rx_lost": final.rx_lost,
            "rx_jitter_ms": final.rx_jitter_ms,
            "jbuf_late": final.jbuf_late,  # arrived after their playout time (played at once)
            "jbuf_lost": final.jbuf_lost,  # sequence gaps at playout
            "jbuf_overflow": final.jbuf_overflow,  # no room in the jitter buffer: discarded
            "jbuf_delay_ms": final.jbuf_delay_ms,
            "mos_estimate": final.mos_estimate,
        }
    report["audio"] = (
        None
        if audio is None
        else {
            "tx_starved_frames": audio.tx_starved_frames,  # ran dry mid-frame
            "tx_silence_frames": audio.tx_silence_frames,  # nothing to say (not an error)
            "rx_discarded_bytes": audio.rx_discarded_bytes,  # skipped: we read too slowly
            "rx_dropped_bytes": audio.rx_dropped_bytes,  # buffer full: nobody reading
            "tx_rejected_bytes": audio.tx_rejected_bytes,
        }
    )
    return report


def mix(frames: list[bytes]) -> bytes:
    """Sum 16-bit frames in int32 and clip (the cost is ~0.1 ms per 3-party frame)."""
    frames = [f for f in frames if f]
    if not frames:
        return b""
    if len(frames) == 1:
        return frames[0]
    n = max(len(f) for f in frames) // 2
    total = np.zeros(n, dtype=np.int32)
    for f in frames:
        samples = np.frombuffer(f[: len(f) // 2 * 2], dtype="<i2")
        total[: len(samples)] += samples
    return np.clip(total, -32768, 32767).astype("<i2").tobytes()


def _stereo(left: bytes, right: bytes) -> bytes:
    n = max(len(left), len(right)) // 2
    a = np.zeros(n, dtype="<i2")
    b = np.zeros(n, dtype="<i2")
    if left:
        a[: len(left) // 2] = np.frombuffer(left[: len(left) // 2 * 2], dtype="<i2")
    if right:
        b[: len(right) // 2] = np.frombuffer(right[: len(right) // 2 * 2], dtype="<i2")
    return np.column_stack([a, b]).tobytes()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--relay", default="", help="host for the relay socket (a pool)")
    args = parser.parse_args()
    # Ctrl-C and a service manager's SIGTERM reach the whole process group. The coordinator
    # decides when calls end (it drains them first); the worker stops when it is told to or
    # when its stdin closes because the coordinator is gone, never on the group's signal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    asyncio.run(Worker(args.listen, args.relay).run())


if __name__ == "__main__":
    main()
