"""Dialler tables (W1-D, migration 0005): campaign configuration, per-contact dial state,
attempts, agents and their state log, callbacks, and the worker registry.

No PII: contacts appear only as the vault's opaque ``contact_ref`` and a time-zone hint.
Times are clock seconds (float, UTC epoch) so the same rows serve real and virtual time.
``dialler_campaigns.campaign_id`` is the vault's campaign id (or slug) as text; there is
deliberately no foreign key so the dialler can run on a campaign the vault has not listed
yet (the CLI checks existence where it can).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.adapters.storage.tables.base import Base


class DiallerCampaign(Base):
    __tablename__ = "dialler_campaigns"

    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    config_json: Mapped[str] = mapped_column(Text)
    script_version_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: set by stop-now; a worker that sees it hangs up every line it has ringing
    stop_now_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float, default=0.0)
    version: Mapped[int] = mapped_column(Integer, default=1)


class DialContact(Base):
    """One contact's dial state in one campaign (mirrors ``domain.dialler.DialState``)."""

    __tablename__ = "dialler_contacts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_ref", name="uq_dialler_contacts_ref"),
        Index("ix_dialler_contacts_due", "campaign_id", "done", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    contact_ref: Mapped[str] = mapped_column(String(64))
    tz: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_attempt_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_abandon_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_machine_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    callback_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    callback_agent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    in_progress: Mapped[bool] = mapped_column(Boolean, default=False)
    #: final or suppressed or attempts used without a callback: never selected again
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    #: earliest time worth re-checking eligibility (the hopper's index)
    next_check_at: Mapped[float] = mapped_column(Float, default=0.0)
    lease_worker: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[float | None] = mapped_column(Float, nullable=True)


class DialAttempt(Base):
    """One dial. Committed (outcome NULL) before the engine is asked to place the call;
    the outcome is written in the transaction that closes it, together with the contact's
    next dial state."""

    __tablename__ = "dialler_attempts"
    __table_args__ = (
        Index("ix_dialler_attempts_open", "campaign_id", "outcome"),
        Index("ix_dialler_attempts_contact", "campaign_id", "contact_ref"),
        Index("ix_dialler_attempts_opened", "campaign_id", "opened_at"),
    )

    attempt_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # idempotency key
    campaign_id: Mapped[str] = mapped_column(String(64))
    contact_ref: Mapped[str] = mapped_column(String(64))
    worker_id: Mapped[str] = mapped_column(String(64))
    attempt_no: Mapped[int] = mapped_column(Integer)
    agent_reserved: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[float] = mapped_column(Float)
    placed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    answered_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    connected_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    message_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ring_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outcome_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    engine_call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    interview_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reconciled: Mapped[bool] = mapped_column(Boolean, default=False)


class DiallerAgent(Base):
    """An agent's live state (the web reads it; on PostgreSQL workers share it)."""

    __tablename__ = "dialler_agents"

    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    campaigns: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of campaign ids
    state: Mapped[str] = mapped_column(String(16), default="logged_out")
    since: Mapped[float] = mapped_column(Float, default=0.0)
    pause_reason: Mapped[str] = mapped_column(String(100), default="")
    attempt_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bot: Mapped[bool] = mapped_column(Boolean, default=False)
    durations_json: Mapped[str] = mapped_column(Text, default="{}")


class AgentStateLog(Base):
    __tablename__ = "dialler_agent_states"
    __table_args__ = (Index("ix_dialler_agent_states_agent", "agent_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(100), default="")
    attempt_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Callback(Base):
    __tablename__ = "dialler_callbacks"
    __table_args__ = (Index("ix_dialler_callbacks_due", "campaign_id", "done", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    contact_ref: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[float] = mapped_column(Float)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: campaign-wide
    booked_by: Mapped[str] = mapped_column(String(64))
    booked_at: Mapped[float] = mapped_column(Float)
    attempt_id: Mapped[str] = mapped_column(String(64))
    done: Mapped[bool] = mapped_column(Boolean, default=False)


class DiallerWorker(Base):
    """Worker registry: who is dialling which campaign, with a heartbeat lease."""

    __tablename__ = "dialler_workers"

    worker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)
    lease_until: Mapped[float] = mapped_column(Float)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
