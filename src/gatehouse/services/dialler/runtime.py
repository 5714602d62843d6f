"""The dialler runtime: one worker dialling one campaign against a telephony engine.

Contract:
- The same code runs in real time and virtual/accelerated time: it only uses
  ``Clock.now()``/``Clock.sleep()`` and engine events.
- Invariant 5: an attempt row is committed before ``place_call``; the outcome and the
  contact's next dial state are written in the one transaction that closes the attempt;
  on start the worker reconciles attempts left open by dead workers to ``outcome_unknown``.
- Invariant 4: an answered live call goes to the longest-idle ready agent cleared for the
  campaign, or the information message starts at once (well inside 2 s) and the call is
  recorded as abandoned. The pacer only ever sees the runtime's own records.
- No PII: the runtime handles the vault's opaque ``contact_ref`` and a time-zone hint; the
  engine resolves the destination at dial time.
- Agent state lives in this process (``AgentSlot``) and is written through to
  ``dialler_agents``/``dialler_agent_states`` on every change, so the web process (or the
  wallboard of another worker) can read it from the database.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import structlog

from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.domain.compliance import fp_estimate
from gatehouse.domain.dialler.agents import AgentMachine, AgentState
from gatehouse.domain.dialler.config import (
    LIVE_OUTCOMES,
    CallOutcome,
    CampaignConfig,
    CampaignStatus,
)
from gatehouse.domain.dialler.eligibility import (
    DialState,
    after_outcome,
    callback_slots,
    check,
    next_check_at,
    opened,
)
from gatehouse.domain.errors import Conflict, NotFound, ValidationFailed
from gatehouse.telephony.clock import Clock
from gatehouse.telephony.port import (
    AnsweredBy,
    CallEvent,
    CallEventKind,
    DialRequest,
    TelephonyEngine,
)

log = structlog.get_logger("gatehouse.dialler")

WORKER_LEASE_S = 30.0  # wall seconds
LEG_ENDED = frozenset(
    {
        CallEventKind.HUNG_UP,
        CallEventKind.FAILED,
        CallEventKind.NO_ANSWER,
        CallEventKind.BUSY,
    }
)
#: what an agent may record for a call a restart cut off (no callback: no slot was offered)
LATE_OUTCOMES = frozenset(
    {
        CallOutcome.COMPLETE,
        CallOutcome.PARTIAL,
        CallOutcome.REFUSED,
        CallOutcome.OPT_OUT,
        CallOutcome.NOT_ELIGIBLE,
        CallOutcome.QUOTA_FULL,
    }
)
RECONCILE_EVERY_S = 30.0  # clock seconds
#: an agent on a call: reserved for it, talking, or writing it up
BUSY_STATES = frozenset({AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP})
CONTACT_LEASE_S = 120.0


class Pacer(Protocol):
    name: str

    def lines_to_dial(self, *, ready_agents: int, dialling: int, config: CampaignConfig) -> int:
        """How many new calls to start now."""
        ...


@dataclass
class ProgressivePacer:
    """One line per free agent (a live agent is guaranteed for every call)."""

    name: str = "progressive"

    def lines_to_dial(self, *, ready_agents: int, dialling: int, config: CampaignConfig) -> int:
        return max(0, ready_agents - dialling)


@dataclass
class PreviewPacer:
    """Preview: a free agent is reserved for one contact, sees its approved display fields
    for ``preview_s``, then the system places the call (agents never dial). The answer can
    only go to that agent, so a preview call is never abandoned."""

    name: str = "preview"

    def lines_to_dial(self, *, ready_agents: int, dialling: int, config: CampaignConfig) -> int:
        return 0  # the runtime reserves agents itself (``_preview_round``)


@dataclass
class PowerPacer:
    """A fixed ``ratio`` lines per free agent (not agent-reserved: the 72 h rule applies)."""

    ratio: float = 1.5
    name: str = "power"

    def lines_to_dial(self, *, ready_agents: int, dialling: int, config: CampaignConfig) -> int:
        return max(0, math.ceil(self.ratio * ready_agents) - dialling)


class DomainPacer:
    """W1-B's pacers (``domain.pacing``: vicidial, predictive, ...) behind the runtime's
    ``Pacer``: the snapshot is built from the runtime's own state and attempt records, and
    every closed attempt is fed back through ``observe``."""

    def __init__(self, spec: str, config: CampaignConfig) -> None:
        from gatehouse.domain.pacing import make_pacer

        try:
            self.inner = make_pacer(
                spec, operating_target=config.operating_target, limit=config.abandon_limit
            )
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from exc
        self.name = spec
        self.runtime: DiallerRuntime | None = None

    def lines_to_dial(self, *, ready_agents: int, dialling: int, config: CampaignConfig) -> int:
        from gatehouse.domain.pacing import PacingSnapshot

        rt = self.runtime
        assert rt is not None
        now = rt.clock.now()
        # seconds into the agent's whole call (talk and wrap-up), as the handle times the
        # pacer learns from; not since the last state change (wrap-up would restart it)
        busy = [
            now - (s.machine.since if s.busy_since is None else s.busy_since)
            for s in rt.agents.values()
            if s.machine.state in BUSY_STATES
        ]
        logged_in = sum(
            1
            for s in rt.agents.values()
            if s.machine.state not in (AgentState.LOGGED_OUT, AgentState.PAUSED)
        )
        live, abandoned, day_end = rt.governing_window(now)
        # Ring ages (from the attempt's opening, as the ring_s reported to observe) let the
        # pacer weigh a call that has rung long by its lower chance of a live answer; if they
        # do not match the count, the pacer counts every ringing call as just dialled.
        ringing = tuple(
            max(0.0, now - c.opened_at)
            for c in rt.calls.values()
            if c.answered_at is None and not c.closed
        )
        snapshot = PacingSnapshot(
            now=now,
            agents_logged_in=logged_in,
            agents_ready=ready_agents,
            busy_elapsed=tuple(busy),
            calls_ringing=dialling,
            ringing_elapsed=ringing,
            calls_waiting=0,
            calls_live=sum(1 for c in rt.calls.values() if c.agent_id and not c.closed),
            live_calls=live,
            abandoned_calls=abandoned,
            seconds_to_day_end=day_end,
            # the runtime's hard abandon bound, where it applies (``_dial_round``): the pacer
            # is told, so it does not learn from calls it asked for and were never placed
            max_new_calls=rt.new_calls_allowed(now, ready_agents, dialling),
        )
        return max(0, int(self.inner.decide(snapshot)))

    def connected(self, ctx: CallCtx, at: float) -> None:
        """An answered call reached an agent: a live answer for the pacer (a person, or a
        machine the dialler could not tell from one), as the simulator reports it."""
        from gatehouse.domain.pacing import Outcome

        answered = ctx.answered_at if ctx.answered_at is not None else at
        self.inner.observe(Outcome(at=at, kind="human", ring_s=max(0.0, answered - ctx.opened_at)))

    def agent_free(self, busy_since: float, at: float) -> None:
        """An agent is free again after a call: the time it took them, from the connect to
        ready (talk and wrap-up as they really were; an answering machine has no wrap-up),
        is a handle time, as the simulator reports it when an agent comes free."""
        from gatehouse.domain.pacing import Outcome

        self.inner.observe(
            Outcome(at=at, kind="handled", ring_s=0.0, handle_s=max(0.0, at - busy_since))
        )

    def observe(self, ctx: CallCtx, outcome: CallOutcome, at: float) -> None:
        from gatehouse.domain.pacing import Outcome

        if ctx.agent_id is not None and ctx.answered_at is not None:
            # the answer was reported at connect (``connected``), the agent's handle time is
            # reported when the agent is free again (``agent_free``)
            return
        kind = {
            CallOutcome.BUSY: "busy",
            CallOutcome.NETWORK_FAILURE: "invalid",
            CallOutcome.NO_ANSWER: "no_answer",
            CallOutcome.MACHINE: "machine",
        }.get(outcome, "human")
        answered = ctx.answered_at if ctx.answered_at is not None else at
        self.inner.observe(
            Outcome(
                at=at,
                kind=kind,
                ring_s=max(0.0, answered - ctx.opened_at),
                abandoned=outcome == CallOutcome.ABANDONED,
            )
        )


def pacer_by_name(name: str, config: CampaignConfig | None = None) -> Pacer:
    if name == "progressive":
        return ProgressivePacer()
    if name == "preview":
        return PreviewPacer()
    if name.startswith("power"):
        _, _, ratio = name.partition(":")
        return PowerPacer(float(ratio) if ratio else 1.5)
    if name.startswith(("predictive", "vicidial")):
        return DomainPacer(name, config or CampaignConfig())
    raise ValidationFailed(
        f"unknown pacer {name!r}: use progressive, preview, power:R, vicidial or predictive"
    )


@dataclass
class CallCtx:
    attempt_id: str
    contact_ref: str
    opened_at: float
    state: DialState
    agent_reserved: bool
    call_id: str | None = None
    answered_at: float | None = None
    agent_id: str | None = None
    abandoned: bool = False
    closed: bool = False
    remote_gone: bool = False
    reserved_for: str | None = None  # preview: the agent reserved before the dial
    interview: Any = None  # the interview handle, when an interview runner is wired


@dataclass
class AgentSlot:
    machine: AgentMachine
    name: str
    campaigns: tuple[str, ...]
    bot: bool = False
    attempt_id: str | None = None
    leg_id: str | None = None
    #: preview: the contact this agent is reading and when its call is placed
    preview: tuple[DialState, float] | None = None
    #: a call a restart cut off, whose record the agent may still finish (attempt, contact)
    recovered: tuple[str, str] | None = None
    wrap_task: asyncio.Task[None] | None = None
    #: when the agent's current call began (reserved or connected); None when not busy
    busy_since: float | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    version: int = 0


class CallHandler(Protocol):
    """What happens on an agent's screen once a call is connected (bots or the web desk)."""

    def connected(self, runtime: DiallerRuntime, agent_id: str, ctx: CallCtx) -> None: ...


@dataclass
class RuntimeStats:
    placed: int = 0
    answered: int = 0
    connected: int = 0
    abandoned: int = 0
    max_message_latency_s: float = 0.0
    min_unanswered_ring_s: float = math.inf
    recording_failures: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class DiallerRuntime:
    """One worker for one campaign."""

    def __init__(
        self,
        *,
        store: DiallerStore,
        engine: TelephonyEngine,
        clock: Clock,
        campaign_id: str,
        worker_id: str | None = None,
        pacer: Pacer | None = None,
        handler: CallHandler | None = None,
        tick_s: float = 1.0,
        on_change: Callable[[], None] | None = None,
        drain_s: float = 600.0,
    ) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self.campaign_id = campaign_id
        self.worker_id = worker_id or f"w-{uuid.uuid4().hex[:12]}"
        self.tick_s = tick_s
        self.handler = handler
        self.on_change = on_change
        rec = store.campaign(campaign_id)
        self.campaign = rec
        self.config = rec.config
        self.pacer = pacer or pacer_by_name(rec.config.pacer, rec.config)
        if isinstance(self.pacer, DomainPacer):
            self.pacer.runtime = self
        #: cap calls beyond the free agents by the abandon budget (``abandon_headroom``)?
        #: Not for progressive (it cannot abandon), nor for a pacer that budgets abandons
        #: itself (predictive), which the simulator measures uncapped (decision 0045)
        self.worst_case_cap = not isinstance(self.pacer, ProgressivePacer) and not getattr(
            getattr(self.pacer, "inner", None), "budgets_abandons", False
        )
        self.agents: dict[str, AgentSlot] = {}
        self.calls: dict[str, CallCtx] = {}  # by attempt id
        self.by_call: dict[str, str] = {}  # engine call id → attempt id
        self.hopper: deque[DialState] = deque()
        self.stats = RuntimeStats()
        self._events: asyncio.Queue[CallEvent] = asyncio.Queue()
        self._stopping = asyncio.Event()
        self._seen_stop_now: float | None = rec.stop_now_at
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_hopper_fill = -math.inf
        self._hopper_empty_until = -math.inf
        self._started = False
        self._budget_cache: tuple[float, int] | None = None
        self._window_cache: tuple[float, tuple[int, int, float]] | None = None
        self._campaign_checked_at = -math.inf
        self._quotas_full = False
        self._quotas_checked_until = -math.inf
        self.drain_s = drain_s
        self._drain_deadline = math.inf

    # ---- lifecycle ------------------------------------------------------------------
    def start_worker(self) -> int:
        """Register this worker (refused on SQLite if another is alive) and reconcile."""
        now = self.clock.now()
        self.store.register_worker(self.campaign_id, self.worker_id, now, WORKER_LEASE_S)
        # a restarted worker keeps its id: whatever it left open before this start is dead
        closed = self.store.reconcile(
            self.campaign_id, now, self.config, also_dead=frozenset({self.worker_id})
        )
        self._started = True
        if closed:
            log.warning("reconciled", campaign=self.campaign_id, outcome_unknown=closed)
        return closed

    async def run(self, *, until: float | None = None) -> None:
        """Dial until ``stop()`` or the clock passes ``until``."""
        if not self._started:
            self.start_worker()
        self.engine.subscribe(self._on_event)
        consumer = asyncio.ensure_future(self._consume())
        last_beat = time.time()  # liveness is wall time (see DiallerStore)
        last_reconcile = self.clock.now()
        try:
            while not self._stopping.is_set():
                now = self.clock.now()
                if until is not None and now >= until:
                    break
                if time.time() - last_beat >= WORKER_LEASE_S / 3:
                    self.store.heartbeat(self.worker_id, now, WORKER_LEASE_S)
                    last_beat = time.time()
                if now - last_reconcile >= RECONCILE_EVERY_S:
                    # another worker may have died since we started: close what it left
                    if self.store.reconcile(self.campaign_id, now, self.config):
                        log.warning("reconciled_dead_worker", campaign=self.campaign_id)
                    last_reconcile = now
                self._refresh_campaign()
                if self.campaign.status == CampaignStatus.RUNNING:
                    await self._dial_round(now)
                await self.clock.sleep(self.tick_s)
            # a clean stop: no new dials; let the calls in progress end on their own
            for slot in self.agents.values():
                if slot.preview is not None and slot.machine.state == AgentState.RESERVED:
                    slot.preview = None  # a preview not dialled yet is given back
                    self._move(slot, AgentState.READY)
            await self._wait_calls_end()
        finally:
            await self._drain(consumer)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self, *, at_once: bool = False) -> None:
        """Stop dialling. Calls in progress may finish (up to ``drain_s``) unless
        ``at_once``; whatever is still open then is reconciled as ``outcome_unknown``."""
        if at_once:
            self._drain_deadline = -math.inf
        self._stopping.set()

    async def _wait_calls_end(self) -> None:
        deadline = self.clock.now() + self.drain_s
        while self.calls and self.clock.now() < min(deadline, self._drain_deadline):
            await self.clock.sleep(self.tick_s)

    async def _drain(self, consumer: asyncio.Task[None]) -> None:
        # let calls in progress finish their events briefly, then stop consuming
        consumer.cancel()
        for t in list(self._tasks):
            t.cancel()
        self.engine.unsubscribe(self._on_event)
        leased = [s.contact_ref for s in self.hopper]
        self.hopper.clear()
        self.store.release(self.campaign_id, self.worker_id, leased)
        self.store.stop_worker(self.worker_id)
        # attempts still open belong to a stopped worker: reconcile them now (clean stop)
        self.store.reconcile(self.campaign_id, self.clock.now(), self.config)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task_failed", error=repr(task.exception()))

    def _refresh_campaign(self) -> None:
        # a tiny query every 2 s (pause / stop-now act within 2 s); the full record and its
        # config only when the row's version changed
        now = self.clock.now()
        if now - self._campaign_checked_at < 2.0:
            return
        self._campaign_checked_at = now
        if self.store.campaign_version(self.campaign_id) == self.campaign.version:
            return
        rec = self.store.campaign(self.campaign_id)
        self.campaign = rec
        self.config = rec.config
        if rec.stop_now_at is not None and rec.stop_now_at != self._seen_stop_now:
            self._seen_stop_now = rec.stop_now_at
            self._spawn(self._stop_now())

    async def _stop_now(self) -> None:
        """Hang up every line still ringing, but never before it has rung 15 s (Ofcom)."""
        for ctx in list(self.calls.values()):
            if ctx.call_id is None or ctx.answered_at is not None or ctx.closed:
                continue
            rung = self.clock.now() - ctx.opened_at
            self._spawn(self._hangup_after(ctx.call_id, max(0.0, 15.0 - rung)))

    async def _hangup_after(self, call_id: str, delay: float) -> None:
        if delay > 0:
            await self.clock.sleep(delay)
        await self.engine.hangup(call_id)

    # ---- agents ---------------------------------------------------------------------
    def add_agent(
        self, agent_id: str, *, name: str = "", campaigns: tuple[str, ...] = (), bot: bool = False
    ) -> AgentSlot:
        campaigns = campaigns or (self.campaign_id,)
        self.store.ensure_agent(agent_id, name=name or agent_id, campaigns=campaigns, bot=bot)
        loaded = self.store.load_agent(agent_id)
        # an agent row that never changed state has no meaningful "since" (0): start it now
        machine = (
            loaded[0]
            if loaded and loaded[0].since > 0
            else AgentMachine(agent_id, since=self.clock.now())
        )
        slot = AgentSlot(machine, name or agent_id, campaigns, bot)
        # a restart finds agents mid-call: their attempt was reconciled; they go to wrap-up
        # and (people, not bots) may finish the saved interview and give the outcome
        if machine.state in (AgentState.ON_CALL, AgentState.RESERVED):
            if machine.state == AgentState.RESERVED:
                self._move(slot, AgentState.READY, reason="recovered after restart")
            else:
                last = None if bot else self.store.last_call_attempt(agent_id)
                if last is not None and last.outcome == CallOutcome.UNKNOWN.value:
                    slot.recovered = (last.attempt_id, last.contact_ref)
                self._move(slot, AgentState.WRAP_UP, reason="recovered after restart")
        self.agents[agent_id] = slot
        return slot

    def _move(
        self,
        slot: AgentSlot,
        to: AgentState,
        *,
        reason: str = "",
        wrap_s: float | None = None,
    ) -> None:
        now = self.clock.now()
        was_busy = slot.machine.state in BUSY_STATES
        change = slot.machine.move(to, now, reason=reason, wrap_s=wrap_s)
        if to in BUSY_STATES and not was_busy:
            slot.busy_since = now
        elif to not in BUSY_STATES and was_busy:
            if slot.busy_since is not None and isinstance(self.pacer, DomainPacer):
                self.pacer.agent_free(slot.busy_since, now)
            slot.busy_since = None
        self.store.record_state(
            slot.machine, change, worker_id=self.worker_id, attempt_id=slot.attempt_id
        )
        self._changed(slot)

    def _changed(self, slot: AgentSlot) -> None:
        """Wake whoever watches this agent (the desk's SSE stream, the wallboard)."""
        slot.version += 1
        slot.changed.set()
        slot.changed = asyncio.Event()
        if self.on_change is not None:
            self.on_change()

    def agent(self, agent_id: str) -> AgentSlot:
        slot = self.agents.get(agent_id)
        if slot is None:
            raise NotFound(f"agent {agent_id!r} is not on this dialler")
        return slot

    def login(self, agent_id: str) -> None:
        slot = self.agent(agent_id)
        if slot.machine.state == AgentState.LOGGED_OUT:
            self._move(slot, AgentState.PAUSED, reason="signed on")

    def ready(self, agent_id: str) -> None:
        slot = self.agent(agent_id)
        if slot.wrap_task is not None:
            slot.wrap_task.cancel()
            slot.wrap_task = None
        self._move(slot, AgentState.READY)

    def pause(self, agent_id: str, reason: str) -> None:
        self._move(self.agent(agent_id), AgentState.PAUSED, reason=reason)

    def logout(self, agent_id: str) -> None:
        self._move(self.agent(agent_id), AgentState.LOGGED_OUT)

    def _ready_agents(self) -> list[AgentSlot]:
        return [
            s
            for s in self.agents.values()
            if s.machine.state == AgentState.READY and self.campaign_id in s.campaigns
        ]

    # ---- dialling -------------------------------------------------------------------
    def lines_dialling(self) -> int:
        """Calls placed and not yet answered (the wallboard's "dialling" figure)."""
        return self._dialling()

    def _dialling(self) -> int:
        return sum(1 for c in self.calls.values() if c.answered_at is None and not c.closed)

    def new_calls_allowed(self, now: float, ready: int, dialling: int) -> int | None:
        """The most new calls the worst-case cap lets this round place (never more calls
        beyond the free agents than the abandon budget can absorb); None: no cap applies."""
        if not self.worst_case_cap:
            return None
        return max(0, ready + self.abandon_headroom(now) - dialling)

    def abandon_headroom(self, now: float) -> int:
        """How many calls may be in flight beyond the free agents (each could be abandoned)
        while the rate stays at or under the operating target even if every one of them is
        abandoned: ``s ≤ (target·live − abandoned) / (1 − target)``, over the rolling 24 h
        and the calendar day (campaign's home zone), from the runtime's own attempt records
        (invariant 4). A hard worst-case bound, whatever the pacer predicts; applied to pacers
        that do not budget abandons themselves (``worst_case_cap``: power, vicidial)."""
        local = datetime.fromtimestamp(now, tz=ZoneInfo(self.config.default_timezone))
        day_start = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        cached = self._budget_cache
        if cached is not None and cached[0] > now:
            return cached[1]
        target = self.config.operating_target
        h = self.config.amd_human_as_machine if self.config.amd else 0.0
        headroom = 10**9
        for since in (now - 86400.0, day_start):
            c = self.store.counts(self.campaign_id, since=since)
            # AMD's estimated false positives are abandons too, in both terms of the rate
            fp = fp_estimate(c.live - c.abandoned, c.abandoned, h)
            room = (target * (c.live + fp) - c.abandoned - fp) / (1 - target)
            headroom = min(headroom, math.floor(room))
        headroom = max(0, headroom)
        # valid until a live call of ours closes, or 5 s (other workers' calls)
        self._budget_cache = (now + 5.0, headroom)
        return headroom

    def governing_window(self, now: float) -> tuple[int, int, float]:
        """(live, abandoned) of the worse of the calendar day and the rolling 24 h, from
        the runtime's own records, and the seconds left in the calendar day."""
        local = datetime.fromtimestamp(now, tz=ZoneInfo(self.config.default_timezone))
        day_start = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        cached = self._window_cache
        if cached is not None and cached[0] > now:
            return cached[1]
        worst = (0, 0)
        worst_rate = -1.0
        for since in (now - 86400.0, day_start):
            c = self.store.counts(self.campaign_id, since=since)
            rate = c.abandoned / c.live if c.live else 0.0
            if rate > worst_rate:
                worst, worst_rate = (c.live, c.abandoned), rate
        result = (worst[0], worst[1], max(0.0, day_start + 86400.0 - now))
        self._window_cache = (now + 5.0, result)
        return result

    def quotas_full(self, now: float) -> bool:
        """Every quota cell of the campaign's script has reached its target (W1-C's counts);
        checked every 30 s. With ``stop_when_quotas_full`` the runtime then dials no more."""
        if not self.config.stop_when_quotas_full or self.campaign.script_version_id is None:
            return False
        if now < self._quotas_checked_until:
            return self._quotas_full
        from sqlalchemy import select

        from gatehouse.adapters.storage.tables.scripts import QuotaCount
        from gatehouse.services.scripts import require_runnable_version

        with self.store.session_factory() as session:
            script = require_runnable_version(session, self.campaign.script_version_id)
            counts = {
                (r.quota_id, r.cell_key): r.completes
                for r in session.scalars(
                    select(QuotaCount).where(QuotaCount.campaign_id == self.campaign_id)
                )
            }
        cells = [(q.id, c.key(q.variables), c.target) for q in script.quotas for c in q.cells]
        self._quotas_full = bool(cells) and all(
            counts.get((qid, key), 0) >= target for qid, key, target in cells
        )
        self._quotas_checked_until = now + 30.0
        if self._quotas_full:
            log.warning("quotas_full", campaign=self.campaign_id)
        return self._quotas_full

    async def _dial_round(self, now: float) -> None:
        if self.quotas_full(now):
            return
        if isinstance(self.pacer, PreviewPacer):
            await self._preview_round(now)
            return
        ready = len(self._ready_agents())
        dialling = self._dialling()
        want = self.pacer.lines_to_dial(ready_agents=ready, dialling=dialling, config=self.config)
        reserved = isinstance(self.pacer, ProgressivePacer)
        allowed = self.new_calls_allowed(now, ready, dialling)
        if allowed is not None:
            want = min(want, allowed)
        while want > 0:
            state = self._next_contact(now)
            if state is None:
                break
            if await self._dial(state, now, agent_reserved=reserved):
                want -= 1

    async def _preview_round(self, now: float) -> None:
        """Reserve each free agent for the next contact; dial each preview that is due.
        A reserved agent who paused or left in the meantime gives the contact back."""
        for slot in list(self.agents.values()):
            if slot.preview is None:
                continue
            held, dial_at = slot.preview
            if slot.machine.state != AgentState.RESERVED or slot.attempt_id is not None:
                slot.preview = None
                self.hopper.appendleft(held)  # still leased to this worker: dial it later
            elif now >= dial_at:
                slot.preview = None
                if not await self._dial(held, now, agent_reserved=True, reserved_for=slot):
                    self._move(slot, AgentState.READY)
        preview_s = self.config.preview_s
        for slot in self._ready_agents():
            state = self._next_contact(now)
            if state is None:
                break
            slot.preview = (state, now + preview_s)
            # the desk shows ``slot.preview``'s approved display fields while it lasts
            self._move(slot, AgentState.RESERVED, reason="preview")

    def _next_contact(self, now: float) -> DialState | None:
        if not self.hopper and now >= self._hopper_empty_until:
            self._fill_hopper(now)
        while self.hopper:
            state = self.hopper.popleft()
            verdict = check(
                state, self.config, now, agent_reserved=False, agent_id=self._taker(state)
            )
            if verdict.ok:
                return state
            not_before = verdict.not_before
            if state.callback_agent is not None and not_before is not None:
                # a personal callback whose agent is busy: look again in a minute
                not_before = min(not_before, now + 60.0)
            self.store.defer(self.campaign_id, [(state.contact_ref, not_before)])
        return None

    def _taker(self, state: DialState) -> str | None:
        """Who would take this call: for a personal callback, its agent if ready here."""
        if state.callback_agent is None:
            return None
        slot = self.agents.get(state.callback_agent)
        if slot is not None and slot.machine.state == AgentState.READY:
            return state.callback_agent
        return ""  # nobody who may take it yet

    def _fill_hopper(self, now: float) -> None:
        size = self.config.hopper_size
        leased = self.store.lease_due_contacts(
            self.campaign_id, self.worker_id, now, size, CONTACT_LEASE_S
        )
        deferrals: list[tuple[str, float | None]] = []
        for state in leased:
            verdict = check(state, self.config, now)
            if verdict.ok:
                self.hopper.append(state)
            else:
                deferrals.append((state.contact_ref, verdict.not_before))
        self.store.defer(self.campaign_id, deferrals)
        if not self.hopper:
            # nothing due: do not hammer the database every tick
            self._hopper_empty_until = now + 30.0

    async def _dial(
        self,
        state: DialState,
        now: float,
        *,
        agent_reserved: bool,
        reserved_for: AgentSlot | None = None,
    ) -> bool:
        attempt_id = uuid.uuid4().hex
        state_open = opened(state)
        ok = self.store.open_attempt(
            attempt_id=attempt_id,
            campaign_id=self.campaign_id,
            contact_ref=state.contact_ref,
            worker_id=self.worker_id,
            now=now,
            agent_reserved=agent_reserved,
            opened_state=state_open,
            max_attempts=self.config.max_attempts,
        )
        if not ok:
            return False
        ctx = CallCtx(attempt_id, state.contact_ref, now, state_open, agent_reserved)
        if reserved_for is not None:
            ctx.reserved_for = reserved_for.machine.agent_id
            reserved_for.attempt_id = attempt_id
        self.calls[attempt_id] = ctx
        request = DialRequest(
            attempt_id=attempt_id,
            campaign_id=self.campaign_id,
            contact_ref=state.contact_ref,
            caller_id=self.config.caller_id,
            ring_timeout_s=self.config.ring_timeout_s,
            amd=self.config.amd,
        )
        try:
            call_id = await self.engine.place_call(request)
        except Exception as exc:  # the network refused: a network failure, not a crash
            log.warning("place_failed", attempt=attempt_id, error=repr(exc))
            self._close(ctx, CallOutcome.NETWORK_FAILURE)
            return True
        ctx.call_id = call_id
        self.by_call[call_id] = attempt_id
        self.store.mark_placed(attempt_id, call_id, self.clock.now())
        self.stats.placed += 1
        return True

    # ---- events ---------------------------------------------------------------------
    def _on_event(self, event: CallEvent) -> None:
        if event.attempt_id in self.calls:
            self._events.put_nowait(event)
        elif event.attempt_id.startswith("agent:") and event.kind in LEG_ENDED:
            # an agent's phone leg ended (hung up, or the engine lost it): the next call
            # opens a new one instead of bridging to a leg that is gone
            slot = self.agents.get(event.attempt_id.removeprefix("agent:"))
            if slot is not None and slot.leg_id == event.call_id:
                slot.leg_id = None

    async def _consume(self) -> None:
        while True:
            event = await self._events.get()
            try:
                await self._handle(event)
            except Exception as exc:  # one bad event must not stop the worker
                log.error("event_failed", kind=event.kind.value, error=repr(exc))

    async def _handle(self, ev: CallEvent) -> None:
        ctx = self.calls.get(ev.attempt_id)
        if ctx is None:
            return
        if ctx.call_id is None:
            ctx.call_id = ev.call_id
        kind = ev.kind
        if kind == CallEventKind.RINGING:
            return
        if kind == CallEventKind.ANSWERED:
            await self._answered(ctx, ev)
        elif kind == CallEventKind.BUSY:
            self._close(ctx, CallOutcome.BUSY)
        elif kind == CallEventKind.NO_ANSWER:
            ring = ev.at - ctx.opened_at
            self.stats.min_unanswered_ring_s = min(self.stats.min_unanswered_ring_s, ring)
            self._close(ctx, CallOutcome.NO_ANSWER, ring_s=ring)
        elif kind == CallEventKind.FAILED:
            if ctx.agent_id is not None:
                # the line died under a conversation: the agent still finishes the record
                # and gives the outcome, as if the called person had hung up
                ctx.remote_gone = True
            else:
                self._close(ctx, CallOutcome.NETWORK_FAILURE)
        elif kind == CallEventKind.PROMPT_FINISHED:
            if ctx.abandoned and ctx.call_id:
                await self.engine.hangup(ctx.call_id)
        elif kind == CallEventKind.HUNG_UP:
            ctx.remote_gone = True
            if ctx.agent_id is None and not ctx.closed:
                # a machine greeting ended or a live person gave up before routing
                self._close(ctx, CallOutcome.MACHINE if ctx.answered_at else CallOutcome.NO_ANSWER)
            if ctx.closed:
                self._forget(ctx)

    async def _start_recording(self, ctx: CallCtx) -> None:
        """Record from the answer (invariant 3): the agent's conversation and, for an abandoned
        call, the information message it heard. The recording id is the attempt id, so the
        recording, the attempt and the interview share one key. Campaign calls are never
        legally privileged; a failure is logged loudly and counted, the call goes on."""
        assert ctx.call_id is not None
        try:
            await self.engine.start_recording(ctx.call_id, ctx.attempt_id)
        except Exception as exc:
            self.stats.recording_failures += 1
            log.error("recording_failed", attempt=ctx.attempt_id, error=repr(exc))

    def _reserved_slot(self, ctx: CallCtx) -> AgentSlot | None:
        """The agent a preview call was placed for, if still reserved for it."""
        if ctx.reserved_for is None:
            return None
        slot = self.agents.get(ctx.reserved_for)
        if (
            slot is not None
            and slot.machine.state == AgentState.RESERVED
            and slot.attempt_id == ctx.attempt_id
        ):
            return slot
        return None

    def _release_reserved(self, ctx: CallCtx) -> None:
        """A preview call that never reached its agent (busy, no answer, machine, failure):
        the agent is free again."""
        slot = self._reserved_slot(ctx)
        if slot is not None and ctx.agent_id is None:
            slot.attempt_id = None
            self._move(slot, AgentState.READY)

    async def _answered(self, ctx: CallCtx, ev: CallEvent) -> None:
        ctx.answered_at = ev.at
        self.stats.answered += 1
        assert ctx.call_id is not None
        if ev.answered_by == AnsweredBy.MACHINE:
            self.store.mark_answered(ctx.attempt_id, at=ev.at, answered_by="machine")
            self._close(ctx, CallOutcome.MACHINE)
            await self.engine.hangup(ctx.call_id)
            return
        await self._start_recording(ctx)
        held = self._reserved_slot(ctx)
        ready = [held] if held is not None else self._ready_agents()
        if ready:
            booked = [s for s in ready if s.machine.agent_id == ctx.state.callback_agent]
            # a personal callback goes to the agent who booked it; else the longest idle
            slot = booked[0] if booked else min(ready, key=lambda s: s.machine.since)
            ctx.agent_id = slot.machine.agent_id
            slot.attempt_id = ctx.attempt_id
            if slot.machine.state != AgentState.RESERVED:
                self._move(slot, AgentState.RESERVED)
            if slot.leg_id is None:
                slot.leg_id = await self.engine.open_agent_leg(slot.machine.agent_id)
            await self.engine.bridge(ctx.call_id, slot.leg_id)
            self._move(slot, AgentState.ON_CALL)
            now = self.clock.now()
            self.store.mark_answered(
                ctx.attempt_id,
                at=ev.at,
                answered_by=(ev.answered_by or AnsweredBy.UNKNOWN).value,
                agent_id=slot.machine.agent_id,
                connected_at=now,
            )
            self.stats.connected += 1
            if isinstance(self.pacer, DomainPacer):
                self.pacer.connected(ctx, now)
            if self.handler is not None:
                self.handler.connected(self, slot.machine.agent_id, ctx)
            return
        # nobody free: the information message, at once (Ofcom: within 2 s of the answer)
        await self.engine.play_prompt(ctx.call_id, self.config.information_prompt)
        now = self.clock.now()
        latency = now - ev.at
        self.stats.max_message_latency_s = max(self.stats.max_message_latency_s, latency)
        ctx.abandoned = True
        self.stats.abandoned += 1
        self.store.mark_answered(
            ctx.attempt_id,
            at=ev.at,
            answered_by=(ev.answered_by or AnsweredBy.UNKNOWN).value,
            message_at=now,
        )
        self._close(ctx, CallOutcome.ABANDONED)

    def _close(
        self,
        ctx: CallCtx,
        outcome: CallOutcome,
        *,
        ring_s: float | None = None,
        callback: tuple[float, str | None, str] | None = None,
    ) -> bool:
        if ctx.closed:
            return False
        now = self.clock.now()
        after = after_outcome(
            ctx.state,
            outcome,
            now,
            callback_at=callback[0] if callback else None,
            callback_agent=callback[1] if callback else None,
        )
        next_check = next_check_at(after, self.config, now)
        ok = self.store.close_attempt(
            ctx.attempt_id,
            outcome,
            at=now,
            after=after,
            max_attempts=self.config.max_attempts,
            next_check_at=next_check,
            ring_s=ring_s,
            callback=callback,
        )
        ctx.closed = True
        self._release_reserved(ctx)
        self.stats.outcomes[outcome.value] = self.stats.outcomes.get(outcome.value, 0) + 1
        if outcome in LIVE_OUTCOMES:
            self._budget_cache = None  # the abandon rate moved: recount before the next round
            self._window_cache = None
        if isinstance(self.pacer, DomainPacer):
            self.pacer.observe(ctx, outcome, now)
        # an abandoned call stays known until the message ends and we hang up
        if (ctx.agent_id is None and not ctx.abandoned) or ctx.remote_gone:
            self._forget(ctx)
        return ok

    def _forget(self, ctx: CallCtx) -> None:
        if ctx.agent_id is not None and self.calls.get(ctx.attempt_id) is ctx:
            slot = self.agents.get(ctx.agent_id)
            if slot is not None and slot.attempt_id == ctx.attempt_id:
                return  # the agent still holds it (disposition pending)
        self.calls.pop(ctx.attempt_id, None)
        if ctx.call_id is not None:
            self.by_call.pop(ctx.call_id, None)

    # ---- agent actions on the call --------------------------------------------------
    def current_call(self, agent_id: str) -> CallCtx | None:
        slot = self.agent(agent_id)
        return self.calls.get(slot.attempt_id) if slot.attempt_id else None

    def callback_slots(self, agent_id: str) -> list[float]:
        ctx = self.current_call(agent_id)
        if ctx is None:
            return []
        return callback_slots(self.config, ctx.state.tz, self.clock.now())

    async def finish_call(
        self,
        agent_id: str,
        outcome: CallOutcome,
        *,
        callback_at: float | None = None,
        personal_callback: bool = True,
    ) -> None:
        """The agent's disposition: close the attempt, end the call, go to wrap-up."""
        slot = self.agent(agent_id)
        ctx = self.current_call(agent_id)
        if ctx is None:
            raise Conflict("there is no call to finish")
        callback = None
        if outcome == CallOutcome.CALLBACK:
            slots = callback_slots(self.config, ctx.state.tz, self.clock.now(), limit=500)
            if callback_at is None or callback_at not in slots:
                raise ValidationFailed("pick one of the offered callback times")
            callback = (callback_at, agent_id if personal_callback else None, agent_id)
        self._close(ctx, outcome, callback=callback)
        if ctx.call_id is not None and not ctx.remote_gone:
            await self.engine.hangup(ctx.call_id)
        slot.attempt_id = None
        self.calls.pop(ctx.attempt_id, None)
        if ctx.call_id:
            self.by_call.pop(ctx.call_id, None)
        self._move(slot, AgentState.WRAP_UP, wrap_s=self.config.wrap_up_s)
        if not slot.bot:
            slot.wrap_task = asyncio.ensure_future(self._end_wrap(slot))

    def finish_recovered(self, agent_id: str, outcome: CallOutcome) -> None:
        """The outcome of the call a restart cut off, from the agent who had it (the
        attempt was reconciled to ``outcome_unknown``; this replaces that, once)."""
        slot = self.agent(agent_id)
        if slot.recovered is None:
            raise Conflict("there is no interrupted call to finish")
        if outcome not in LATE_OUTCOMES:
            raise ValidationFailed("an interrupted call takes an interview outcome, not a callback")
        attempt_id, _contact = slot.recovered
        ok = self.store.late_outcome(
            attempt_id, outcome, at=self.clock.now(), agent_id=agent_id, config=self.config
        )
        slot.recovered = None
        self._changed(slot)
        if not ok:
            raise Conflict("that call's outcome can no longer be changed")
        self.stats.outcomes[outcome.value] = self.stats.outcomes.get(outcome.value, 0) + 1

    async def _end_wrap(self, slot: AgentSlot) -> None:
        """A timed wrap-up: back to ready when it runs out, unless the agent moved on."""
        await self.clock.sleep(self.config.wrap_up_s)
        if slot.machine.state == AgentState.WRAP_UP:
            self._move(slot, AgentState.READY, reason="wrap-up time over")
        slot.wrap_task = None
