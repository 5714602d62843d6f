"""campaign configuration, attempts, agent sessions, callbacks (W1-D)

Dial state per contact (no PII: the vault's opaque contact_ref and a time-zone hint),
attempts committed before any call is placed, agents and their state log, callbacks and
the per-campaign worker registry. See ``tables/dialler.py`` for the meaning of each column.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = (
    "dialler_campaigns",
    "dialler_contacts",
    "dialler_attempts",
    "dialler_agents",
    "dialler_agent_states",
    "dialler_callbacks",
    "dialler_workers",
)


def upgrade() -> None:
    op.create_table(
        "dialler_campaigns",
        sa.Column("campaign_id", sa.String(64), primary_key=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("script_version_id", sa.String(64), nullable=True),
        sa.Column("stop_now_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False, server_default="0.0"),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.create_table(
        "dialler_contacts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("contact_ref", sa.String(64), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_outcome", sa.String(32), nullable=True),
        sa.Column("last_attempt_at", sa.Float(), nullable=True),
        sa.Column("last_abandon_at", sa.Float(), nullable=True),
        sa.Column("last_machine_at", sa.Float(), nullable=True),
        sa.Column("callback_at", sa.Float(), nullable=True),
        sa.Column("callback_agent", sa.String(64), nullable=True),
        sa.Column("final", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("suppressed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("in_progress", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("done", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("next_check_at", sa.Float(), nullable=False, server_default="0.0"),
        sa.Column("lease_worker", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.UniqueConstraint("campaign_id", "contact_ref", name="uq_dialler_contacts_ref"),
    )
    op.create_index(
        "ix_dialler_contacts_due", "dialler_contacts", ["campaign_id", "done", "next_check_at"]
    )
    op.create_table(
        "dialler_attempts",
        sa.Column("attempt_id", sa.String(64), primary_key=True, nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("contact_ref", sa.String(64), nullable=False),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("agent_reserved", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("opened_at", sa.Float(), nullable=False),
        sa.Column("placed_at", sa.Float(), nullable=True),
        sa.Column("answered_at", sa.Float(), nullable=True),
        sa.Column("answered_by", sa.String(16), nullable=True),
        sa.Column("connected_at", sa.Float(), nullable=True),
        sa.Column("message_at", sa.Float(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("ring_s", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("outcome_at", sa.Float(), nullable=True),
        sa.Column("engine_call_id", sa.String(64), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("interview_ref", sa.String(64), nullable=True),
        sa.Column("reconciled", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_dialler_attempts_contact", "dialler_attempts", ["campaign_id", "contact_ref"]
    )
    op.create_index("ix_dialler_attempts_open", "dialler_attempts", ["campaign_id", "outcome"])
    op.create_index("ix_dialler_attempts_opened", "dialler_attempts", ["campaign_id", "opened_at"])
    op.create_table(
        "dialler_agents",
        sa.Column("agent_id", sa.String(64), primary_key=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("campaigns", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("state", sa.String(16), nullable=False, server_default="logged_out"),
        sa.Column("since", sa.Float(), nullable=False, server_default="0.0"),
        sa.Column("pause_reason", sa.String(100), nullable=False, server_default=""),
        sa.Column("attempt_id", sa.String(64), nullable=True),
        sa.Column("worker_id", sa.String(64), nullable=True),
        sa.Column("bot", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("durations_json", sa.Text(), nullable=False, server_default="{}"),
    )
    op.create_table(
        "dialler_agent_states",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False, server_default=""),
        sa.Column("attempt_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_dialler_agent_states_agent", "dialler_agent_states", ["agent_id", "at"])
    op.create_table(
        "dialler_callbacks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("contact_ref", sa.String(64), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("booked_by", sa.String(64), nullable=False),
        sa.Column("booked_at", sa.Float(), nullable=False),
        sa.Column("attempt_id", sa.String(64), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_dialler_callbacks_due", "dialler_callbacks", ["campaign_id", "done", "due_at"]
    )
    op.create_table(
        "dialler_workers",
        sa.Column("worker_id", sa.String(64), primary_key=True, nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("host", sa.String(200), nullable=False, server_default=""),
        sa.Column("pid", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("heartbeat_at", sa.Float(), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.Column("stopped", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
