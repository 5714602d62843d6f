"""Dialler repository: every method is one transaction (one unit of work).

Crash-safety contract (invariant 5):
- ``open_attempt`` commits the attempt row (outcome NULL) and marks the contact in
  progress *before* the runtime asks the engine to place the call;
- ``close_attempt`` writes the outcome and the contact's next dial state in one
  transaction, and only if the attempt is still open (an outcome is never overwritten);
- ``reconcile`` closes attempts whose worker is gone as ``outcome_unknown``.

Worker liveness is wall-clock time (``time.time()``), whatever the runtime's clock: a
worker accelerated 100× must not look dead after a 0.3 s stall. Attempt and contact times
are clock times.

Several workers (PostgreSQL): ``lease_due_contacts`` takes rows with
``FOR UPDATE SKIP LOCKED`` and stamps a lease; ``open_attempt`` re-checks that lease under
a row lock, so two workers can never open attempts for one contact at the same time.
SQLite has one writer; ``register_worker`` refuses a second live worker there.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, case, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.tables.dialler import (
    AgentStateLog,
    Callback,
    DialAttempt,
    DialContact,
    DiallerAgent,
    DiallerCampaign,
    DiallerWorker,
)
from gatehouse.domain.dialler.agents import AgentMachine, AgentState, StateChange
from gatehouse.domain.dialler.config import (
    LIVE_OUTCOMES,
    CallOutcome,
    CampaignConfig,
    CampaignStatus,
)
from gatehouse.domain.dialler.eligibility import DialState, after_outcome, next_check_at
from gatehouse.domain.errors import Conflict, NotFound

NEVER = 1e18  # next_check_at for contacts that are done


class WorkerRefused(Conflict):
    error_id = "dialler-worker-refused"


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    campaign_id: str
    name: str
    status: CampaignStatus
    config: CampaignConfig
    stop_now_at: float | None
    script_version_id: str | None
    version: int


@dataclass(frozen=True, slots=True)
class OpenAttempt:
    attempt_id: str
    campaign_id: str
    contact_ref: str
    worker_id: str
    opened_at: float
    placed_at: float | None
    engine_call_id: str | None
    agent_id: str | None


@dataclass(frozen=True, slots=True)
class CampaignCounts:
    attempts: int
    connects: int  # live calls put to an agent
    abandoned: int
    machine: int
    unknown: int
    open_attempts: int
    by_outcome: dict[str, int]
    #: open attempts already put to an agent (live calls in progress; in no outcome yet)
    connected_open: int = 0

    @property
    def live(self) -> int:
        return self.connects + self.abandoned

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0


def _state(row: DialContact) -> DialState:
    return DialState(
        contact_ref=row.contact_ref,
        tz=row.tz,
        priority=row.priority,
        attempts=row.attempts,
        last_outcome=CallOutcome(row.last_outcome) if row.last_outcome else None,
        last_attempt_at=row.last_attempt_at,
        last_abandon_at=row.last_abandon_at,
        last_machine_at=row.last_machine_at,
        callback_at=row.callback_at,
        callback_agent=row.callback_agent,
        final=row.final,
        suppressed=row.suppressed,
        in_progress=row.in_progress,
    )


def _contact_of(session: Session, att: DialAttempt) -> DialContact | None:
    """The attempt's contact row, locked for the update that closes the attempt."""
    return session.scalar(
        select(DialContact)
        .where(
            DialContact.campaign_id == att.campaign_id,
            DialContact.contact_ref == att.contact_ref,
        )
        .with_for_update()
    )


def _write_state(row: DialContact, s: DialState, *, max_attempts: int) -> None:
    row.attempts = s.attempts
    row.last_outcome = s.last_outcome.value if s.last_outcome else None
    row.last_attempt_at = s.last_attempt_at
    row.last_abandon_at = s.last_abandon_at
    row.last_machine_at = s.last_machine_at
    row.callback_at = s.callback_at
    row.callback_agent = s.callback_agent
    row.final = s.final
    row.suppressed = s.suppressed
    row.in_progress = s.in_progress
    row.done = s.final or s.suppressed or (s.attempts >= max_attempts and s.callback_at is None)
    if row.done:
        row.next_check_at = NEVER


class DiallerStore:
    """The dialler's storage, over a session factory."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        bind = factory.kw.get("bind")
        self.is_sqlite = isinstance(bind, Engine) and bind.dialect.name == "sqlite"

    def _tx(self) -> Any:
        return _Tx(self._factory)

    @property
    def session_factory(self) -> sessionmaker[Session]:
        """For services that share the dialler's database (interview persistence)."""
        return self._factory

    # ---- campaigns -------------------------------------------------------------------
    def create_campaign(
        self,
        campaign_id: str,
        name: str,
        config: CampaignConfig,
        *,
        at: float,
        script_version_id: str | None = None,
        audit: Any = None,
    ) -> None:
        """Create a draft; ``audit(session)`` runs in the same transaction."""
        with self._tx() as s:
            if s.get(DiallerCampaign, campaign_id) is not None:
                raise Conflict(f"campaign {campaign_id!r} already has a dialler configuration")
            s.add(
                DiallerCampaign(
                    campaign_id=campaign_id,
                    name=name,
                    status=CampaignStatus.DRAFT.value,
                    config_json=config.model_dump_json(),
                    script_version_id=script_version_id,
                    updated_at=at,
                    version=1,
                )
            )
            if audit is not None:
                audit(s)

    def campaign(self, campaign_id: str) -> CampaignRecord:
        with self._tx() as s:
            row = s.get(DiallerCampaign, campaign_id)
            if row is None:
                raise NotFound(f"no dialler campaign {campaign_id!r}")
            return _campaign(row)

    def campaign_version(self, campaign_id: str) -> int:
        """The campaign row's version (bumped on every change): a cheap per-tick check."""
        with self._factory() as s:
            v = s.execute(
                select(DiallerCampaign.version).where(DiallerCampaign.campaign_id == campaign_id)
            ).scalar()
            s.rollback()
        if v is None:
            raise NotFound(f"no dialler campaign {campaign_id!r}")
        return int(v)

    def campaigns(self) -> list[CampaignRecord]:
        with self._tx() as s:
            rows = s.scalars(select(DiallerCampaign).order_by(DiallerCampaign.campaign_id))
            return [_campaign(r) for r in rows]

    def save_campaign(
        self,
        campaign_id: str,
        *,
        at: float,
        status: CampaignStatus | None = None,
        config: CampaignConfig | None = None,
        stop_now: bool = False,
        script_version_id: str | None = None,
        audit: Any = None,
    ) -> CampaignRecord:
        """Change status and/or config; ``audit(session)`` runs in the same transaction."""
        with self._tx() as s:
            row = s.get(DiallerCampaign, campaign_id, with_for_update=True)
            if row is None:
                raise NotFound(f"no dialler campaign {campaign_id!r}")
            if status is not None:
                row.status = status.value
            if config is not None:
                row.config_json = config.model_dump_json()
            if script_version_id is not None:
                row.script_version_id = script_version_id
            if stop_now:
                row.stop_now_at = at
            elif status == CampaignStatus.RUNNING:
                row.stop_now_at = None
            row.updated_at = at
            row.version += 1
            if audit is not None:
                audit(s)
            return _campaign(row)

    # ---- contacts --------------------------------------------------------------------
    def add_contacts(
        self, campaign_id: str, contacts: Iterable[tuple[str, str, int]], *, batch: int = 1000
    ) -> int:
        """Add (contact_ref, tz, priority) rows not present yet; returns how many were new."""
        added = 0
        chunk: list[tuple[str, str, int]] = []

        def flush() -> int:
            if not chunk:
                return 0
            with self._tx() as s:
                refs = [c[0] for c in chunk]
                have = set(
                    s.scalars(
                        select(DialContact.contact_ref).where(
                            DialContact.campaign_id == campaign_id,
                            DialContact.contact_ref.in_(refs),
                        )
                    )
                )
                new = [
                    DialContact(
                        campaign_id=campaign_id, contact_ref=r, tz=tz, priority=p, next_check_at=0.0
                    )
                    for r, tz, p in chunk
                    if r not in have
                ]
                s.add_all(new)
                n = len(new)
            chunk.clear()
            return n

        for c in contacts:
            chunk.append(c)
            if len(chunk) >= batch:
                added += flush()
        added += flush()
        return added

    def suppress(self, campaign_id: str, contact_refs: Sequence[str]) -> int:
        with self._tx() as s:
            res = s.execute(
                update(DialContact)
                .where(
                    DialContact.campaign_id == campaign_id,
                    DialContact.contact_ref.in_(list(contact_refs)),
                )
                .values(suppressed=True, done=True, next_check_at=NEVER)
            )
            return int(getattr(res, "rowcount", 0) or 0)

    def lease_due_contacts(
        self, campaign_id: str, worker_id: str, now: float, limit: int, lease_s: float
    ) -> list[DialState]:
        """Lease up to ``limit`` contacts whose next check is due (callbacks and priority first)."""
        with self._tx() as s:
            q = (
                select(DialContact)
                .where(
                    DialContact.campaign_id == campaign_id,
                    DialContact.done.is_(False),
                    DialContact.in_progress.is_(False),
                    DialContact.next_check_at <= now,
                    or_(
                        DialContact.lease_worker.is_(None),
                        DialContact.lease_worker == worker_id,
                        DialContact.lease_until < now,
                    ),
                )
                .order_by(
                    DialContact.callback_at.is_(None),
                    DialContact.priority.desc(),
                    DialContact.next_check_at,
                    DialContact.id,
                )
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            rows = list(s.scalars(q))
            for r in rows:
                r.lease_worker = worker_id
                r.lease_until = now + lease_s
            return [_state(r) for r in rows]

    def defer(self, campaign_id: str, deferrals: Sequence[tuple[str, float | None]]) -> None:
        """Release leased contacts that are not eligible yet until ``not_before`` (None: done)."""
        if not deferrals:
            return
        with self._tx() as s:
            for ref, not_before in deferrals:
                s.execute(
                    update(DialContact)
                    .where(DialContact.campaign_id == campaign_id, DialContact.contact_ref == ref)
                    .values(
                        next_check_at=NEVER if not_before is None else not_before,
                        done=not_before is None,
                        lease_worker=None,
                        lease_until=None,
                    )
                )

    def release(self, campaign_id: str, worker_id: str, refs: Sequence[str]) -> None:
        if not refs:
            return
        with self._tx() as s:
            s.execute(
                update(DialContact)
                .where(
                    DialContact.campaign_id == campaign_id,
                    DialContact.contact_ref.in_(list(refs)),
                    DialContact.lease_worker == worker_id,
                )
                .values(lease_worker=None, lease_until=None)
            )

    def dial_state(self, campaign_id: str, contact_ref: str) -> DialState:
        with self._tx() as s:
            row = s.scalar(
                select(DialContact).where(
                    DialContact.campaign_id == campaign_id, DialContact.contact_ref == contact_ref
                )
            )
            if row is None:
                raise NotFound(f"no contact {contact_ref!r} in campaign {campaign_id!r}")
            return _state(row)

    # ---- attempts --------------------------------------------------------------------
    def open_attempt(
        self,
        *,
        attempt_id: str,
        campaign_id: str,
        contact_ref: str,
        worker_id: str,
        now: float,
        agent_reserved: bool,
        opened_state: DialState,
        max_attempts: int,
    ) -> bool:
        """Commit the attempt row before dialling. False if the contact is no longer ours."""
        with self._tx() as s:
            row = s.scalar(
                select(DialContact)
                .where(
                    DialContact.campaign_id == campaign_id, DialContact.contact_ref == contact_ref
                )
                .with_for_update()
            )
            if (
                row is None
                or row.in_progress
                or row.done
                or row.lease_worker != worker_id
                or (row.lease_until is not None and row.lease_until < now)
            ):
                return False
            if row.callback_at is not None and row.callback_at <= now:
                s.execute(
                    update(Callback)
                    .where(
                        Callback.campaign_id == campaign_id,
                        Callback.contact_ref == contact_ref,
                        Callback.done.is_(False),
                    )
                    .values(done=True)
                )
            _write_state(row, opened_state, max_attempts=max_attempts + 1)
            row.callback_at = None
            row.callback_agent = None
            s.add(
                DialAttempt(
                    attempt_id=attempt_id,
                    campaign_id=campaign_id,
                    contact_ref=contact_ref,
                    worker_id=worker_id,
                    attempt_no=opened_state.attempts,
                    agent_reserved=agent_reserved,
                    opened_at=now,
                )
            )
            return True

    def mark_placed(self, attempt_id: str, call_id: str, at: float) -> None:
        with self._tx() as s:
            s.execute(
                update(DialAttempt)
                .where(DialAttempt.attempt_id == attempt_id)
                .values(engine_call_id=call_id, placed_at=at)
            )

    def mark_answered(
        self,
        attempt_id: str,
        *,
        at: float,
        answered_by: str,
        agent_id: str | None = None,
        connected_at: float | None = None,
        message_at: float | None = None,
    ) -> None:
        with self._tx() as s:
            values: dict[str, Any] = {"answered_at": at, "answered_by": answered_by}
            if agent_id is not None:
                values["agent_id"] = agent_id
            if connected_at is not None:
                values["connected_at"] = connected_at
            if message_at is not None:
                values["message_at"] = message_at
            s.execute(
                update(DialAttempt).where(DialAttempt.attempt_id == attempt_id).values(**values)
            )

    def close_attempt(
        self,
        attempt_id: str,
        outcome: CallOutcome,
        *,
        at: float,
        after: DialState,
        max_attempts: int,
        next_check_at: float,
        ring_s: float | None = None,
        callback: tuple[float, str | None, str] | None = None,
        ended_at: float | None = None,
    ) -> bool:
        """Write the outcome and the contact's next state together. False if already closed."""
        with self._tx() as s:
            att = s.get(DialAttempt, attempt_id, with_for_update=True)
            if att is None or att.outcome is not None:
                return False
            att.outcome = outcome.value
            att.outcome_at = at
            att.ended_at = ended_at if ended_at is not None else at
            if ring_s is not None:
                att.ring_s = ring_s
            row = _contact_of(s, att)
            if row is not None:
                _write_state(row, after, max_attempts=max_attempts)
                if not row.done:
                    row.next_check_at = next_check_at
                row.lease_worker = None
                row.lease_until = None
            if callback is not None:
                due, agent, booked_by = callback
                s.add(
                    Callback(
                        campaign_id=att.campaign_id,
                        contact_ref=att.contact_ref,
                        due_at=due,
                        agent_id=agent,
                        booked_by=booked_by,
                        booked_at=at,
                        attempt_id=attempt_id,
                    )
                )
            return True

    def open_attempts(self, campaign_id: str) -> list[OpenAttempt]:
        with self._tx() as s:
            rows = s.scalars(
                select(DialAttempt).where(
                    DialAttempt.campaign_id == campaign_id, DialAttempt.outcome.is_(None)
                )
            )
            return [
                OpenAttempt(
                    r.attempt_id,
                    r.campaign_id,
                    r.contact_ref,
                    r.worker_id,
                    r.opened_at,
                    r.placed_at,
                    r.engine_call_id,
                    r.agent_id,
                )
                for r in rows
            ]

    def reconcile(
        self,
        campaign_id: str,
        now: float,
        config: CampaignConfig,
        *,
        also_dead: frozenset[str] = frozenset(),
    ) -> int:
        """Close every open attempt of a worker that is not alive as ``outcome_unknown``.

        The retry delay of ``outcome_unknown`` runs from the reconcile (after any dial the
        dead worker made), so a number that may have been dialled is not dialled again
        before that delay; the default delay is 72 h, as the call might have been abandoned.
        """
        closed = 0
        with self._tx() as s:
            alive = {
                w
                for w in s.scalars(
                    select(DiallerWorker.worker_id).where(
                        DiallerWorker.campaign_id == campaign_id,
                        DiallerWorker.stopped.is_(False),
                        DiallerWorker.lease_until >= time.time(),
                    )
                )
                if w not in also_dead
            }
            rows = list(
                s.scalars(
                    select(DialAttempt)
                    .where(DialAttempt.campaign_id == campaign_id, DialAttempt.outcome.is_(None))
                    .with_for_update(skip_locked=True)
                )
            )
            for att in rows:
                if att.worker_id in alive:
                    continue
                att.outcome = CallOutcome.UNKNOWN.value
                att.outcome_at = now
                att.reconciled = True
                row = _contact_of(s, att)
                if row is not None:
                    row.in_progress = False
                    row.last_outcome = CallOutcome.UNKNOWN.value
                    # from the reconcile, not the commit: the dial (if any) came between
                    row.last_attempt_at = now
                    row.lease_worker = None
                    row.lease_until = None
                    row.done = row.final or row.suppressed or row.attempts >= config.max_attempts
                    row.next_check_at = (
                        NEVER if row.done else now + config.retry_delay(CallOutcome.UNKNOWN)
                    )
                if att.agent_id:
                    agent = s.get(DiallerAgent, att.agent_id)
                    if agent is not None and agent.attempt_id == att.attempt_id:
                        agent.attempt_id = None
                closed += 1
        return closed

    # ---- workers ---------------------------------------------------------------------
    def register_worker(self, campaign_id: str, worker_id: str, now: float, lease_s: float) -> None:
        wall = time.time()
        with self._tx() as s:
            live = list(
                s.scalars(
                    select(DiallerWorker).where(
                        DiallerWorker.campaign_id == campaign_id,
                        DiallerWorker.stopped.is_(False),
                        DiallerWorker.lease_until >= wall,
                        DiallerWorker.worker_id != worker_id,
                    )
                )
            )
            if live and self.is_sqlite:
                w = live[0]
                raise WorkerRefused(
                    f"campaign {campaign_id!r} is already dialled by worker {w.worker_id} "
                    f"(pid {w.pid} on {w.host}); SQLite allows one dialler worker. Stop it, "
                    "or use PostgreSQL (GATEHOUSE_DATABASE_URL) to run several workers."
                )
            s.merge(
                DiallerWorker(
                    worker_id=worker_id,
                    campaign_id=campaign_id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    started_at=now,
                    heartbeat_at=wall,
                    lease_until=wall + lease_s,
                    stopped=False,
                )
            )

    def heartbeat(self, worker_id: str, now: float, lease_s: float) -> None:
        wall = time.time()
        with self._tx() as s:
            s.execute(
                update(DiallerWorker)
                .where(DiallerWorker.worker_id == worker_id)
                .values(heartbeat_at=wall, lease_until=wall + lease_s)
            )

    def stop_worker(self, worker_id: str) -> None:
        with self._tx() as s:
            s.execute(
                update(DiallerWorker)
                .where(DiallerWorker.worker_id == worker_id)
                .values(stopped=True)
            )

    def live_workers(self, campaign_id: str, now: float) -> list[str]:
        with self._tx() as s:
            return list(
                s.scalars(
                    select(DiallerWorker.worker_id).where(
                        DiallerWorker.campaign_id == campaign_id,
                        DiallerWorker.stopped.is_(False),
                        DiallerWorker.lease_until >= time.time(),
                    )
                )
            )

    # ---- agents ----------------------------------------------------------------------
    def ensure_agent(
        self, agent_id: str, *, name: str, campaigns: Sequence[str], bot: bool = False
    ) -> None:
        with self._tx() as s:
            row = s.get(DiallerAgent, agent_id)
            if row is None:
                s.add(
                    DiallerAgent(
                        agent_id=agent_id,
                        name=name,
                        campaigns=json.dumps(list(campaigns)),
                        bot=bot,
                    )
                )
            else:
                row.name = name
                row.campaigns = json.dumps(list(campaigns))
                row.bot = bot

    def load_agent(self, agent_id: str) -> tuple[AgentMachine, list[str], str | None] | None:
        with self._tx() as s:
            row = s.get(DiallerAgent, agent_id)
            if row is None:
                return None
            m = AgentMachine(
                agent_id,
                state=AgentState(row.state),
                since=row.since,
                pause_reason=row.pause_reason,
                durations={AgentState(k): v for k, v in json.loads(row.durations_json).items()},
            )
            return m, list(json.loads(row.campaigns)), row.attempt_id

    def agents(self, campaign_id: str | None = None) -> list[DiallerAgent]:
        with self._tx() as s:
            rows = list(s.scalars(select(DiallerAgent).order_by(DiallerAgent.agent_id)))
            for r in rows:
                s.expunge(r)
        if campaign_id is None:
            return rows
        return [r for r in rows if campaign_id in json.loads(r.campaigns)]

    def record_state(
        self,
        machine: AgentMachine,
        change: StateChange,
        *,
        worker_id: str | None,
        attempt_id: str | None,
    ) -> None:
        """Persist the agent's new state and append the state-change log row together.

        Core statements, not ORM objects: this runs on every agent transition (about four
        per call), and the ORM's flush machinery was most of the runtime's storage cost.
        """
        values = {
            "state": machine.state.value,
            "since": machine.since,
            "pause_reason": machine.pause_reason,
            "attempt_id": attempt_id,
            "worker_id": worker_id,
            "durations_json": json.dumps({k.value: v for k, v in machine.durations.items()}),
        }
        with self._tx() as s:
            res = s.execute(
                update(DiallerAgent)
                .where(DiallerAgent.agent_id == machine.agent_id)
                .values(**values)
            )
            if not getattr(res, "rowcount", 0):
                s.execute(
                    insert(DiallerAgent).values(
                        agent_id=machine.agent_id, name=machine.agent_id, **values
                    )
                )
            s.execute(
                insert(AgentStateLog).values(
                    agent_id=change.agent_id,
                    from_state=change.from_state.value,
                    to_state=change.to_state.value,
                    at=change.at,
                    reason=change.reason[:100],
                    attempt_id=attempt_id,
                )
            )

    def last_call_attempt(self, agent_id: str) -> DialAttempt | None:
        """The attempt of the agent's latest call (from the state log), detached."""
        with self._tx() as s:
            attempt_id = s.scalar(
                select(AgentStateLog.attempt_id)
                .where(AgentStateLog.agent_id == agent_id, AgentStateLog.attempt_id.is_not(None))
                .order_by(AgentStateLog.id.desc())
                .limit(1)
            )
            att = s.get(DialAttempt, attempt_id) if attempt_id else None
            if att is not None:
                s.expunge(att)
            return att

    def late_outcome(
        self,
        attempt_id: str,
        outcome: CallOutcome,
        *,
        at: float,
        agent_id: str,
        config: CampaignConfig,
    ) -> bool:
        """The agent's disposition for a call a restart cut off (reconciled to
        ``outcome_unknown``): the attempt gets it, and so does the contact's dial state while
        nothing newer has happened to the contact. Once only, and only by that agent."""
        with self._tx() as s:
            att = s.get(DialAttempt, attempt_id, with_for_update=True)
            if (
                att is None
                or att.outcome != CallOutcome.UNKNOWN.value
                or not att.reconciled
                or att.agent_id != agent_id
            ):
                return False
            att.outcome = outcome.value
            att.outcome_at = at
            row = _contact_of(s, att)
            untouched = (
                row is not None
                and not row.in_progress
                and row.last_outcome == CallOutcome.UNKNOWN.value
            )
            if row is not None and (untouched or outcome == CallOutcome.OPT_OUT):
                after = after_outcome(_state(row), outcome, at)
                _write_state(row, after, max_attempts=config.max_attempts)
                if not row.done:
                    row.next_check_at = next_check_at(after, config, at)
            return True

    def state_log(self, agent_id: str) -> list[AgentStateLog]:
        with self._tx() as s:
            rows = list(
                s.scalars(
                    select(AgentStateLog)
                    .where(AgentStateLog.agent_id == agent_id)
                    .order_by(AgentStateLog.id)
                )
            )
            for r in rows:
                s.expunge(r)
            return rows

    def time_in_states(self, agent_id: str, since: float, until: float) -> dict[str, float]:
        """Seconds the agent spent in each state within [since, until), from the state log
        (the work record's hours come from real sessions, not from what anyone typed)."""
        with self._tx() as s:
            before = s.scalar(
                select(AgentStateLog)
                .where(AgentStateLog.agent_id == agent_id, AgentStateLog.at < since)
                .order_by(AgentStateLog.at.desc(), AgentStateLog.id.desc())
                .limit(1)
            )
            rows = list(
                s.scalars(
                    select(AgentStateLog)
                    .where(
                        AgentStateLog.agent_id == agent_id,
                        AgentStateLog.at >= since,
                        AgentStateLog.at < until,
                    )
                    .order_by(AgentStateLog.at, AgentStateLog.id)
                )
            )
            state = before.to_state if before is not None else AgentState.LOGGED_OUT.value
            t = since
            out: dict[str, float] = {}
            for r in rows:
                out[state] = out.get(state, 0.0) + (r.at - t)
                state, t = r.to_state, r.at
            out[state] = out.get(state, 0.0) + (until - t)
            return {k: v for k, v in out.items() if v > 0}

    # ---- reporting -------------------------------------------------------------------
    def counts(self, campaign_id: str, since: float = 0.0) -> CampaignCounts:
        """The runtime's own records: attempts by outcome, opened at or after ``since``."""
        with self._tx() as s:
            # one grouped read (it is on the pacer's budget path): per outcome, how many,
            # and of the open ones how many are already on an agent
            on_agent = case((DialAttempt.connected_at.is_not(None), 1), else_=0)
            rows = s.execute(
                select(DialAttempt.outcome, func.count(), func.sum(on_agent))
                .where(DialAttempt.campaign_id == campaign_id, DialAttempt.opened_at >= since)
                .group_by(DialAttempt.outcome)
            ).all()
        by = {(o or "open"): int(n) for o, n, _ in rows}
        connected_open = sum(int(c or 0) for o, _, c in rows if o is None)
        live = {o.value for o in LIVE_OUTCOMES} - {CallOutcome.ABANDONED.value}
        return CampaignCounts(
            attempts=sum(by.values()),
            connects=sum(n for o, n in by.items() if o in live),
            abandoned=by.get(CallOutcome.ABANDONED.value, 0),
            machine=by.get(CallOutcome.MACHINE.value, 0),
            unknown=by.get(CallOutcome.UNKNOWN.value, 0),
            open_attempts=by.get("open", 0),
            by_outcome=by,
            connected_open=connected_open,
        )

    def attempts(self, campaign_id: str) -> list[DialAttempt]:
        with self._tx() as s:
            rows = list(
                s.scalars(
                    select(DialAttempt)
                    .where(DialAttempt.campaign_id == campaign_id)
                    .order_by(DialAttempt.opened_at, DialAttempt.attempt_id)
                )
            )
            for r in rows:
                s.expunge(r)
            return rows

    def hopper_depth(self, campaign_id: str, now: float) -> int:
        with self._tx() as s:
            n = s.scalar(
                select(func.count())
                .select_from(DialContact)
                .where(
                    and_(
                        DialContact.campaign_id == campaign_id,
                        DialContact.done.is_(False),
                        DialContact.in_progress.is_(False),
                        DialContact.next_check_at <= now,
                    )
                )
            )
            return int(n or 0)


def _campaign(row: DiallerCampaign) -> CampaignRecord:
    return CampaignRecord(
        campaign_id=row.campaign_id,
        name=row.name,
        status=CampaignStatus(row.status),
        config=CampaignConfig.model_validate_json(row.config_json),
        stop_now_at=row.stop_now_at,
        script_version_id=row.script_version_id,
        version=row.version,
    )


class _Tx:
    """``with`` block = one transaction; commit on success, roll back on error."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._session = factory()

    def __enter__(self) -> Session:
        self._session.begin()
        return self._session

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self._session.commit()
            else:
                self._session.rollback()
        finally:
            self._session.close()
