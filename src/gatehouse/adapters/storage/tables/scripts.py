"""Script tables (W1-C, migration 0003): scripts, immutable versions, interviews, quota counts.

A version's ``source`` and ``content_hash`` can never change once written (a trigger refuses
it); only its lifecycle status moves, and every move is audited. Interview answers live in
``state_json`` (the runner's state), saved at every step.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.adapters.storage.tables.base import Base


class ScriptRecord(Base):
    __tablename__ = "scripts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)  # the YAML's ``id``
    title: Mapped[str] = mapped_column(String(200))
    tenant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)


class ScriptVersionRecord(Base):
    __tablename__ = "script_versions"
    __table_args__ = (UniqueConstraint("script_id", "number", name="uq_script_versions_number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    script_id: Mapped[str] = mapped_column(ForeignKey("scripts.id"))
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    # draft | submitted | approved | live | rejected | retired
    status: Mapped[str] = mapped_column(String(16))
    lint_json: Mapped[str] = mapped_column(Text, default="[]")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    submitted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    submitted_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    diff_basis_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


class InterviewRecord(Base):
    __tablename__ = "interviews"
    __table_args__ = (
        Index("ix_interviews_campaign", "campaign_id", "outcome"),
        Index("ix_interviews_attempt", "attempt_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("script_versions.id"))
    campaign_id: Mapped[str] = mapped_column(String(64))
    contact_ref: Mapped[str] = mapped_column(String(64))
    respondent_id: Mapped[str] = mapped_column(String(32))  # pseudonymous, for exports
    attempt_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seed: Mapped[int] = mapped_column(Integer)
    state_json: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    training: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class QuotaCount(Base):
    __tablename__ = "quota_counts"

    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    quota_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    cell_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    completes: Mapped[int] = mapped_column(Integer, default=0)


class ScriptEvent(Base):
    """One lifecycle transition (draft, submit, approve, reject, live): append-only."""

    __tablename__ = "script_events"
    __table_args__ = (Index("ix_script_events_version", "version_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    script_id: Mapped[str] = mapped_column(String(36))
    version_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float)
    details_json: Mapped[str] = mapped_column(Text)
