"""``SecurityPort`` over the platform's hash-chained audit log (W1-A) and the dialler roster.

The audit page reads the newest entries and walks the whole chain on every view (the chain is
append-only; verifying it is the point of the page). Agent clearance shows the campaigns each
agent is on the dialler roster for; vetting status and expiry come from the accounts service
once it records them.
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage import audit
from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.web.pages.ports import AgentClearance, AuditRow, ChainStatus


class SecurityServices:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self._store = DiallerStore(factory)

    def audit_page(self, before: int | None, limit: int) -> list[AuditRow]:
        with transaction(self._factory) as session:
            entries = audit.recent(session, before=before, limit=limit)
        return [
            AuditRow(
                seq=e.seq,
                at=e.at.replace("T", " ")[:19],
                actor=e.actor,
                action=e.action,
                target=e.target,
                detail=json.dumps(e.details, sort_keys=True)[:160],
                entry_hash=e.entry_hash,
            )
            for e in entries
        ]

    def verify_chain(self) -> ChainStatus:
        with transaction(self._factory) as session:
            report = audit.verify_chain(session)
        message = report.message or (
            f"head #{report.head_seq} {report.head_hash[:12]}" if report.ok else report.problem
        )
        return ChainStatus(report.ok, report.entries, message, report.first_bad)

    def clearances(self) -> list[AgentClearance]:
        names = {c.campaign_id: c.name for c in self._store.campaigns()}
        return [
            AgentClearance(
                agent_id=row.agent_id,
                name=row.name,
                status="on roster",
                expires="",
                campaigns=tuple(names.get(c, c) for c in json.loads(row.campaigns)),
            )
            for row in self._store.agents()
            if not row.bot
        ]
