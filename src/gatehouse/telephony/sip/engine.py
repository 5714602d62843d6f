"""The SIP engine: the coordinator side of :class:`TelephonyEngine` over real SIP/RTP.

It owns no media: it starts a media worker process (``gatehouse.telephony.sip.worker``, one
baresip runtime each), sends it commands and turns its reports into port events. A worker
that dies is restarted; calls it had are reported FAILED ("worker lost") so the runtime's
crash-safety rules reconcile them. Destinations are resolved here, at dial time, from the
opaque contact reference (the number never travels further up than this module).

With ``SipEngineConfig.media_workers`` > 1 it runs a pool (decision 0064): each worker its own
process and SIP address, supervised and restarted on its own, so a lost worker fails only its
own calls. A call is placed on the least-loaded worker; agent legs are spread the same way. A
bridge between legs in two workers goes through a loopback UDP relay: each worker holds a
relay leg standing for the other worker's leg, so bridging, mixing, supervision and recording
run unchanged; a bridge whose legs share a worker has no relay.

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
    # Media worker processes (decision 0064). One is the tested default: it holds up to
    # ``max_legs_per_worker`` legs, runs clean to about 50 live legs on a 2-core host
    # (../shared/reference/baresip.md §2.3) and needs no relay; a site expecting more live
    # legs runs ceil(legs / 50) workers.
    media_workers: int = 1
    # The coordinator places no leg on a worker holding this many (the library's hard wall is
    # 255 calls per process; beyond ~100 the jitter buffers run late).
    max_legs_per_worker: int = 200

    def __post_init__(self) -> None:
        if not 1 <= self.media_workers <= 16:
            raise ValueError("media_workers must be 1 to 16")
        if not 1 <= self.max_legs_per_worker <= 200:
            raise ValueError("max_legs_per_worker must be 1 to 200 (the hard wall is 255)")

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
# (leg id, the relay's report when a relay leg is dropped: datagrams sent/received, lost,
# dropped, and each datagram's age when the receiving worker's media loop took it, in ms).
RelayStatsListener = Callable[[str, dict[str, Any]], object]


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
    worker: int = 0  # the media worker holding the leg


@dataclass
class _Link:
    """A leg made present in another worker through the relay: a relay leg named ``leg`` in
    worker ``there`` stands for it, and a relay leg named ``far`` in the leg's own worker
    ``here`` stands for what ``there`` sends back; one stream id names both directions, and
    ``far`` carries it, so a late ``drop_remote`` of an earlier link never hits a new one."""

    leg: str
    here: int
    far: str
    there: int
    stream: int


@dataclass
class _MediaWorker:
    index: int
    listen: str = ""
    relay: str = ""  # its relay socket (a pool only)
    proc: asyncio.subprocess.Process | None = None
    reader: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    restarter: asyncio.Task[None] | None = None
    restarts: int = 0


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
        self._workers = [_MediaWorker(i) for i in range(config.media_workers)]
        self._links: dict[str, _Link] = {}  # leg id -> its link into another worker
        self._bridged: dict[str, str] = {}  # call id -> agent leg, for bridges over a link
        self._supervising: dict[str, int] = {}  # supervisor leg -> worker doing the mixing
        self._streams = 0
        self._relay_listeners: list[RelayStatsListener] = []
        self._chores: set[asyncio.Task[None]] = set()
        self._closing = False

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def pooled(self) -> bool:
        return len(self._workers) > 1

    @property
    def listen_address(self) -> str:
        """The first worker's SIP address (the only one with ``media_workers=1``)."""
        return self._workers[0].listen

    @property
    def listen_addresses(self) -> list[str]:
        return [w.listen for w in self._workers]

    @property
    def worker_pid(self) -> int | None:
        """The first worker's process id (the only one with ``media_workers=1``)."""
        return self.worker_pids[0]

    @property
    def worker_pids(self) -> list[int | None]:
        return [w.proc.pid if w.proc and w.proc.returncode is None else None for w in self._workers]

    @property
    def worker_restarts(self) -> int:
        return sum(w.restarts for w in self._workers)

    def worker_of(self, leg_id: str) -> int | None:
        """The index of the media worker holding a live leg (None: unknown or ended)."""
        call = self._calls.get(leg_id)
        return None if call is None or call.finished else call.worker

    def worker_load(self) -> list[int]:
        """Live legs per media worker."""
        load = [0] * len(self._workers)
        for call in self._calls.values():
            if not call.finished:
                load[call.worker] += 1
        return load

    async def start(self) -> None:
        await asyncio.gather(*(self._start_worker(w) for w in self._workers))

    def _worker_listen(self, worker: _MediaWorker) -> str:
        if not self.config.listen:
            return f"127.0.0.1:{free_loopback_port()}"
        if worker.index == 0:
            return self.config.listen
        host, _, port = self.config.listen.rpartition(":")
        return f"{host}:{int(port) + worker.index}"  # a pool: consecutive ports

    async def _start_worker(self, worker: _MediaWorker) -> None:
        # a restarted worker keeps the address the trunk already knows
        listen = worker.listen = worker.listen or self._worker_listen(worker)
        relay = ["--relay", listen.rpartition(":")[0]] if self.pooled else []
        worker.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gatehouse.telephony.sip.worker",
            "--listen",
            listen,
            *relay,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        worker.ready.clear()
        worker.reader = asyncio.create_task(self._read_events(worker, worker.proc))
        await asyncio.wait_for(worker.ready.wait(), 20)

    async def close(self) -> None:
        self._closing = True
        await asyncio.gather(*(self._close_worker(w) for w in self._workers))
        for task in list(self._chores):
            task.cancel()

    async def _close_worker(self, worker: _MediaWorker) -> None:
        if worker.restarter is not None:
            worker.restarter.cancel()
        if worker.proc and worker.proc.returncode is None:
            with contextlib.suppress(Exception):
                await self._send_to(worker.index, {"op": "shutdown"})
            try:
                await asyncio.wait_for(worker.proc.wait(), 10)
            except TimeoutError:
                worker.proc.kill()
        if worker.reader:
            worker.reader.cancel()

    async def _send(self, command: dict[str, Any]) -> None:
        """Send a command to the worker holding the leg it names (``call``)."""
        await self._send_to(self._route(str(command.get("call", ""))), command)

    def _route(self, leg_id: str) -> int:
        mixing = self._supervising.get(leg_id)
        if mixing is not None:
            return mixing  # end_supervision: where the supervisor is mixed in
        call = self._calls.get(leg_id)
        if call is not None:
            return call.worker
        # A leg we no longer know (ended, or lost with its worker): any worker answers "no
        # such call", as the one worker always did.
        return next((w.index for w in self._workers if w.ready.is_set()), 0)

    async def _send_to(self, index: int, command: dict[str, Any]) -> None:
        worker = self._workers[index]
        proc = worker.proc
        if not worker.ready.is_set() or proc is None or proc.stdin is None:
            raise EngineUnavailable("the media worker is restarting: no call can be placed now")
        proc.stdin.write((json.dumps(command) + "\n").encode())
        await proc.stdin.drain()

    def _chore(self, coro: Any) -> None:
        """Run a command from an event handler; a worker that is gone meanwhile is fine."""

        async def run() -> None:
            with contextlib.suppress(EngineUnavailable, ConnectionError, OSError):
                await coro

        task = asyncio.get_running_loop().create_task(run())
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def _read_events(self, worker: _MediaWorker, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            with contextlib.suppress(ValueError):
                self._on_worker_event(json.loads(line), worker.index)
        # The worker is gone: every live call it held is lost; report them so they are
        # reconciled. Other workers' calls carry on; their relay legs into it are dropped.
        worker.ready.clear()
        lost = {cid for cid, call in self._calls.items() if call.worker == worker.index}
        self._catalogue_cut_recordings(lost)
        self._unlink_worker(worker.index)
        for call_id in lost:
            call = self._calls.pop(call_id)
            if self._by_attempt.get(call.attempt_id) == call_id:
                del self._by_attempt[call.attempt_id]
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
        if not self._closing:
            worker.restarter = asyncio.ensure_future(self._restart(worker, proc))

    def _catalogue_cut_recordings(self, calls: set[str]) -> None:
        """Recordings the lost worker was writing keep every sealed chunk (at most the chunk
        being filled is gone): report each one as finished so the catalogue lists it and an
        investigator can open it (invariant 3), instead of leaving an orphan file."""
        for call_id, running in list(self._recordings.items()):
            if call_id not in calls:
                continue
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

    async def _restart(self, worker: _MediaWorker, dead: asyncio.subprocess.Process) -> None:
        """Bring a lost media worker back (backing off up to 5 s between tries) so the
        runtime can dial again; its calls were reported FAILED above."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(dead.wait(), 5)
        delay = 0.2
        while not self._closing:
            try:
                await self._start_worker(worker)
            except Exception as exc:  # e.g. the port not free yet: try again
                log.warning("media_worker_restart_failed", worker=worker.index, error=repr(exc))
                if worker.proc is not None and worker.proc.returncode is None:
                    worker.proc.kill()
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)
                continue
            worker.restarts += 1
            log.warning(
                "media_worker_restarted", worker=worker.index, restarts=self.worker_restarts
            )
            return

    def _place(self) -> int:
        """The least-loaded ready worker for a new leg (the first on a tie; with no worker
        ready, the first, whose ``_send`` then refuses)."""
        load = self.worker_load()
        ready = [w.index for w in self._workers if w.ready.is_set()] or [0]
        best = min(ready, key=lambda i: (load[i], i))
        if load[best] >= self.config.max_legs_per_worker:
            raise EngineUnavailable("every media worker holds its maximum of legs")
        return best

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
            worker=self._place(),
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
        self._calls[leg_id] = _Call(
            leg_id, f"agent:{agent_id}", self.now(), agent_leg=True, worker=self._place()
        )
        await self._send({"op": "dial", "call": leg_id, "uri": uri, "ring_timeout": 60})
        return leg_id

    async def close_agent_leg(self, leg_id: str) -> None:
        await self.hangup(leg_id)

    async def bridge(self, call_id: str, leg_id: str) -> None:
        """Join a call and an agent leg: in their worker when they share one, else over a
        relay, with the bridge made in the agent leg's worker (so supervision is mixed where
        the agent is) and the call's own worker writing and recording what comes back."""
        await self._unlink_call(call_id)
        for earlier, agent in list(self._bridged.items()):
            if agent == leg_id:  # the agent leg's last call was never unbridged
                await self._unlink_call(earlier)
        here, there = self.worker_of(call_id), self.worker_of(leg_id)
        if here is None or there is None or here == there:
            await self._send({"op": "bridge", "call": call_id, "other": leg_id})
            return
        link = await self._link(call_id, far=leg_id)
        self._bridged[call_id] = leg_id
        await self._send_to(here, {"op": "bridge", "call": call_id, "other": link.far})
        await self._send_to(there, {"op": "bridge", "call": leg_id, "other": call_id})

    async def unbridge(self, call_id: str) -> None:
        if call_id in self._bridged:
            await self._unlink_call(call_id)
            return
        await self._send({"op": "unbridge", "call": call_id})

    def _bridge_worker(self, call_id: str) -> int:
        """Where a call's bridge is mixed: its agent leg's worker over a relay, else its own."""
        agent = self._bridged.get(call_id)
        link = self._links.get(call_id)
        if agent is not None and link is not None:
            return link.there
        return self._route(call_id)

    async def _link(self, leg_id: str, far: str, there: int | None = None) -> _Link:
        """Make leg ``leg_id`` present in another worker (the worker of ``far``, or
        ``there``): a relay leg for it there, and one standing for ``far`` beside it."""
        here = self._calls[leg_id].worker
        if there is None:
            there = self._calls[far].worker
        self._streams += 1
        link = _Link(leg_id, here, f"{far}~{self._streams}", there, self._streams)
        self._links[leg_id] = link
        near, away = self._workers[here], self._workers[there]
        await self._send_to(
            there, {"op": "remote", "call": leg_id, "stream": link.stream, "peer": near.relay}
        )
        await self._send_to(
            here, {"op": "remote", "call": link.far, "stream": link.stream, "peer": away.relay}
        )
        return link

    async def _unlink(self, leg_id: str) -> None:
        link = self._links.pop(leg_id, None)
        if link is not None:
            await self._drop(link)

    async def _drop(self, link: _Link) -> None:
        for index, name in ((link.there, link.leg), (link.here, link.far)):
            with contextlib.suppress(EngineUnavailable, ConnectionError, OSError):
                await self._send_to(index, {"op": "drop_remote", "call": name})

    async def _unlink_call(self, call_id: str) -> None:
        if self._bridged.pop(call_id, None) is not None:
            await self._unlink(call_id)

    def _unlink_worker(self, index: int) -> None:
        """A worker is gone: drop every relay leg the others hold for its legs (and theirs
        linked into it); the worker's own side went with it."""
        for leg_id, link in list(self._links.items()):
            if index not in (link.here, link.there):
                continue
            del self._links[leg_id]
            self._bridged.pop(leg_id, None)
            for sup, mixing in list(self._supervising.items()):
                if sup == leg_id or mixing == index:
                    del self._supervising[sup]
            survivor, name = (
                (link.here, link.far) if link.there == index else (link.there, link.leg)
            )
            self._chore(self._send_to(survivor, {"op": "drop_remote", "call": name}))

    def _leg_ended(self, leg_id: str) -> None:
        """A leg closed: drop the relay legs that stood for it or for its bridge partner."""
        # The table forgets the links now (a bridge made before the drops run gets new ones).
        for call_id, agent in list(self._bridged.items()):
            if leg_id in (call_id, agent):
                del self._bridged[call_id]
                if (link := self._links.pop(call_id, None)) is not None:
                    self._chore(self._drop(link))
        if (link := self._links.pop(leg_id, None)) is not None:
            self._supervising.pop(leg_id, None)
            self._chore(self._drop(link))

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

    def on_relay_stats(self, listener: RelayStatsListener) -> None:
        """Call ``listener(leg_id, report)`` with each relay leg's report when it is dropped
        (a pool only): what the relay between two workers added to the leg's audio."""
        self._relay_listeners.append(listener)

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
            leg_id,
            f"supervisor:{supervisor_id}",
            self.now(),
            agent_leg=True,
            worker=self._place(),
        )
        await self._send({"op": "dial", "call": leg_id, "uri": uri, "ring_timeout": 60})
        return leg_id

    async def supervise(self, supervisor_leg_id: str, call_id: str, mode: SuperviseMode) -> None:
        self._require_recordable(call_id)
        command = {
            "op": "supervise",
            "call": call_id,
            "supervisor": supervisor_leg_id,
            "mode": mode.value,
        }
        if not self.pooled:
            await self._send(command)
            return
        mixing = self._bridge_worker(call_id)
        own = self.worker_of(supervisor_leg_id)
        if own is None or own == mixing:
            if self._supervising.pop(supervisor_leg_id, None) is not None:
                await self._unlink(supervisor_leg_id)
            await self._send_to(mixing, command)
            return
        # The supervisor's phone is in another worker: bring it to where the call is mixed.
        link = self._links.get(supervisor_leg_id)
        if link is not None and link.there != mixing:
            await self._unlink(supervisor_leg_id)
            link = None
        if link is None:
            link = await self._link(supervisor_leg_id, far="mix", there=mixing)
            await self._send_to(own, {"op": "bridge", "call": supervisor_leg_id, "other": link.far})
        self._supervising[supervisor_leg_id] = mixing
        await self._send_to(mixing, command)

    async def end_supervision(self, supervisor_leg_id: str) -> None:
        await self._send({"op": "end_supervision", "call": supervisor_leg_id})
        if self._supervising.pop(supervisor_leg_id, None) is not None:
            await self._unlink(supervisor_leg_id)

    # -- worker reports ------------------------------------------------------------------
    def _on_worker_event(self, event: dict[str, Any], worker: int = 0) -> None:
        kind = event.get("ev")
        if kind == "ready":
            self._workers[worker].relay = str(event.get("relay", ""))
            self._workers[worker].ready.set()
            return
        if kind == "recording_closed":
            self._recording_closed(event)
            return
        if kind == "relay_closed":
            for relay_listener in list(self._relay_listeners):
                try:
                    relay_listener(str(event.get("call")), event)
                except Exception:
                    log.exception("relay stats listener failed")
            return
        call = self._calls.get(str(event.get("call")))
        if call is None or call.finished or call.worker != worker:
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
            if self._links or self._bridged:
                self._leg_ended(call.call_id)
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
