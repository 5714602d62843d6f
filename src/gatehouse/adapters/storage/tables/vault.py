"""Vault tables (W1-A, migration 0002): tenant keys, campaigns, contacts, suppressions, imports.

Contact PII is one AES-GCM blob per contact (AAD binds it to tenant, campaign and contact);
numbers are matched through ``phone_hmac`` (HMAC-SHA256 under the tenant's HMAC key), never
in clear. Rows of an import become visible only when the import commits as one transaction.
"""

from __future__ import annotations

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.adapters.storage.tables.base import Base


class TenantKey(Base):
    __tablename__ = "tenant_keys"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    wrapped_data_key: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_hmac_key: Mapped[bytes] = mapped_column(LargeBinary)


class VaultCampaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the slug
    name: Mapped[str] = mapped_column(String(200))
    tenant: Mapped[str] = mapped_column(String(64))  # the client organisation
    display_fields: Mapped[str] = mapped_column(Text, default="[]")  # JSON: approved for agents
    export_fields: Mapped[str] = mapped_column(Text, default="[]")  # JSON: approved for export
    caller_id: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[float] = mapped_column(Float)


class ImportBatch(Base):
    __tablename__ = "import_batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    filename: Mapped[str] = mapped_column(String(300))
    rows_seen: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone_hmac", name="uq_contacts_campaign_phone"),
        Index("ix_contacts_campaign", "campaign_id"),
    )

    ref: Mapped[str] = mapped_column(String(32), primary_key=True)  # opaque contact reference
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    batch_id: Mapped[str] = mapped_column(ForeignKey("import_batches.id"))
    phone_hmac: Mapped[str] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64))
    pii: Mapped[bytes] = mapped_column(LargeBinary)


class Suppression(Base):
    __tablename__ = "suppressions"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)  # "*" = every tenant
    phone_hmac: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
