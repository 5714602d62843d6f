"""scripts, versions, lifecycle events, interviews, quotas (W1-C)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SQLITE_TRIGGER = """
CREATE TRIGGER script_versions_immutable BEFORE UPDATE OF source, content_hash, script_id,
number ON script_versions
BEGIN SELECT RAISE(ABORT, 'script versions are immutable'); END
"""
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION script_versions_immutable() RETURNS trigger AS $$
BEGIN
  IF NEW.source IS DISTINCT FROM OLD.source OR NEW.content_hash IS DISTINCT FROM OLD.content_hash
     OR NEW.script_id IS DISTINCT FROM OLD.script_id OR NEW.number IS DISTINCT FROM OLD.number THEN
    RAISE EXCEPTION 'script versions are immutable';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql
"""
_PG_TRIGGER = """
CREATE TRIGGER script_versions_immutable BEFORE UPDATE ON script_versions
FOR EACH ROW EXECUTE FUNCTION script_versions_immutable()
"""
# The lifecycle history is append-only: no UPDATE or DELETE, on either database.
_SQLITE_EVENTS = [
    "CREATE TRIGGER script_events_no_update BEFORE UPDATE ON script_events "
    "BEGIN SELECT RAISE(ABORT, 'script events are append-only'); END",
    "CREATE TRIGGER script_events_no_delete BEFORE DELETE ON script_events "
    "BEGIN SELECT RAISE(ABORT, 'script events are append-only'); END",
]
_PG_EVENTS = [
    "CREATE OR REPLACE FUNCTION script_events_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'script events are append-only'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER script_events_append_only BEFORE UPDATE OR DELETE ON script_events "
    "FOR EACH ROW EXECUTE FUNCTION script_events_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "scripts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("slug", name="uq_scripts_slug"),
    )
    op.create_table(
        "script_versions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("script_id", sa.String(36), sa.ForeignKey("scripts.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lint_json", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("submitted_by", sa.String(64), nullable=True),
        sa.Column("submitted_at", sa.Float(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.Float(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("diff_basis_id", sa.String(36), nullable=True),
        sa.UniqueConstraint("script_id", "number", name="uq_script_versions_number"),
    )
    op.create_table(
        "interviews",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("version_id", sa.String(36), sa.ForeignKey("script_versions.id"), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("contact_ref", sa.String(64), nullable=False),
        sa.Column("respondent_id", sa.String(32), nullable=False),
        sa.Column("attempt_id", sa.String(64), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("training", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_interviews_campaign", "interviews", ["campaign_id", "outcome"])
    op.create_index("ix_interviews_attempt", "interviews", ["attempt_id"])
    op.create_table(
        "quota_counts",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("quota_id", sa.String(32), primary_key=True),
        sa.Column("cell_key", sa.String(64), primary_key=True),
        sa.Column("completes", sa.Integer(), nullable=False),
    )
    op.create_table(
        "script_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("script_id", sa.String(36), nullable=False),
        sa.Column("version_id", sa.String(36), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("details_json", sa.Text(), nullable=False),
    )
    op.create_index("ix_script_events_version", "script_events", ["version_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
        for statement in _PG_EVENTS:
            op.execute(statement)
    else:
        op.execute(_SQLITE_TRIGGER)
        for statement in _SQLITE_EVENTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS script_events_append_only ON script_events")
        op.execute("DROP FUNCTION IF EXISTS script_events_append_only()")
        op.execute("DROP TRIGGER IF EXISTS script_versions_immutable ON script_versions")
        op.execute("DROP FUNCTION IF EXISTS script_versions_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS script_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS script_events_no_delete")
        op.execute("DROP TRIGGER IF EXISTS script_versions_immutable")
    op.drop_index("ix_script_events_version", table_name="script_events")
    op.drop_table("script_events")
    op.drop_table("quota_counts")
    op.drop_index("ix_interviews_attempt", table_name="interviews")
    op.drop_index("ix_interviews_campaign", table_name="interviews")
    op.drop_table("interviews")
    op.drop_table("script_versions")
    op.drop_table("scripts")
