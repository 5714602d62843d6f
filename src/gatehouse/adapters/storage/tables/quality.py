"""Quality and clearance tables (migration 0006): call-quality scores against a rubric (C6)
and agents' vetting clearances (C9).

``quality_scores`` names the call by the dialler's ``attempt_id`` (no PII: the attempt row
holds only the vault's opaque contact ref). ``agent_clearances`` holds one current record per
agent user; its history is the audit log (every change is audited in the same transaction).
Times are UTC epoch seconds like the dialler's; ``cleared_until`` is a calendar date, the
last day the clearance is valid.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.adapters.storage.tables.base import Base


class QualityScoreRow(Base):
    __tablename__ = "quality_scores"
    __table_args__ = (
        UniqueConstraint("attempt_id", "scorer_id", name="uq_quality_scores_attempt_scorer"),
        Index("ix_quality_scores_agent", "agent_id", "scored_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    attempt_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(String(64))
    scorer_id: Mapped[str] = mapped_column(String(64))
    rubric_id: Mapped[str] = mapped_column(String(64))
    rubric_version: Mapped[int] = mapped_column(Integer)
    scores_json: Mapped[str] = mapped_column(Text)  # {criterion id: score}
    total: Mapped[float] = mapped_column(Float)  # percent
    passed: Mapped[bool] = mapped_column(Boolean)
    failed_critical: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of ids
    comment: Mapped[str] = mapped_column(Text, default="")
    scored_at: Mapped[float] = mapped_column(Float)


class AgentClearanceRow(Base):
    __tablename__ = "agent_clearances"

    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # cleared | suspended
    cleared_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    campaigns: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of campaign ids
    note: Mapped[str] = mapped_column(Text, default="")
    vetted_by: Mapped[str] = mapped_column(String(64))
    vetted_at: Mapped[float] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer, default=1)
