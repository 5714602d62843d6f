"""quality scores and agent clearances (C6 quality scoring, C9 vetting)

Call-quality scores against a versioned rubric, keyed by the dialler attempt, and one
current clearance record per agent (status, valid-until date, campaigns). See
``tables/quality.py`` for the meaning of each column.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("quality_scores", "agent_clearances")


def upgrade() -> None:
    op.create_table(
        "quality_scores",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True, nullable=False),
        sa.Column("attempt_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("scorer_id", sa.String(64), nullable=False),
        sa.Column("rubric_id", sa.String(64), nullable=False),
        sa.Column("rubric_version", sa.Integer(), nullable=False),
        sa.Column("scores_json", sa.Text(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("failed_critical", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("comment", sa.Text(), nullable=False, server_default=""),
        sa.Column("scored_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("attempt_id", "scorer_id", name="uq_quality_scores_attempt_scorer"),
    )
    op.create_index("ix_quality_scores_agent", "quality_scores", ["agent_id", "scored_at"])
    op.create_table(
        "agent_clearances",
        sa.Column("agent_id", sa.String(64), primary_key=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cleared_until", sa.Date(), nullable=True),
        sa.Column("campaigns", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("vetted_by", sa.String(64), nullable=False),
        sa.Column("vetted_at", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    )


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
