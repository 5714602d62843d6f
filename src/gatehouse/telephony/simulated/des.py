"""A fast discrete-event simulation of a campaign: population, agents, pacer, compliance.

No asyncio: a heap of timed events in virtual time, so hours run in seconds. Every random
stream is seeded from the scenario seed (one generator per purpose), so the same scenario and
seed give bit-identical results. The pacer is consulted on a 1 s tick and whenever an agent
comes free; the compliance ledger is the same code the reports use.

Per-event work is O(log agents), not O(agents): agent counts are kept as counters, idle agents
in a heap keyed by (idle since, id) (longest idle first, ties to the lowest id, as a scan
would), and the busy agents' start times in an array indexed by agent id.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, overload
from zoneinfo import ZoneInfo

import numpy as np

from gatehouse.domain.compliance import ComplianceLedger, amd_gate
from gatehouse.domain.pacing import Outcome, PacingSnapshot, make_pacer
from gatehouse.domain.pacing.basic import PreviewPacer
from gatehouse.telephony.simulated.scenario import AnswerMix, Scenario

TICK_S = 1.0
SAMPLE_S = 60.0


@dataclass
class _Agent:
    id: int
    logged_in_at: float
    state: str = "idle"  # idle | busy | preview | off
    idle_since: float = 0.0
    busy_since: float = 0.0
    leave_when_free: bool = False
    logged_in_s: float = 0.0
    busy_s: float = 0.0
    talk_s: float = 0.0


@dataclass
class _Waiting:
    contact: int
    answered_at: float
    deadline: float
    patience_at: float
    ring_s: float
    machine: bool = False
    ready_at: float = 0.0  # answer + AMD decision: the earliest it can reach an agent
    resolved: bool = False  # connected, or counted by give_up


class _RingAges(Sequence[float]):
    """Seconds since each ringing call was dialled, computed only if the pacer reads them
    (it does when it refreshes its forecast, a fraction of decisions). Valid during the
    decision it was made for: the simulation does not move while the pacer decides."""

    __slots__ = ("_ages", "_now", "_since")

    def __init__(self, since: dict[int, float], now: float) -> None:
        self._since = since
        self._now = now
        self._ages: list[float] | None = None

    def _values(self) -> list[float]:
        if self._ages is None:
            since = np.fromiter(self._since.values(), float, len(self._since))
            self._ages = np.maximum(self._now - since, 0.0).tolist()
        return self._ages

    def __len__(self) -> int:
        return len(self._since) if self._ages is None else len(self._ages)

    @overload
    def __getitem__(self, i: int) -> float: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[float]: ...
    def __getitem__(self, i: int | slice) -> float | Sequence[float]:
        return self._values()[i]

    def __iter__(self) -> Iterator[float]:
        return iter(self._values())


@dataclass
class SimResult:
    summary: dict[str, Any]
    series: dict[str, list[float]] = field(default_factory=dict)


class Simulation:
    def __init__(self, scenario: Scenario, pacer: str, seed: int = 1) -> None:
        self.sc = scenario
        self.seed = seed
        rules = scenario.rules
        self.pacer = make_pacer(
            pacer, operating_target=rules.operating_target, limit=rules.abandon_limit
        )
        self.pacer_spec = pacer
        # only pacers that model answer timing get (and pay for) the ring ages
        self._ring_ages = bool(getattr(self.pacer, "uses_ring_ages", False))
        streams = np.random.SeedSequence(seed).spawn(7)
        (
            self.rng_outcome,
            self.rng_ring,
            self.rng_patience,
            self.rng_talk,
            self.rng_wrap,
            self.rng_amd,
            self.rng_misc,
        ) = (np.random.default_rng(s) for s in streams)
        self.t0 = scenario.start.timestamp()
        self.end = self.t0 + scenario.duration
        amd_ok, self.amd_note = amd_gate(scenario.amd.human_as_machine, rules.operating_target)
        self.amd_on = scenario.amd.enabled and amd_ok
        self.ledger = ComplianceLedger(
            human_as_machine=scenario.amd.human_as_machine if self.amd_on else 0.0
        )
        self._heap: list[tuple[float, int, str, Any]] = []
        self._seq = itertools.count()
        self.agents: list[_Agent] = []
        # O(1)/O(log n) agent bookkeeping (see the module docstring).
        self._n_logged = 0  # state != off
        self._n_active = 0  # logged in and not leaving when free
        self._n_idle = 0
        self._idle_heap: list[tuple[float, int]] = []
        self._busy_since = np.zeros(64)
        self._busy_mask = np.zeros(64, dtype=bool)
        self._abandoned = 0
        self._midnight = float("-inf")  # next local midnight, cached per day
        self.waiting: deque[_Waiting] = deque()
        self.ringing = 0
        self._ringing_since: dict[int, float] = {}  # contact -> dial time, while it rings
        self.next_contact = 0
        self.calls_placed = 0
        self.human_answers = 0
        self.machine_answers = 0
        self.fp_actual = 0
        self.agent_waits: list[float] = []
        self.answer_waits: list[float] = []
        self.series: dict[str, list[float]] = {
            "t": [],
            "dial_level": [],
            "busy": [],
            "agents": [],
            "abandon_rate": [],
        }
        self._samplers = self._build_samplers(None)
        self._answer: AnswerMix | dict[str, AnswerMix] = scenario.answer
        self._amd_decision = scenario.amd.decision_s.sampler()
        self._patience = scenario.patience_s.sampler()
        self._machine_handle = scenario.machine_handle_s.sampler()
        self.tz = ZoneInfo("Europe/London")

    def _build_samplers(self, phase: Any) -> dict[str, Callable[[np.random.Generator], float]]:
        sc = self.sc
        return {
            "ring": (
                phase.ring_to_answer_s if phase and phase.ring_to_answer_s else sc.ring_to_answer_s
            ).sampler(),
            "talk": (phase.talk_s if phase and phase.talk_s else sc.talk_s).sampler(),
            "wrap": (phase.wrap_s if phase and phase.wrap_s else sc.wrap_s).sampler(),
        }

    # -- plumbing ----------------------------------------------------------------------
    def _at(self, t: float, kind: str, payload: Any = None) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), kind, payload))

    def run(self, progress: Callable[[float], None] | None = None) -> SimResult:
        for offset, count in self.sc.agent_schedule():
            self._at(self.t0 + offset, "agents", count)
        for phase in self.sc.phases:
            self._at(self.t0 + phase.at, "phase", phase)
        self._at(self.t0, "tick")
        self._at(self.t0, "sample")
        last_report = self.t0
        handlers: dict[str, Callable[[Any], None]] = {}
        heap = self._heap
        while heap:
            t, _, kind, payload = heapq.heappop(heap)
            if t > self.end:
                break
            self.now = t
            handler = handlers.get(kind)
            if handler is None:
                handler = handlers[kind] = getattr(self, f"_on_{kind}")
            handler(payload)
            if progress and t - last_report > 300:
                progress((t - self.t0) / self.sc.duration)
                last_report = t
        self.now = self.end
        for agent in self.agents:
            self._account(agent, self.end)
        return SimResult(self._summary(), self.series)

    # -- agents ------------------------------------------------------------------------
    def _logged_in(self) -> list[_Agent]:
        return [a for a in self.agents if a.state != "off"]

    def _on_agents(self, count: int) -> None:
        active = [a for a in self._logged_in() if not a.leave_when_free]
        if count > len(active):
            for _ in range(count - len(active)):
                agent = _Agent(len(self.agents), self.now, idle_since=self.now)
                self.agents.append(agent)
                if agent.id >= len(self._busy_mask):
                    grow = len(self._busy_mask)
                    self._busy_since = np.concatenate([self._busy_since, np.zeros(grow)])
                    self._busy_mask = np.concatenate([self._busy_mask, np.zeros(grow, bool)])
                self._n_logged += 1
                self._n_active += 1
                self._set_idle(agent)
            self._serve_waiting()
            self._decide()
        else:
            # Idle agents leave first; busy ones leave when their call is done.
            surplus = len(active) - count
            for agent in sorted(active, key=lambda a: a.state != "idle"):
                if surplus == 0:
                    break
                if agent.state == "idle":
                    self._log_out(agent)
                else:
                    agent.leave_when_free = True
                    self._n_active -= 1
                surplus -= 1

    def _log_out(self, agent: _Agent) -> None:
        """Log out an idle agent."""
        self._account(agent, self.now)
        agent.state = "off"
        self._n_idle -= 1
        self._n_logged -= 1
        if not agent.leave_when_free:
            self._n_active -= 1

    def _set_idle(self, agent: _Agent) -> None:
        agent.state = "idle"
        agent.idle_since = self.now
        self._n_idle += 1
        self._busy_mask[agent.id] = False
        heapq.heappush(self._idle_heap, (self.now, agent.id))

    def _account(self, agent: _Agent, until: float) -> None:
        if agent.state != "off":
            agent.logged_in_s += until - agent.logged_in_at
            agent.logged_in_at = until
            if agent.state == "busy":
                agent.busy_s += until - agent.busy_since
                agent.busy_since = until

    def _free_agent(self) -> _Agent | None:
        """The longest-idle agent (lowest id on ties), or None; entries are dropped lazily."""
        heap = self._idle_heap
        while heap:
            since, agent_id = heap[0]
            agent = self.agents[agent_id]
            if agent.state == "idle" and agent.idle_since == since:
                return agent
            heapq.heappop(heap)
        return None

    def _connect(self, agent: _Agent, ring_s: float, answered_at: float, machine: bool) -> None:
        self.agent_waits.append(self.now - agent.idle_since)
        self.answer_waits.append(self.now - answered_at)
        agent.state = "busy"
        agent.busy_since = self.now
        self._n_idle -= 1
        self._busy_mask[agent.id] = True
        self._busy_since[agent.id] = self.now
        if machine:
            talk, wrap = self._machine_handle(self.rng_talk), 0.0
        else:
            talk, wrap = (
                max(1.0, self._samplers["talk"](self.rng_talk)),
                max(0.0, self._samplers["wrap"](self.rng_wrap)),
            )
        agent.talk_s += talk
        self._at(self.now + talk + wrap, "agent_free", (agent, ring_s, talk + wrap, machine))

    def _on_agent_free(self, payload: tuple[_Agent, float, float, bool]) -> None:
        agent, ring_s, handle, _machine = payload
        agent.busy_s += self.now - agent.busy_since
        self._set_idle(agent)
        # The dialler cannot tell a machine that reached an agent from a person: the agent's
        # time on it is handle time like any other (it frees the agent just the same).
        self.pacer.observe(Outcome(self.now, "handled", ring_s, handle_s=handle))
        if agent.leave_when_free:
            self._log_out(agent)
        self._serve_waiting()
        self._decide()

    # -- calls -------------------------------------------------------------------------
    def _mix(self) -> AnswerMix:
        if isinstance(self._answer, AnswerMix):
            return self._answer
        hour = (
            datetime.fromtimestamp(self.now, tz=UTC).astimezone(self.sc.start.tzinfo).strftime("%H")
        )
        if hour in self._answer:
            return self._answer[hour]
        keys = sorted(self._answer)
        earlier = [k for k in keys if k <= hour]
        return self._answer[earlier[-1] if earlier else keys[0]]

    def _dial(self, n: int, *, delay: float = 0.0) -> None:
        rules = self.sc.rules
        for _ in range(n):
            if self.next_contact >= self.sc.contacts:
                return
            contact = self.next_contact
            self.next_contact += 1
            self.calls_placed += 1
            self.ringing += 1
            self._ringing_since[contact] = self.now + delay
            self.ledger.dialled(str(contact), self.now + delay)
            mix = self._mix()
            u = self.rng_outcome.random()
            if u < mix.human:
                kind = "human"
            elif u < mix.human + mix.machine:
                kind = "machine"
            elif u < mix.human + mix.machine + mix.busy:
                kind = "busy"
            elif u < mix.human + mix.machine + mix.busy + mix.invalid:
                kind = "invalid"
            else:
                kind = "no_answer"
            if kind in ("human", "machine"):
                ring = self._samplers["ring"](self.rng_ring)
                if ring > rules.ring_timeout_s:
                    kind, ring = "no_answer", rules.ring_timeout_s
            elif kind == "busy":
                ring = 3.0
            elif kind == "invalid":
                ring = 2.0
            else:
                ring = rules.ring_timeout_s
            self._at(self.now + delay + ring, "result", (contact, kind, ring))

    def _on_result(self, payload: tuple[int, str, float]) -> None:
        contact, kind, ring = payload
        self.ringing -= 1
        del self._ringing_since[contact]
        amd = self.sc.amd
        if kind == "no_answer":
            self.ledger.unanswered(ring)
        if kind in ("busy", "invalid", "no_answer"):
            self.pacer.observe(Outcome(self.now, kind, ring))
            self._decide()
            return
        decision = self._amd_decision(self.rng_amd) if self.amd_on else 0.0
        if kind == "machine":
            self.machine_answers += 1
            if self.amd_on and self.rng_amd.random() >= amd.machine_as_human:
                self.pacer.observe(Outcome(self.now, "machine", ring))
                self.ledger.machine_verdict(str(contact), self.now + decision)
                self._decide()
                return
            # AMD off, or the detector took it for a person: to the dialler (and the pacer)
            # this is an answered call that needs an agent, reported when it gets one or not.
            self._live(contact, ring, self.now, decision, machine=True)
            return
        self.human_answers += 1
        if self.amd_on and self.rng_amd.random() < amd.human_as_machine:
            self.fp_actual += 1  # counted through the ledger's estimate, not one by one
            self.pacer.observe(Outcome(self.now, "machine", ring))
            self._decide()
            return
        self._live(contact, ring, self.now, decision, machine=False)

    def _live(
        self, contact: int, ring: float, answered_at: float, decision: float, *, machine: bool
    ) -> None:
        rules = self.sc.rules
        ready_at = answered_at + decision
        hold = min(rules.hold_for_agent_s, max(0.0, rules.message_within_s - decision - 0.1))
        patience = 1e9 if machine else self._patience(self.rng_patience)
        self.waiting.append(
            _Waiting(
                contact,
                answered_at,
                ready_at + hold,
                answered_at + patience,
                ring,
                machine,
                ready_at=ready_at,
            )
        )
        self._at(ready_at, "serve")
        self._at(ready_at + hold, "give_up", self.waiting[-1])

    def _on_serve(self, _payload: Any) -> None:
        self._serve_waiting()

    def _serve_waiting(self) -> None:
        while self.waiting:
            call = self.waiting[0]
            if call.resolved or call.patience_at < self.now - 1e-9:
                # Resolved already, or the person hung up in silence: give_up counts it (it
                # used to be dropped here uncounted when an agent came free in between).
                self.waiting.popleft()
                continue
            if call.deadline < self.now or call.ready_at > self.now + 1e-9:
                break  # past its deadline, or AMD has not decided yet
            agent = self._free_agent()
            if agent is None:
                break
            self.waiting.popleft()
            call.resolved = True
            if not call.machine:
                self.ledger.answered_live(str(call.contact), call.answered_at, abandoned=False)
            self.pacer.observe(Outcome(self.now, "human", call.ring_s))
            self._connect(agent, call.ring_s, call.answered_at, call.machine)

    def _on_give_up(self, call: _Waiting) -> None:
        if call.resolved:
            return
        call.resolved = True
        if call in self.waiting:
            self.waiting.remove(call)
        if call.machine:
            # A machine with no agent: message left, hung up; not a live call for the rules,
            # but the dialler only knows an answered call found no agent.
            self.pacer.observe(Outcome(self.now, "human", call.ring_s, abandoned=True))
            self._decide()
            return
        latency = self.now - call.answered_at
        silent = call.patience_at < self.now  # hung up in silence before the message
        self.ledger.answered_live(
            str(call.contact),
            call.answered_at,
            abandoned=True,
            message_latency=None if silent else latency,
        )
        self._abandoned += 1
        self.pacer.observe(Outcome(self.now, "human", call.ring_s, abandoned=True))
        self._decide()

    # -- pacing ------------------------------------------------------------------------
    def _on_tick(self, _payload: Any) -> None:
        self._decide()
        self._at(self.now + TICK_S, "tick")

    def _on_phase(self, phase: Any) -> None:
        if phase.answer is not None:
            self._answer = phase.answer
        self._samplers = self._build_samplers(phase)

    def _day_end(self) -> float:
        if self.now >= self._midnight:  # time only moves forward: recompute once a day
            local = datetime.fromtimestamp(self.now, tz=UTC).astimezone(self.tz)
            midnight = (local + timedelta(days=1)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            self._midnight = midnight.timestamp()
        return self._midnight - self.now

    def _decide(self) -> None:
        mask = self._busy_mask[: len(self.agents)]
        busy_elapsed = tuple((self.now - self._busy_since[: len(self.agents)][mask]).tolist())
        snapshot = PacingSnapshot(
            now=self.now,
            agents_logged_in=self._n_active,
            agents_ready=self._n_idle,
            busy_elapsed=busy_elapsed,
            calls_ringing=self.ringing,
            ringing_elapsed=_RingAges(self._ringing_since, self.now) if self._ring_ages else (),
            calls_waiting=len(self.waiting),
            calls_live=len(busy_elapsed),
            live_calls=len(self.ledger.live),
            abandoned_calls=self._abandoned,
            seconds_to_day_end=min(self._day_end(), self.end - self.now),
        )
        n = self.pacer.decide(snapshot)
        if n <= 0:
            return
        if isinstance(self.pacer, PreviewPacer):
            # The agent reads the record first: the call starts preview_s later.
            self._dial(n, delay=self.pacer.preview_s)
        else:
            self._dial(n)

    def _on_sample(self, _payload: Any) -> None:
        logged = self._logged_in()
        busy = sum(1 for a in logged if a.state == "busy")
        in_flight = self.ringing + len(self.waiting) + busy
        self.series["t"].append((self.now - self.t0) / 60.0)
        self.series["dial_level"].append(in_flight / len(logged) if logged else 0.0)
        self.series["busy"].append(float(busy))
        self.series["agents"].append(float(len(logged)))
        self.series["abandon_rate"].append(self.ledger.overall_rate())
        self._at(self.now + SAMPLE_S, "sample")

    # -- results -----------------------------------------------------------------------
    def _summary(self) -> dict[str, Any]:
        logged = sum(a.logged_in_s for a in self.agents)
        busy = sum(a.busy_s for a in self.agents)
        talk = sum(a.talk_s for a in self.agents)
        waits = np.array(self.agent_waits) if self.agent_waits else np.zeros(1)
        answer_waits = np.array(self.answer_waits) if self.answer_waits else np.zeros(1)
        rules = self.sc.rules
        compliance = self.ledger.report(
            self.t0,
            self.end,
            limit=rules.abandon_limit,
            message_within_s=rules.message_within_s,
            min_ring_s=rules.min_ring_s,
        )
        return {
            "scenario": self.sc.name,
            "pacer": self.pacer.name,
            "seed": self.seed,
            "agents": self.sc.max_agents(),
            "duration_s": self.sc.duration,
            "calls_placed": self.calls_placed,
            "human_answers": self.human_answers,
            "machine_answers": self.machine_answers,
            "connected": compliance["connected"],
            "abandoned": compliance["abandoned"],
            "amd_false_positive_estimate": compliance["amd_false_positive_estimate"],
            "amd_false_positives_simulated": self.fp_actual,
            "abandon_rate": compliance["abandon_rate"],
            "max_abandon_rate_rolling_24h": compliance["max_abandon_rate_rolling_24h"],
            "max_abandon_rate_calendar_day": compliance["max_abandon_rate_calendar_day"],
            "occupancy": min(1.0, busy / logged) if logged else 0.0,
            "talk_share": min(1.0, talk / logged) if logged else 0.0,
            "mean_wait_s": float(waits.mean()),
            "p95_wait_s": float(np.percentile(waits, 95)),
            "p95_answer_to_agent_s": float(np.percentile(answer_waits, 95)),
            "max_cumulative_abandon_rate_after_50_live": compliance[
                "max_cumulative_abandon_rate_after_50_live"
            ],
            "max_message_latency_s": compliance["max_message_latency_s"],
            "min_unanswered_ring_s": compliance["min_unanswered_ring_s"],
            "redials_within_72h_of_abandon": compliance["redials_within_72h_of_abandon"],
            "amd_used": self.amd_on,
            "amd_note": self.amd_note if self.sc.amd.enabled else "AMD off",
            "contacts_exhausted": self.next_contact >= self.sc.contacts,
            "compliant": bool(compliance["compliant"]),
        }


def simulate(
    scenario: Scenario, pacer: str, seed: int = 1, progress: Callable[[float], None] | None = None
) -> SimResult:
    return Simulation(scenario, pacer, seed).run(progress)
