"""Vault use cases: campaigns, contact imports, suppressions, and what agents may see.

An import is one transaction: either every valid row of the file is stored (and each
rejected row is listed in the error report beside the file), or, if the file itself is bad or
the process dies part-way, nothing of it is. PII is encrypted per contact under the tenant's
data key; numbers are matched through an HMAC so suppressions need no clear numbers.
"""

from __future__ import annotations

import csv
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing, Sealer, unseal
from gatehouse.adapters.importing.reader import BadFile, open_table
from gatehouse.adapters.storage.audit import append_audit
from gatehouse.adapters.storage.db import sqlite_page_cache
from gatehouse.adapters.storage.tables.vault import Contact, ImportBatch, Suppression, VaultCampaign
from gatehouse.domain.contacts import (
    PHONE_HEADERS,
    AgentContactView,
    InvalidNumber,
    agent_view,
    neutralise_cell,
    normalise_header,
    to_e164,
)
from gatehouse.domain.errors import NotFound

INSERT_CHUNK = 2000
#: SQLite page cache while an import runs (see ``sqlite_page_cache``): part of its memory.
IMPORT_CACHE_MIB = 32
_CONTACTS = Contact.metadata.tables[Contact.__tablename__]
Progress = Callable[[int], None]


@dataclass
class Rejection:
    row: int
    column: str
    reason: str


@dataclass
class ImportReport:
    batch_id: str
    rows_seen: int = 0
    imported: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    error_report: Path | None = None


def phone_hmac(key: bytes, e164: str) -> str:
    return hmac.digest(key, e164.encode(), "sha256").hex()


DEDUPE_KEY_BYTES = 16


def _dedupe_key(phone_hmac_hex: str) -> bytes:
    return bytes.fromhex(phone_hmac_hex[: 2 * DEDUPE_KEY_BYTES])


def create_campaign(
    session: Session,
    *,
    slug: str,
    name: str,
    tenant: str,
    display_fields: Iterable[str] = ("first_name",),
    export_fields: Iterable[str] = (),
    caller_id: str = "",
    actor: str = "system",
) -> VaultCampaign:
    campaign = VaultCampaign(
        id=slug,
        name=name,
        tenant=tenant,
        display_fields=json.dumps([normalise_header(f) for f in display_fields]),
        export_fields=json.dumps([normalise_header(f) for f in export_fields]),
        caller_id=caller_id,
        created_at=time.time(),
    )
    session.add(campaign)
    append_audit(
        session,
        actor=actor,
        action="campaign.create",
        target=f"campaign:{slug}",
        details={"display_fields": list(display_fields), "export_fields": list(export_fields)},
    )
    return campaign


def _campaign(session: Session, slug: str) -> VaultCampaign:
    campaign = session.get(VaultCampaign, slug)
    if campaign is None:
        raise NotFound(f"no campaign {slug!r}")
    return campaign


def _aad(tenant: str, campaign: str, ref: str) -> bytes:
    return f"contact|{tenant}|{campaign}|{ref}".encode()


def import_contacts(
    factory: sessionmaker[Session],
    keyring: KeyRing,
    path: Path,
    campaign_slug: str,
    *,
    region: str = "GB",
    actor: str = "system",
    progress: Progress | None = None,
) -> ImportReport:
    """Import a CSV/XLSX contact list in one transaction; write ``<file>.errors.csv``."""
    table = open_table(path)
    headers = [normalise_header(h) for h in table.headers]
    duplicates = sorted({h for h in headers if h and headers.count(h) > 1})
    if duplicates:
        raise BadFile(f"{path.name}: duplicate column names {duplicates}; nothing was imported")
    phone_columns = [i for i, h in enumerate(headers) if h in PHONE_HEADERS]
    if not phone_columns:
        raise BadFile(
            f"{path.name}: no phone column (looked for {', '.join(PHONE_HEADERS)}; "
            f"found {', '.join(table.headers) or 'no headers'}); nothing was imported"
        )
    phone_at = phone_columns[0]
    report = ImportReport(batch_id=str(uuid.uuid4()))
    with factory() as session, session.begin(), sqlite_page_cache(session, IMPORT_CACHE_MIB):
        campaign = _campaign(session, campaign_slug)
        data_key = keyring.data_key(session, campaign.tenant)
        hkey = keyring.hmac_key(session, campaign.tenant)
        session.add(
            ImportBatch(
                id=report.batch_id,
                campaign_id=campaign.id,
                filename=path.name[:300],
                rows_seen=0,
                rows_imported=0,
                rows_rejected=0,
                created_at=time.time(),
            )
        )
        session.flush()
        # Duplicates are found by a 16-byte prefix of the number's HMAC, not its 64-character
        # hex (a 1 M-row file keeps a million of them); 128 bits make a false match between
        # two different numbers out of reach, and the unique index backs it up regardless.
        existing = {
            _dedupe_key(h)
            for h in session.scalars(
                select(Contact.phone_hmac).where(Contact.campaign_id == campaign.id)
            )
        }
        suppressed = {
            _dedupe_key(h)
            for h in session.scalars(
                select(Suppression.phone_hmac).where(Suppression.tenant.in_((campaign.tenant, "*")))
            )
        }
        sealer = Sealer(data_key)
        phone_column = table.headers[phone_at]
        kept = [(i, h) for i, h in enumerate(headers) if h and i != phone_at]
        seen_in_file: dict[bytes, int] = {}
        pending: list[dict[str, object]] = []
        for number, cells in table.rows:
            report.rows_seen += 1
            if len(cells) != len(headers):
                if not any(c.strip() for c in cells):
                    report.rows_seen -= 1  # blank line
                    continue
                report.rejected.append(
                    Rejection(number, "", f"{len(cells)} cells, expected {len(headers)}")
                )
                continue
            try:
                e164, tz = to_e164(cells[phone_at], region)
            except InvalidNumber as exc:
                report.rejected.append(Rejection(number, phone_column, str(exc)))
                continue
            digest = hmac.digest(hkey, e164.encode(), "sha256")
            key = digest[:DEDUPE_KEY_BYTES]
            first = seen_in_file.get(key)
            if first is not None:
                report.rejected.append(Rejection(number, phone_column, f"duplicate of row {first}"))
                continue
            seen_in_file[key] = number
            if key in existing:
                report.rejected.append(Rejection(number, phone_column, "already in this campaign"))
                continue
            if key in suppressed:
                report.rejected.append(Rejection(number, phone_column, "on a do-not-call list"))
                continue
            ref = secrets.token_hex(12)
            record = {h: cells[i] for i, h in kept}
            record["phone"] = e164
            pii = sealer.seal(
                json.dumps(record, separators=(",", ":")).encode(),
                _aad(campaign.tenant, campaign.id, ref),
            )
            pending.append(
                {
                    "ref": ref,
                    "campaign_id": campaign.id,
                    "batch_id": report.batch_id,
                    "phone_hmac": digest.hex(),
                    "timezone": tz,
                    "pii": pii,
                }
            )
            if len(pending) >= INSERT_CHUNK:
                # Core executemany: the ORM's bulk path adds nothing for plain rows.
                session.execute(insert(_CONTACTS), pending)
                report.imported += len(pending)
                pending.clear()
                if progress:
                    progress(report.rows_seen)
        if pending:
            session.execute(insert(_CONTACTS), pending)
            report.imported += len(pending)
        batch = session.get(ImportBatch, report.batch_id)
        assert batch is not None
        batch.rows_seen, batch.rows_imported = report.rows_seen, report.imported
        batch.rows_rejected = len(report.rejected)
        append_audit(
            session,
            actor=actor,
            action="contacts.import",
            target=f"campaign:{campaign.id}",
            details={
                "batch": report.batch_id,
                "file": path.name,
                "imported": report.imported,
                "rejected": len(report.rejected),
            },
        )
    if progress:
        progress(report.rows_seen)
    report.error_report = write_error_report(path, report.rejected)
    return report


def write_error_report(path: Path, rejected: list[Rejection]) -> Path:
    out = path.with_name(path.name + ".errors.csv")
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "column", "reason"])
        for r in rejected:
            writer.writerow([r.row, neutralise_cell(r.column), neutralise_cell(r.reason)])
    return out


def import_suppressions(
    factory: sessionmaker[Session],
    keyring: KeyRing,
    path: Path,
    *,
    tenant: str,
    source: str,
    region: str = "GB",
    actor: str = "system",
) -> tuple[int, list[Rejection]]:
    table = open_table(path)
    headers = [normalise_header(h) for h in table.headers]
    columns = [i for i, h in enumerate(headers) if h in PHONE_HEADERS]
    if not columns:
        raise BadFile(f"{path.name}: no phone column; nothing was imported")
    added, rejected = 0, []
    with factory() as session, session.begin():
        hkey = keyring.hmac_key(session, tenant)
        have = set(
            session.scalars(select(Suppression.phone_hmac).where(Suppression.tenant == tenant))
        )
        for number, cells in table.rows:
            try:
                e164, _ = to_e164(cells[columns[0]] if len(cells) > columns[0] else "", region)
            except InvalidNumber as exc:
                rejected.append(Rejection(number, table.headers[columns[0]], str(exc)))
                continue
            digest = phone_hmac(hkey, e164)
            if digest not in have:
                have.add(digest)
                session.add(
                    Suppression(
                        tenant=tenant, phone_hmac=digest, source=source[:64], created_at=time.time()
                    )
                )
                added += 1
        append_audit(
            session,
            actor=actor,
            action="suppressions.import",
            target=f"tenant:{tenant}",
            details={"file": path.name, "added": added, "rejected": len(rejected)},
        )
    return added, rejected


def _decrypt(session: Session, keyring: KeyRing, ref: str) -> tuple[VaultCampaign, dict[str, str]]:
    contact = session.get(Contact, ref)
    if contact is None:
        raise NotFound(f"no contact {ref}")
    campaign = _campaign(session, contact.campaign_id)
    key = keyring.data_key(session, campaign.tenant)
    record = json.loads(unseal(key, contact.pii, _aad(campaign.tenant, campaign.id, ref)))
    return campaign, record


def contact_view(session: Session, keyring: KeyRing, ref: str) -> AgentContactView:
    """What an agent may see of a contact: the campaign's approved display fields only."""
    campaign, record = _decrypt(session, keyring, ref)
    return agent_view(ref, record, json.loads(campaign.display_fields))


def export_values(session: Session, keyring: KeyRing, ref: str) -> dict[str, str]:
    campaign, record = _decrypt(session, keyring, ref)
    approved = json.loads(campaign.export_fields)
    return {k: record[k] for k in approved if k in record}


def dialable(session: Session, campaign_slug: str) -> list[tuple[str, str]]:
    """(contact ref, time zone) for every contact of a campaign, without decrypting PII."""
    rows = session.execute(
        select(Contact.ref, Contact.timezone)
        .where(Contact.campaign_id == campaign_slug)
        .order_by(Contact.ref)
    )
    return [(ref, tz) for ref, tz in rows]
