"""A test PSTN peer: a real SIP user agent on loopback that answers like the public would.

Run with ``gatehouse pstn-peer --config FILE``. Each called number (the user part of the
request URI) gets a behaviour: ``person`` (rings, answers, says a short greeting, then
listens and answers questions with generated speech), ``machine`` (long greeting and a
beep), ``busy`` (486), ``no_answer`` (rings until the caller cancels), ``probe`` (a marked
tone and bursts, every sound onset logged, no WAV: bench/sip.py's latency measurement).
Everything a person or machine hears is written to a WAV per call, and a JSON-lines log
records when each call was answered and when sound first arrived (``time.monotonic()``,
comparable across processes on this machine), so a test can assert that the information
message started within 2 s of the answer. Every DTMF digit received is logged (``dtmf``); a
number with ``send_digits`` presses those keys ``digits_after_s`` after answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import tempfile
import time
import wave
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field

from gatehouse.telephony import tts
from gatehouse.telephony.sip.host import (
    FRAME_MS,
    SipHost,
    TrackedCall,
    read_audio,
    rms,
    write_audio,
)

RATE = 8000
FRAME_BYTES = RATE * 2 * FRAME_MS // 1000
HEARD_RMS = 500.0  # louder than line noise: "something was said to us"


class Behaviour(BaseModel):
    model_config = ConfigDict(extra="forbid")
    behaviour: Literal["person", "machine", "busy", "no_answer", "probe"] = "person"
    ring_s: float = Field(default=0.5, ge=0, le=60)
    greeting: str = "Hello?"
    reply: str = "Yes, I can spare a few minutes."
    hangup_after_s: float = Field(default=30.0, gt=0, le=600)
    # probe (latency measurement, bench/sip.py): a 1 kHz tone from the answer for talk_s, then
    # a 100 ms burst every pulse_every_s (0: none); every sound onset heard is logged.
    talk_s: float = Field(default=0.0, ge=0, le=60)
    pulse_every_s: float = Field(default=0.0, ge=0, le=60)
    # DTMF keys (0-9 A-D * #) this far end presses once, this long after answering (logged
    # as ``dtmf_sent``); DTMF sent right at the answer can be lost while the call settles.
    send_digits: str = Field(default="", pattern=r"^[0-9A-Da-d*#]*$", max_length=32)
    digits_after_s: float = Field(default=1.0, ge=0, le=60)


class PeerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listen: str = "127.0.0.1:5080"
    log: Path = Path("pstn-peer.jsonl")
    record_dir: Path = Path("pstn-peer-recordings")
    default: Behaviour = Behaviour()
    numbers: dict[str, Behaviour] = Field(default_factory=dict)
    #: False: no WAV of what each call heard (a long-running demo; the log is still written)
    record_heard: bool = True

    @classmethod
    def load(cls, path: Path) -> PeerConfig:
        return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def speech(text: str, cache: Path, voice: str = "en") -> bytes:
    """8 kHz mono s16 speech from espeak-ng via sox (a tone burst if they are missing)."""
    if tts.available():
        return tts.speak(text, cache, voice=voice)
    t = np.arange(int(RATE * 0.8)) / RATE
    return (6000 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()


class PstnPeer:
    def __init__(self, config: PeerConfig, cache: Path | None = None) -> None:
        self.config = config
        self.cache = cache or Path(tempfile.gettempdir()) / "gatehouse-pstn-peer"
        self.host = SipHost(config.listen, user="pstn", catch_all=True, expose_headers=("To",))
        self._log = config.log.open("a", encoding="utf-8")
        self._numbers: dict[int, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        config.record_dir.mkdir(parents=True, exist_ok=True)
        self._seq = 0

    def log(self, event: str, **fields: Any) -> None:
        self._log.write(json.dumps({"t": time.monotonic(), "event": event, **fields}) + "\n")
        self._log.flush()

    async def run(self, stop: asyncio.Event) -> None:
        import baresip

        await self.host.start()
        self.host.runtime.subscribe(self._remember_number)
        self.host.ua.on_incoming(self._incoming)
        self.log("ready", listen=self.config.listen)
        del baresip
        try:
            await stop.wait()
        finally:
            for task in list(self._tasks):
                task.cancel()
            await self.host.close()
            self._log.close()

    def _remember_number(self, event: Any) -> None:
        to = event.to or (event.headers or {}).get("To") or (event.headers or {}).get("to")
        if event.call and to:
            match = re.search(r"sip:([^@;>]+)@", to)
            if match:
                self._numbers.setdefault(event.call, match.group(1))

    def _incoming(self, call: Any) -> None:
        self._spawn(self._handle(call))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _press(self, n: int, call: Any, tracked: TrackedCall, behaviour: Behaviour) -> None:
        await asyncio.sleep(behaviour.digits_after_s)
        if tracked.closed_at is not None:
            return
        try:
            await call.send_dtmf(behaviour.send_digits)
        except Exception as exc:  # the call ended meanwhile
            self.log("dtmf_failed", call=n, error=str(exc)[:200])
            return
        self.log("dtmf_sent", call=n, digits=behaviour.send_digits.upper())

    async def _handle(self, call: Any) -> None:
        self._seq += 1
        n = self._seq
        tracked = self.host.track(call)
        number = self._numbers.get(call.handle, "")
        behaviour = self.config.numbers.get(number, self.config.default)
        self.log("incoming", call=n, number=number, behaviour=behaviour.behaviour)
        if behaviour.behaviour == "busy":
            with contextlib.suppress(Exception):
                await call.reject()
            self.log("rejected", call=n, status=486)
            return
        await asyncio.sleep(behaviour.ring_s)
        if behaviour.behaviour == "no_answer":
            while tracked.closed_at is None:
                await asyncio.sleep(0.05)
            self.log("closed", call=n, reason=tracked.closed_reason, answered=False)
            return
        if tracked.closed_at is not None:
            self.log("closed", call=n, reason=tracked.closed_reason, answered=False)
            return
        call.on_dtmf(lambda d: self.log("dtmf", call=n, digit=d.digit, duration_ms=d.duration_ms))
        await call.answer()
        answered_at = time.monotonic()
        self.log("answered", call=n)
        if behaviour.send_digits:
            self._spawn(self._press(n, call, tracked, behaviour))
        deadline = answered_at + 5.0
        while (
            tracked.established_at is None
            and tracked.closed_at is None
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.005)
        if behaviour.behaviour == "probe":
            await self._probe(n, call, tracked, behaviour)
        else:
            await self._media(n, call, tracked, behaviour)

    async def _probe(self, n: int, call: Any, tracked: TrackedCall, behaviour: Behaviour) -> None:
        """Marked audio for latency measurement. Logs ``talk`` (first tone frame accepted),
        ``pulse`` (each burst, written into an empty transmit queue so it leaves within one
        20 ms frame) and ``onset`` (the first loud sample after >= 200 ms of quiet, its time
        corrected for its position in what was read); the first onset is also ``first_audio``.
        """
        t = np.arange(RATE * 2) / RATE
        tone = (8000 * np.sin(2 * np.pi * 1000 * t)).astype("<i2").tobytes()
        talk = tone[: int(RATE * behaviour.talk_s) * 2]
        pulse = tone[: RATE // 10 * 2]
        talked = False
        next_pulse: float | None = None
        quiet_since = float("-inf")  # the first sound heard is an onset
        heard_first = False
        end = time.monotonic() + behaviour.hangup_after_s
        read_audio(call, 32768)  # discard anything queued before the answer
        while tracked.closed_at is None and time.monotonic() < end:
            now = time.monotonic()
            if talk:
                sent = write_audio(call, talk[:FRAME_BYTES])
                if sent and not talked:
                    talked = True
                    self.log("talk", call=n)
                talk = talk[sent:]
                if not talk and behaviour.pulse_every_s:
                    next_pulse = now + behaviour.pulse_every_s
            elif behaviour.pulse_every_s and next_pulse is None:
                next_pulse = now + behaviour.pulse_every_s
            if next_pulse is not None and now >= next_pulse:
                with contextlib.suppress(Exception):
                    if call.audio.info().tx_buffered == 0 and write_audio(call, pulse):
                        self.log("pulse", call=n)
                        next_pulse += behaviour.pulse_every_s
            data = read_audio(call)
            read_at = time.monotonic()
            if data:
                samples = np.abs(np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2"))
                loud = np.flatnonzero(samples > 1500)
                if loud.size:
                    first = int(loud[0])
                    at = read_at - (samples.size - first) / RATE
                    if at - quiet_since >= 0.2:
                        self.log("onset", call=n, at=at)
                        if not heard_first:
                            heard_first = True
                            self.log("first_audio", call=n, at=at)
                    quiet_since = read_at - (samples.size - int(loud[-1])) / RATE
            await asyncio.sleep(FRAME_MS / 1000 / 2)
        if tracked.closed_at is None:
            with contextlib.suppress(Exception):
                await call.hangup()
            self.log("hung_up", call=n)
        self.log("closed", call=n, reason=tracked.closed_reason, answered=True)

    async def _media(self, n: int, call: Any, tracked: TrackedCall, behaviour: Behaviour) -> None:
        if behaviour.behaviour == "machine":
            text = (
                "Hello, you have reached the Smith family. We cannot take your call right now. "
                "Please leave a message after the tone."
            )
            t = np.arange(int(RATE * 0.5)) / RATE
            beep = (6000 * np.sin(2 * np.pi * 1000 * t)).astype("<i2").tobytes()
            outgoing = speech(text, self.cache) + bytes(RATE) + beep
        else:
            outgoing = bytes(RATE // 2) + speech(behaviour.greeting, self.cache)
        reply = speech(behaviour.reply, self.cache) if behaviour.behaviour == "person" else b""
        path = self.config.record_dir / f"call-{n}.wav"
        keep = self.config.record_heard
        heard_first = False
        replied = False
        quiet_since: float | None = None
        end = time.monotonic() + behaviour.hangup_after_s
        read_audio(call, 32768)  # discard anything queued before the answer
        with wave.open(str(path), "wb") if keep else contextlib.nullcontext() as wav:
            if wav is not None:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(RATE)
            while tracked.closed_at is None and time.monotonic() < end:
                if outgoing:
                    sent = write_audio(call, outgoing[:FRAME_BYTES])
                    outgoing = outgoing[sent:]
                data = read_audio(call)
                if data:
                    if wav is not None:
                        wav.writeframes(data)
                    loud = rms(data) > HEARD_RMS
                    if loud and not heard_first:
                        heard_first = True
                        self.log("first_audio", call=n, rms=round(rms(data), 1))
                    # A person answers once the caller has spoken and paused.
                    if loud:
                        quiet_since = None
                    elif heard_first and quiet_since is None:
                        quiet_since = time.monotonic()
                    if (
                        reply
                        and heard_first
                        and not replied
                        and quiet_since
                        and time.monotonic() - quiet_since > 0.6
                    ):
                        outgoing += reply
                        replied = True
                await asyncio.sleep(FRAME_MS / 1000 / 2)
        if tracked.closed_at is None:
            with contextlib.suppress(Exception):
                await call.hangup()
            self.log("hung_up", call=n)
        self.log(
            "closed",
            call=n,
            reason=tracked.closed_reason,
            answered=True,
            wav=str(path) if keep else None,
        )


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def serve(config: PeerConfig) -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await PstnPeer(config).run(stop)
