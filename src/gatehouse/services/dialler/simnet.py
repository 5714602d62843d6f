"""A small simulated phone network for the dialler runtime, with a durable call log.

Why here and not ``telephony/simulated``: the runtime's crash tests need a network whose
record of every call it received survives a ``kill -9`` of the process that hosts it, so
``place_call`` appends one JSON line (flushed to the kernel) *before* it reports anything.
It implements the ``TelephonyEngine`` port, so the runtime cannot tell it from any other
engine. The population is a seeded function of (contact_ref, attempt): the same person
answers the same way on the same attempt, whichever process dials.

Live people wait ``patience_s`` in silence; the runtime must bridge or play the message
before that. Agents end the call (``hangup``) when the interview is done.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gatehouse.telephony.clock import Clock
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


@dataclass(frozen=True)
class Population:
    """Shares of *dials* (as ``gatehouse simulate``'s answer mix): a dial is an invalid
    number, busy, answered by a person, answered by a machine, or else rings out."""

    human: float = 0.30
    machine: float = 0.15
    busy: float = 0.05
    invalid: float = 0.03
    ring_median_s: float = 8.0
    patience_s: float = 4.0
    amd_decision_s: float = 1.6  # the SIP engine's cap (decision 0063), inside the 2 s rule
    amd_human_as_machine: float = 0.0


@dataclass
class _Call:
    call_id: str
    request: DialRequest
    placed_at: float
    destination: str
    answered: bool = False
    bridged_to: str | None = None
    ended: bool = False
    machine: bool = False  # answered by a machine (what an agent bridged to it hears)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class SimulatedNetwork:
    """A ``TelephonyEngine`` over a seeded synthetic population."""

    def __init__(
        self,
        clock: Clock,
        resolver: DestinationResolver,
        *,
        population: Population | None = None,
        seed: int = 1,
        call_log: Path | None = None,
    ) -> None:
        self._clock = clock
        self._resolve = resolver
        self._pop = population or Population()
        self._seed = seed
        self._listeners: list[CallEventListener] = []
        self._calls: dict[str, _Call] = {}
        self._by_attempt: dict[str, str] = {}
        self._log: IO[str] | None = call_log.open("a", encoding="utf-8") if call_log else None
        self._n = 0
        self.placed = 0
        #: call id -> recording id, for every call the runtime asked to record
        self.recordings: dict[str, str] = {}
        #: calls bridged to an agent leg while not being recorded (invariant 3: stays empty)
        self.unrecorded_bridges: list[str] = []
        #: call id -> DTMF keys sent on it, in order (the synthetic far end hears them)
        self.sent_digits: dict[str, str] = {}

    # -- port ------------------------------------------------------------------------
    def subscribe(self, listener: CallEventListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: CallEventListener) -> None:
        self._listeners.remove(listener)

    async def place_call(self, request: DialRequest) -> str:
        if request.attempt_id in self._by_attempt:  # idempotent per attempt
            return self._by_attempt[request.attempt_id]
        self._n += 1
        call_id = f"sim-{self._seed}-{self._n}-{request.attempt_id[:8]}"
        now = self._clock.now()
        destination = self._resolve(request.contact_ref)
        call = _Call(call_id, request, now, destination)
        self._calls[call_id] = call
        self._by_attempt[request.attempt_id] = call_id
        self.placed += 1
        if self._log is not None:
            self._log.write(
                json.dumps(
                    {
                        "at": now,
                        "call_id": call_id,
                        "attempt_id": request.attempt_id,
                        "campaign_id": request.campaign_id,
                        "contact_ref": request.contact_ref,
                        "destination": destination,
                    }
                )
                + "\n"
            )
            self._log.flush()
        call.tasks.append(asyncio.ensure_future(self._progress(call)))
        return call_id

    async def hangup(self, call_id: str) -> None:
        call = self._calls.get(call_id)
        if call is None or call.ended:
            return
        self._end(call)
        kind = CallEventKind.HUNG_UP if call.answered else CallEventKind.NO_ANSWER
        self._emit(call, kind, hangup_party=HangupParty.LOCAL, reason="local hangup")

    def answered_by_machine(self, call_id: str) -> bool:
        """What the agent bridged to this call hears: a machine's greeting (True) or a
        person. Only simulated agents (bots) ask; a person on the desk hears it."""
        call = self._calls.get(call_id)
        return call is not None and call.machine

    async def open_agent_leg(self, agent_id: str) -> str:
        return f"leg-{agent_id}"

    async def close_agent_leg(self, leg_id: str) -> None:
        return None

    async def bridge(self, call_id: str, leg_id: str) -> None:
        call = self._calls.get(call_id)
        if call is not None and not call.ended:
            call.bridged_to = leg_id
            if call_id not in self.recordings:
                self.unrecorded_bridges.append(call_id)

    async def unbridge(self, call_id: str) -> None:
        call = self._calls.get(call_id)
        if call is not None:
            call.bridged_to = None

    async def play_prompt(self, call_id: str, prompt_id: str) -> None:
        call = self._calls.get(call_id)
        if call is None or call.ended:
            return
        call.bridged_to = f"prompt:{prompt_id}"

        async def finish() -> None:
            await self._clock.sleep(6.0)  # a short information message
            if not call.ended:
                self._emit(call, CallEventKind.PROMPT_FINISHED)

        call.tasks.append(asyncio.ensure_future(finish()))

    async def send_dtmf(self, call_id: str, digits: str) -> None:
        keys = dtmf_digits(digits)
        call = self._calls.get(call_id)
        if call is not None and call.answered and not call.ended:
            self.sent_digits[call_id] = self.sent_digits.get(call_id, "") + keys

    async def start_recording(self, call_id: str, recording_id: str) -> None:
        call = self._calls.get(call_id)
        if call is not None and not call.ended:
            self.recordings[call_id] = recording_id

    async def stop_recording(self, call_id: str) -> None:
        return None

    async def supervise(self, supervisor_leg_id: str, call_id: str, mode: SuperviseMode) -> None:
        return None

    async def end_supervision(self, supervisor_leg_id: str) -> None:
        return None

    async def close(self) -> None:
        for call in self._calls.values():
            for t in call.tasks:
                if t is not asyncio.current_task():
                    t.cancel()
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- simulation ------------------------------------------------------------------
    def _rng(self, call: _Call) -> random.Random:
        key = f"{self._seed}:{call.request.contact_ref}:{call.request.attempt_id}"
        return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))

    async def _progress(self, call: _Call) -> None:
        rng = self._rng(call)
        pop = self._pop
        u = rng.random()
        ring = rng.lognormvariate(0.0, 0.5) * pop.ring_median_s
        await self._clock.sleep(0.2)
        if call.ended:
            return
        if u < pop.invalid:
            self._end(call)
            self._emit(call, CallEventKind.FAILED, sip_status=404, reason="invalid number")
            return
        if u < pop.invalid + pop.busy:
            self._end(call)
            self._emit(call, CallEventKind.BUSY, sip_status=486)
            return
        self._emit(call, CallEventKind.RINGING)
        # one draw for the whole mix, so the shares are shares of dials (a second draw for
        # the answer made them shares of the calls that were neither invalid nor busy)
        answers = pop.invalid + pop.busy + pop.human + pop.machine
        if u < answers and ring < call.request.ring_timeout_s:
            await self._clock.sleep(ring)
            if call.ended:
                return
            call.answered = True
            human = u < pop.invalid + pop.busy + pop.human
            call.machine = not human
            answered_by = AnsweredBy.HUMAN if human else AnsweredBy.MACHINE
            answered_at = detected = self._clock.now()
            if call.request.amd:
                await self._clock.sleep(pop.amd_decision_s)
                detected = self._clock.now()
                if human and rng.random() < pop.amd_human_as_machine:
                    answered_by = AnsweredBy.MACHINE
            else:
                answered_by = AnsweredBy.UNKNOWN if not human else AnsweredBy.HUMAN
            if call.ended:
                return
            # ``at`` is when the person answered, not when AMD decided: the 2 s for the
            # information message and the person's patience both run from the answer.
            self._emit(
                call,
                CallEventKind.ANSWERED,
                at=answered_at,
                answered_by=answered_by,
                detection_finished_at=detected,
            )
            if human:
                await self._clock.sleep(max(0.0, pop.patience_s - (detected - answered_at)))
                if not call.ended and call.bridged_to is None:
                    # nobody there: the person hangs up on a silent line
                    self._end(call)
                    self._emit(call, CallEventKind.HUNG_UP, hangup_party=HangupParty.REMOTE)
            else:
                await self._clock.sleep(20.0)  # the machine's greeting ends
                if not call.ended and call.bridged_to is None:
                    self._end(call)
                    self._emit(call, CallEventKind.HUNG_UP, hangup_party=HangupParty.REMOTE)
            return
        await self._clock.sleep(call.request.ring_timeout_s)
        if not call.ended:
            self._end(call)
            self._emit(call, CallEventKind.NO_ANSWER)

    def _end(self, call: _Call) -> None:
        call.ended = True

    def _emit(
        self, call: _Call, kind: CallEventKind, *, at: float | None = None, **kw: object
    ) -> None:
        event = CallEvent(
            call_id=call.call_id,
            attempt_id=call.request.attempt_id,
            kind=kind,
            at=self._clock.now() if at is None else at,
            **kw,  # type: ignore[arg-type]
        )
        for listener in list(self._listeners):
            listener(event)
        if call.ended:
            self._calls.pop(call.call_id, None)


def read_call_log(path: Path) -> list[dict[str, object]]:
    """Every call the network received, in order (a torn last line from a kill is skipped)."""
    out: list[dict[str, object]] = []
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
