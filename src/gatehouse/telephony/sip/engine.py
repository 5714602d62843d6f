"""The SIP engine: the coordinator side of :class:`TelephonyEngine` over real SIP/RTP.

It owns no media: it starts a media worker process (``gatehouse.telephony.sip.worker``, one
baresip runtime each), sends it commands and turns its reports into port events. A worker
that dies is restarted; calls it had are reported FAILED ("worker lost") so the runtime's
crash-safety rules reconcile them. Destinations are resolved here, at dial time, from the
opaque contact reference (the number never travels further up than this module).

A call placed with ``DialRequest(amd=True)`` is answered in the worker, which runs the
detector (``telephony/amd.py``) on the far end's audio; ANSWERED is reported once, with the
verdict, as the simulated network does (decision 0063). Without AMD, ANSWERED comes at once
with ``AnsweredBy.UNKNOWN``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import structlog

from gatehouse.adapters.crypto.recording import survey
from gatehouse.domain.errors import ComplianceRefused, GatehouseError
from gatehouse.telephony.amd import AmdParameters, AmdVerdict
from gatehouse.telephony.port import (
    AnsweredBy,
    CallEvent,
    CallEventKind,
    CallEventListener,
    DestinationResolver,
    DialRequest,
    HangupParty,
    SuperviseMode,
    dtmf_digits,
)

log = structlog.get_logger(__name__)

KeyProvider = Callable[[str], tuple[bytes, str]]  # tenant -> (tenant key, key id)


class EngineUnavailable(GatehouseError):
    """The engine cannot place calls right now (its media worker is restarting)."""

    error_id = "engine-unavailable"


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SipEngineConfig:
    trunk: str  # "127.0.0.1:5080": a static peer (or an SBC/proxy) that routes the number
    listen: str = ""  # "" = a free loopback port
    prompts: dict[str, Path] = field(default_factory=dict)  # prompt id -> 8 kHz mono s16 raw
    recordings_dir: Path = Path("var/recordings")
    tenant: str = "default"
    agent_phones: dict[str, str] = field(default_factory=dict)  # agent id -> SIP URI
    amd: AmdParameters = field(default_factory=AmdParameters)  # the detector's rules (0060)
    # AMD's verdict is due this long after the answer at the latest, so that an undecided
    # call that finds no agent still hears the information message within 2 s of the answer
    # (about 50 ms from play to the far end on loopback; the rest is margin for a real
    # trunk's jitter buffer and a loaded host). Decision 0063.
    amd_decide_within_ms: int = 1600

    def amd_parameters(self) -> AmdParameters:
        """The detector's rules with its analysis capped by ``amd_decide_within_ms``."""
        cap = min(self.amd.total_analysis_time_ms, self.amd_decide_within_ms)
        return replace(self.amd, total_analysis_time_ms=cap)


AMD_ANSWERED_BY = {
    AmdVerdict.HUMAN: AnsweredBy.HUMAN,
    AmdVerdict.MACHINE: AnsweredBy.MACHINE,
    AmdVerdict.NOT_SURE: AnsweredBy.UNKNOWN,  # goes to an agent as live (decision 0060)
}


@dataclass(frozen=True, slots=True)
class RecordingFinished:
    """A recording the media worker has sealed (closed and fsynced): what the catalogue
    registers (``services.recordings.register_finished``)."""

    recording_id: str
    tenant: str
    path: Path
    started_at: float
    ended_at: float
    duration_s: float
    size_bytes: int
    sha256: str
    call_id: str
    attempt_id: str | None
    campaign_id: str | None
    kind: str = "dialler"


RecordingListener = Callable[[RecordingFinished], object]  # the return value is ignored
# (call id, the leg's closing media report from the worker's "closed" event): jitter-buffer
# late/lost/overflow frames, starved transmit frames, discarded receive bytes, MOS estimate.
MediaStatsListener = Callable[[str, dict[str, Any]], object]


@dataclass
class _Recording:
    recording_id: str
    tenant: str
    started_at: float


@dataclass
class _Call:
    call_id: str
    attempt_id: str
    placed_at: float
    campaign_id: str | None = None
    answered: bool = False
    answered_at: float | None = None  # when the far end answered (ANSWERED's ``at``)
    agent_leg: bool = False
    finished: bool = False
    record: bool = True  # False for legally privileged calls: never recorded, never monitored
    amd: bool = False  # AMD requested: ANSWERED waits for the worker's verdict
    amd_pending: bool = False  # answered, verdict not reported yet
    held_digits: list[CallEvent] = field(default_factory=list)  # DTMF before the verdict


class SipEngine:
    def __init__(
        self,
        config: SipEngineConfig,
        resolver: DestinationResolver,
        keys: KeyProvider,
        clock_now: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.resolver = resolver
        self.keys = keys
        self.now = clock_now
        self._listeners: list[CallEventListener] = []
        self._recording_listeners: list[RecordingListener] = []
        self._stats_listeners: list[MediaStatsListener] = []
        self._recordings: dict[str, _Recording] = {}  # call id -> the recording running
        self._calls: dict[str, _Call] = {}
        self._by_attempt: dict[str, str] = {}
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.worker_restarts = 0
        self._listen = ""
        self._closing = False
        self._restarter: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def listen_address(self) -> str:
        return self._listen

    @property
    def worker_pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.returncode is None else None

    async def start(self) -> None:
        # a restarted worker keeps the address the trunk already knows
        listen = self._listen = (
            self._listen or self.config.listen or f"127.0.0.1:{free_loopback_port()}"
        )
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gatehouse.telephony.sip.worker",
            "--listen",
            listen,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._ready.clear()
        self._reader = asyncio.create_task(self._read_events(self._proc))
        await asyncio.wait_for(self._ready.wait(), 20)

    async def close(self) -> None:
        self._closing = True
        if self._restarter is not None:
            self._restarter.cancel()
        if self._proc and self._proc.returncode is None:
            with contextlib.suppress(Exception):
                await self._send({"op": "shutdown"})
            try:
                await asyncio.wait_for(self._proc.wait(), 10)
            except TimeoutError:
                self._proc.kill()
        if self._reader:
            self._reader.cancel()

    async def _send(self, command: dict[str, Any]) -> None:
        if not self._ready.is_set() or self._proc is None or self._proc.stdin is None:
            raise EngineUnavailable("the media worker is restarting: no call can be placed now")
        self._proc.stdin.write((json.dumps(command) + "\n").encode())
        await self._proc.stdin.drain()

    async def _read_events(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            with contextlib.suppress(ValueError):
                self._on_worker_event(json.loads(line))
        # The worker is gone: every live call is lost; report them so they are reconciled.
        self._ready.clear()
        self._catalogue_cut_recordings()
        for call in list(self._calls.values()):
            if not call.finished:
                call.finished = True
                self._emit(
                    CallEvent(
                        call.call_id,
                        call.attempt_id,
                        CallEventKind.FAILED,
                        self.now(),
                        reason="media worker lost",
                    )
                )
        self._calls.clear()
        self._by_attempt.clear()
        if not self._closing:
            self._restarter = asyncio.ensure_future(self._restart(proc))

    def _catalogue_cut_recordings(self) -> None:
        """Recordings the lost worker was writing keep every sealed chunk (at most the chunk
        being filled is gone): report each one as finished so the catalogue lists it and an
        investigator can open it (invariant 3), instead of leaving an orphan file."""
        for call_id, running in list(self._recordings.items()):
            path = self.config.recordings_dir / f"{running.recording_id}.ghrec"
            try:
                part = survey(path)
            except (OSError, GatehouseError) as exc:
                log.error(
                    "cut_recording_unreadable", recording_id=running.recording_id, error=repr(exc)
                )
                continue
            self._recording_closed(
                {
                    "call": call_id,
                    "recording_id": running.recording_id,
                    "path": str(path),
                    "duration_s": part.duration_s,
                    "size_bytes": part.size_bytes,
                    "sha256": part.sha256,
                }
            )
            log.warning(
                "cut_recording_catalogued",
                recording_id=running.recording_id,
                seconds=round(part.duration_s, 1),
            )

    async def _restart(self, dead: asyncio.subprocess.Process) -> None:
        """Bring a lost media worker back (backing off up to 5 s between tries) so the
        runtime can dial again; its calls were reported FAILED above."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(dead.wait(), 5)
        delay = 0.2
        while not self._closing:
            try:
                await self.start()
            except Exception as exc:  # e.g. the port not free yet: try again
                log.warning("media_worker_restart_failed", error=repr(exc))
                if self._proc is not None and self._proc.returncode is None:
                    self._proc.kill()
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)
                continue
            self.worker_restarts += 1
            log.warning("media_worker_restarted", restarts=self.worker_restarts)
            return

    # -- port --------------------------------------------------------------------------
    def subscribe(self, listener: CallEventListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: CallEventListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _emit(self, event: CallEvent) -> None:
        for listener in list(self._listeners):
            listener(event)

    async def place_call(self, request: DialRequest) -> str:
        if request.attempt_id in self._by_attempt:
            return self._by_attempt[request.attempt_id]  # idempotent per attempt
        number = self.resolver(request.contact_ref)
        call_id = f"sip-{uuid.uuid4().hex[:12]}"
        self._calls[call_id] = _Call(
            call_id,
            request.attempt_id,
            self.now(),
            campaign_id=request.campaign_id,
            record=request.record,
            amd=request.amd,
        )
        self._by_attempt[request.attempt_id] = call_id
        try:
            await self._send_dial(request, call_id, number)
        except Exception:
            self._calls.pop(call_id, None)
            self._by_attempt.pop(request.attempt_id, None)
            raise
        return call_id

    async def _send_dial(self, request: DialRequest, call_id: str, number: str) -> None:
        command: dict[str, Any] = {
            "op": "dial",
            "call": call_id,
            "uri": f"sip:{number}@{self.config.trunk}",
            "ring_timeout": request.ring_timeout_s,
            "headers": {"X-Gatehouse-Campaign": request.campaign_id},
        }
        if request.amd:
            command["amd"] = asdict(self.config.amd_parameters())
        await self._send(command)

    async def hangup(self, call_id: str) -> None:
        await self._send({"op": "hangup", "call": call_id})

    async def send_dtmf(self, call_id: str, digits: str) -> None:
        keys = dtmf_digits(digits)
        await self._send({"op": "send_dtmf", "call": call_id, "digits": keys})

    async def open_agent_leg(self, agent_id: str) -> str:
        uri = self.config.agent_phones[agent_id]
        leg_id = f"agent-{agent_id}-{uuid.uuid4().hex[:6]}"
        self._calls[leg_id] = _Call(leg_id, f"agent:{agent_id}", self.now(), agent_leg=True)
        await self._send({"op": "dial", "call": leg_id, "uri": uri, "ring_timeout": 60})
        return leg_id

    async def close_agent_leg(self, leg_id: str) -> None:
        await self.hangup(leg_id)

    async def bridge(self, call_id: str, leg_id: str) -> None:
        await self._send({"op": "bridge", "call": call_id, "other": leg_id})

    async def unbridge(self, call_id: str) -> None:
        await self._send({"op": "unbridge", "call": call_id})

    async def play_prompt(self, call_id: str, prompt_id: str) -> None:
        path = self.config.prompts[prompt_id]
        await self._send({"op": "play", "call": call_id, "prompt": str(path), "id": prompt_id})

    def _require_recordable(self, call_id: str) -> None:
        call = self._calls.get(call_id)
        if call is not None and not call.record:
            raise ComplianceRefused(
                "this call is legally privileged: it is never recorded or monitored"
            )

    def on_recording_finished(self, listener: RecordingListener) -> None:
        """Call ``listener`` with each recording the worker seals, to register it."""
        self._recording_listeners.append(listener)

    def on_media_stats(self, listener: MediaStatsListener) -> None:
        """Call ``listener(call_id, stats)`` with each leg's closing media report."""
        self._stats_listeners.append(listener)

    async def start_recording(self, call_id: str, recording_id: str) -> None:
        self._require_recordable(call_id)
        key, key_id = self.keys(self.config.tenant)
        path = self.config.recordings_dir / f"{recording_id}.ghrec"
        self._recordings[call_id] = _Recording(recording_id, self.config.tenant, self.now())
        await self._send(
            {
                "op": "record",
                "call": call_id,
                "path": str(path),
                "recording_id": recording_id,
                "tenant": self.config.tenant,
                "key_hex": key.hex(),
                "key_id": key_id,
            }
        )

    async def stop_recording(self, call_id: str) -> None:
        await self._send({"op": "stop_record", "call": call_id})

    async def open_supervisor_leg(self, supervisor_id: str, uri: str) -> str:
        """Call the supervisor's phone; the leg is then attached to calls with supervise()."""
        leg_id = f"supervisor-{supervisor_id}-{uuid.uuid4().hex[:6]}"
        self._calls[leg_id] = _Call(
            leg_id, f"supervisor:{supervisor_id}", self.now(), agent_leg=True
        )
        await self._send({"op": "dial", "call": leg_id, "uri": uri, "ring_timeout": 60})
        return leg_id

    async def supervise(self, supervisor_leg_id: str, call_id: str, mode: SuperviseMode) -> None:
        self._require_recordable(call_id)
        await self._send(
            {
                "op": "supervise",
                "call": call_id,
                "supervisor": supervisor_leg_id,
                "mode": mode.value,
            }
        )

    async def end_supervision(self, supervisor_leg_id: str) -> None:
        await self._send({"op": "end_supervision", "call": supervisor_leg_id})

    # -- worker reports ------------------------------------------------------------------
    def _on_worker_event(self, event: dict[str, Any]) -> None:
        kind = event.get("ev")
        if kind == "ready":
            self._ready.set()
            return
        if kind == "recording_closed":
            self._recording_closed(event)
            return
        call = self._calls.get(str(event.get("call")))
        if call is None or call.finished:
            return
        now = self.now()
        if kind == "ringing":
            self._emit(CallEvent(call.call_id, call.attempt_id, CallEventKind.RINGING, now))
        elif kind == "answered":
            call.answered = True
            call.answered_at = now
            if call.amd:
                call.amd_pending = True  # ANSWERED comes with the worker's verdict
                return
            self._emit(
                CallEvent(
                    call.call_id,
                    call.attempt_id,
                    CallEventKind.ANSWERED,
                    now,
                    answered_by=AnsweredBy.UNKNOWN,
                    detection_finished_at=now,
                )
            )
        elif kind == "amd":
            if call.amd_pending:
                self._amd_answered(call, event, now)
        elif kind == "dtmf":
            digit = CallEvent(
                call.call_id,
                call.attempt_id,
                CallEventKind.DTMF,
                now,
                digit=str(event.get("digit", "")),
                extra={"duration_ms": str(event.get("duration_ms", ""))},
            )
            if call.amd_pending:
                call.held_digits.append(digit)  # never before ANSWERED
            else:
                self._emit(digit)
        elif kind == "prompt_finished":
            self._emit(CallEvent(call.call_id, call.attempt_id, CallEventKind.PROMPT_FINISHED, now))
        elif kind == "closed":
            if call.amd_pending:  # the worker reports a verdict first; this is a safety net
                self._amd_answered(call, {"verdict": "not_sure", "reason": "stream ended"}, now)
            call.finished = True
            stats = event.get("stats")
            if isinstance(stats, dict):
                for listener in list(self._stats_listeners):
                    try:
                        listener(call.call_id, stats)
                    except Exception:  # a metrics sink must not stop the event reader
                        log.exception("media stats listener failed", call_id=call.call_id)
            self._emit(self._closed_event(call, event, now))

    def _amd_answered(self, call: _Call, event: dict[str, Any], now: float) -> None:
        """The one ANSWERED of an AMD call, with the verdict (NOT SURE reads as UNKNOWN: the
        runtime treats it as live); the detector's own words ride in ``extra``."""
        call.amd_pending = False
        try:
            verdict = AmdVerdict(str(event.get("verdict")))
        except ValueError:
            verdict = AmdVerdict.NOT_SURE
        self._emit(
            CallEvent(
                call.call_id,
                call.attempt_id,
                CallEventKind.ANSWERED,
                now if call.answered_at is None else call.answered_at,
                answered_by=AMD_ANSWERED_BY[verdict],
                detection_finished_at=now,
                extra={
                    "amd_verdict": verdict.value,
                    "amd_reason": str(event.get("reason", ""))[:100],
                    "amd_after_ms": str(event.get("after_ms", "")),
                },
            )
        )
        held, call.held_digits = call.held_digits, []
        for digit in held:
            self._emit(digit)

    def _recording_closed(self, event: dict[str, Any]) -> None:
        call_id = str(event.get("call"))
        running = self._recordings.pop(call_id, None)
        if running is None or running.recording_id != event.get("recording_id"):
            return
        call = self._calls.get(call_id)
        finished = RecordingFinished(
            recording_id=running.recording_id,
            tenant=running.tenant,
            path=Path(str(event["path"])),
            started_at=running.started_at,
            ended_at=self.now(),
            duration_s=float(event["duration_s"]),
            size_bytes=int(event["size_bytes"]),
            sha256=str(event["sha256"]),
            call_id=call_id,
            attempt_id=call.attempt_id if call else None,
            campaign_id=call.campaign_id if call else None,
        )
        for listener in list(self._recording_listeners):
            try:
                listener(finished)
            except Exception:  # a failed registration must not stop the event reader
                log.exception("recording listener failed", recording_id=finished.recording_id)

    @staticmethod
    def _closed_event(call: _Call, event: dict[str, Any], now: float) -> CallEvent:
        status = event.get("status")
        reason = str(event.get("reason", ""))
        if call.answered:
            return CallEvent(
                call.call_id,
                call.attempt_id,
                CallEventKind.HUNG_UP,
                now,
                hangup_party=HangupParty.REMOTE,
                sip_status=status,
                reason=reason,
            )
        if event.get("timed_out") or status in (408, 480, 487):
            kind = CallEventKind.NO_ANSWER
        elif status in (486, 600):
            kind = CallEventKind.BUSY
        else:
            kind = CallEventKind.FAILED  # 404, 603, 5xx, unreachable
        return CallEvent(call.call_id, call.attempt_id, kind, now, sip_status=status, reason=reason)
