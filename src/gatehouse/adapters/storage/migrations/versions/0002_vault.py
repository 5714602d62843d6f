"""tenant keys, campaigns, contacts, suppressions, imports (W1-A)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_keys",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("wrapped_data_key", sa.LargeBinary(), nullable=False),
        sa.Column("wrapped_hmac_key", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("display_fields", sa.Text(), nullable=False),
        sa.Column("export_fields", sa.Text(), nullable=False),
        sa.Column("caller_id", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "import_batches",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campaign_id", sa.String(64), sa.ForeignKey("campaigns.id"), nullable=False),
        sa.Column("filename", sa.String(300), nullable=False),
        sa.Column("rows_seen", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "contacts",
        sa.Column("ref", sa.String(32), primary_key=True),
        sa.Column("campaign_id", sa.String(64), sa.ForeignKey("campaigns.id"), nullable=False),
        sa.Column("batch_id", sa.String(36), sa.ForeignKey("import_batches.id"), nullable=False),
        sa.Column("phone_hmac", sa.String(64), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("pii", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("campaign_id", "phone_hmac", name="uq_contacts_campaign_phone"),
    )
    op.create_index("ix_contacts_campaign", "contacts", ["campaign_id"])
    op.create_table(
        "suppressions",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("phone_hmac", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_index("ix_contacts_campaign", table_name="contacts")
    op.drop_table("contacts")
    op.drop_table("import_batches")
    op.drop_table("campaigns")
    op.drop_table("tenant_keys")
