"""Recordings catalogue (W1-F, migration 0004): one row per encrypted recording file.

The audio itself lives in the ``.ghrec`` file (``adapters/crypto/recording.py``); a row says
whose it is (tenant, campaign, attempt or call), what kind of call it was, where the file is
and what it should hash to. There is deliberately no "privileged" column: a legally
privileged in-cell call is never recorded, so it has no file and no row to open.
Times are clock seconds (float, UTC epoch), like the dialler's.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.adapters.storage.tables.base import Base

KINDS = ("dialler", "in-cell")


class RecordingRow(Base):
    __tablename__ = "recordings"
    __table_args__ = (
        CheckConstraint("kind IN ('dialler', 'in-cell')", name="kind"),
        Index("ix_recordings_tenant_started", "tenant", "started_at"),
        Index("ix_recordings_campaign", "campaign_id"),
        Index("ix_recordings_attempt", "attempt_id"),
    )

    recording_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))  # the organisation whose key wraps it
    campaign_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempt_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # dialler | in-cell
    path: Mapped[str] = mapped_column(Text)
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    size_bytes: Mapped[int] = mapped_column("bytes", BigInteger)  # size of the encrypted file
    sha256: Mapped[str] = mapped_column(String(64))  # of the encrypted file, hex
    created_at: Mapped[float] = mapped_column(Float)
