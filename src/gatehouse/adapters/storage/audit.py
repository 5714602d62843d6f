"""Append to and verify the audit log, inside the caller's transaction.

``append_audit`` must be called in the same transaction as the change it records, so the
change and its audit entry commit or roll back together. The chain head is serialised:
PostgreSQL takes a transaction-scoped advisory lock; SQLite's single writer does the same job
(a racing second writer fails on the ``seq`` primary key rather than forking the chain).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gatehouse.adapters.storage.tables.platform import AuditLogRow
from gatehouse.domain import audit as chain

_ADVISORY_LOCK_KEY = 0x6761746568  # "gateh": one lock for the whole chain
AuditEntry = chain.AuditRecord


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
    head = session.execute(
        select(AuditLogRow.seq, AuditLogRow.entry_hash).order_by(AuditLogRow.seq.desc()).limit(1)
    ).first()
    seq = (head[0] + 1) if head else 1
    prev_hash = head[1] if head else chain.GENESIS
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    # Round-trip through JSON so what is hashed is exactly what is stored and read back.
    clean: dict[str, Any] = json.loads(json.dumps(dict(details or {}), default=str))
    digest = chain.entry_hash(prev_hash, seq, at, actor, action, target, clean)
    row = AuditLogRow(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        target=target,
        details=json.dumps(clean, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        prev_hash=prev_hash,
        entry_hash=digest,
    )
    session.add(row)
    session.flush()
    return _record(row)


def _record(row: AuditLogRow) -> AuditEntry:
    return chain.AuditRecord(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        target=row.target,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        entry_hash=row.entry_hash,
    )


def iter_entries(session: Session, *, batch: int = 1000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditLogRow).where(AuditLogRow.seq > last).order_by(AuditLogRow.seq).limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield _record(row)
        last = rows[-1].seq


def verify_chain(session: Session, anchors: Iterable[tuple[int, str]] = ()) -> chain.ChainReport:
    return chain.verify(iter_entries(session), anchors)


def recent(session: Session, *, before: int | None = None, limit: int = 50) -> list[AuditEntry]:
    stmt = select(AuditLogRow).order_by(AuditLogRow.seq.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AuditLogRow.seq < before)
    return [_record(row) for row in session.scalars(stmt)]
