"""recordings catalogue (W1-F)

One row per encrypted recording file: tenant, campaign / attempt / call, kind (dialler or
in-cell), path, times, size and the file's SHA-256. See ``tables/recordings.py``.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("recording_id", sa.String(64), primary_key=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("attempt_id", sa.String(64), nullable=True),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.CheckConstraint("kind IN ('dialler', 'in-cell')", name="ck_recordings_kind"),
    )
    op.create_index("ix_recordings_tenant_started", "recordings", ["tenant", "started_at"])
    op.create_index("ix_recordings_campaign", "recordings", ["campaign_id"])
    op.create_index("ix_recordings_attempt", "recordings", ["attempt_id"])


def downgrade() -> None:
    op.drop_index("ix_recordings_attempt", table_name="recordings")
    op.drop_index("ix_recordings_campaign", table_name="recordings")
    op.drop_index("ix_recordings_tenant_started", table_name="recordings")
    op.drop_table("recordings")
