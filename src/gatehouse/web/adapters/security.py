"""``SecurityPort`` over the platform's hash-chained audit log (W1-A) and the dialler roster.

The audit page reads the newest entries and walks the whole chain on every view (the chain is
append-only; verifying it is the point of the page). Agent clearance lists every person on
the dialler roster with their clearance from ``services.clearance`` (effective status today,
expiry warning, campaigns); setting one is audited in the same transaction.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage import audit
from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.adapters.storage.tables.platform import User
from gatehouse.domain.clearance import ClearanceStatus
from gatehouse.domain.errors import ValidationFailed
from gatehouse.services import clearance as clearance_service
from gatehouse.services.scripts import Actor
from gatehouse.web.auth import WebPrincipal
from gatehouse.web.pages.ports import AgentClearance, AuditRow, ChainStatus, ClearanceChange


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
        with transaction(self._factory) as session:
            lines = clearance_service.list_clearances(session)
            staff = _display_names(session)
        people = {row.agent_id: row.name for row in self._store.agents() if not row.bot}
        rows = [
            _view(agent_id, people.get(agent_id, agent_id), lines.get(agent_id), names, staff)
            for agent_id in sorted(set(people) | set(lines))
        ]
        return sorted(rows, key=lambda r: (r.warning == "", r.name))

    def campaign_choices(self) -> list[tuple[str, str]]:
        return [(c.campaign_id, c.name) for c in self._store.campaigns()]

    def set_clearance(self, actor: WebPrincipal, change: ClearanceChange) -> AgentClearance:
        try:
            status = ClearanceStatus(change.status)
            until = date.fromisoformat(change.cleared_until) if change.cleared_until else None
        except ValueError as bad:
            raise ValidationFailed("choose a status and a date (YYYY-MM-DD)") from bad
        known = {c for c, _ in self.campaign_choices()}
        unknown = sorted(set(change.campaigns) - known)
        if unknown:
            raise ValidationFailed(f"no such campaign: {', '.join(unknown)}")
        with transaction(self._factory) as session:
            clearance_service.set_clearance(
                session,
                Actor(actor.user_id, actor.roles),
                agent_id=change.agent_id,
                status=status,
                cleared_until=until,
                campaigns=list(change.campaigns),
                note=change.note,
            )
            saved = clearance_service.line(
                clearance_service.get_clearance(session, change.agent_id),
                change.agent_id,
                clearance_service.today(),
            )
            staff = _display_names(session)
        people = {row.agent_id: row.name for row in self._store.agents() if not row.bot}
        names = dict(self.campaign_choices())
        return _view(
            change.agent_id, people.get(change.agent_id, change.agent_id), saved, names, staff
        )


def _display_names(session: Session) -> dict[str, str]:
    """User id -> display name, to show who vetted an agent (not their internal id)."""
    return {uid: name for uid, name in session.execute(select(User.id, User.display_name))}


def _view(
    agent_id: str,
    name: str,
    line: clearance_service.ClearanceLine | None,
    campaign_names: dict[str, str],
    staff: dict[str, str],
) -> AgentClearance:
    record = line.clearance if line is not None else None
    if line is None or record is None:
        return AgentClearance(agent_id=agent_id, name=name, status="not vetted", expires="")
    ids = tuple(sorted(record.campaigns))
    return AgentClearance(
        agent_id=agent_id,
        name=name,
        status=line.status,
        expires=record.cleared_until.isoformat() if record.cleared_until else "",
        campaigns=tuple(campaign_names.get(c, c) for c in ids),
        campaign_ids=ids,
        days_left=line.days_left,
        warning=line.warning,
        vetted_by=staff.get(record.vetted_by, record.vetted_by),
        vetted_at=datetime.fromtimestamp(record.vetted_at).strftime("%d %b %Y, %H:%M"),
        note=record.note,
    )
