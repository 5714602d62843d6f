"""Agent vetting and clearance (C9): set by a security officer, honoured by the dialler.

- ``set_clearance`` records an agent's clearance (cleared until a date for some campaigns,
  or suspended), in the caller's transaction with its audit entry. The officer must hold
  ``Action.AGENT_VET``; nobody vets themselves; the agent must be a known agent (a user with
  the agent role, or a person on the dialler roster).
- ``check_can_work`` is what the desk asks before an agent goes ready: it raises
  ``NotCleared`` (403) with a message for the agent's own screen when the clearance is
  missing, suspended, expired or not for this campaign.
- ``list_clearances`` feeds the security page, with expiry warnings computed for today.

Dates are the site's calendar dates (``today()``: local date of the server).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gatehouse.adapters.storage.audit import append_audit
from gatehouse.adapters.storage.tables.dialler import DiallerAgent
from gatehouse.adapters.storage.tables.platform import User
from gatehouse.adapters.storage.tables.quality import AgentClearanceRow
from gatehouse.domain import clearance as rules
from gatehouse.domain.clearance import Clearance, ClearanceStatus
from gatehouse.domain.errors import NotFound, PermissionDenied
from gatehouse.domain.permissions import Action, Role, require
from gatehouse.services.scripts import Actor


def today() -> date:
    return date.today()


def _clearance(row: AgentClearanceRow) -> Clearance:
    return Clearance(
        agent_id=row.agent_id,
        status=ClearanceStatus(row.status),
        cleared_until=row.cleared_until,
        campaigns=frozenset(json.loads(row.campaigns)),
        vetted_by=row.vetted_by,
        vetted_at=row.vetted_at,
        note=row.note,
    )


def _is_known_agent(session: Session, agent_id: str) -> bool:
    roster = session.get(DiallerAgent, agent_id)
    if roster is not None and not roster.bot:
        return True
    user = session.get(User, agent_id)
    return user is not None and Role.AGENT.value in json.loads(user.roles)


def get_clearance(session: Session, agent_id: str) -> Clearance | None:
    row = session.get(AgentClearanceRow, agent_id)
    return _clearance(row) if row is not None else None


def set_clearance(
    session: Session,
    actor: Actor,
    *,
    agent_id: str,
    status: ClearanceStatus,
    cleared_until: date | None,
    campaigns: list[str] | tuple[str, ...],
    note: str = "",
    on: date | None = None,
    now: float | None = None,
) -> Clearance:
    require(actor.roles, Action.AGENT_VET)
    if actor.user_id == agent_id:
        raise PermissionDenied("nobody vets themselves")
    if not _is_known_agent(session, agent_id):
        raise NotFound("no such agent")
    record = rules.new_clearance(
        agent_id=agent_id,
        status=status,
        cleared_until=cleared_until if status == ClearanceStatus.CLEARED else None,
        campaigns=campaigns if status == ClearanceStatus.CLEARED else (),
        vetted_by=actor.user_id,
        vetted_at=time.time() if now is None else now,
        today=on or today(),
        note=note.strip(),
    )
    row = session.get(AgentClearanceRow, agent_id, with_for_update=True)
    before: dict[str, Any] = {}
    if row is None:
        row = AgentClearanceRow(agent_id=agent_id, version=0)
        session.add(row)
    else:
        before = {
            "status": row.status,
            "cleared_until": row.cleared_until.isoformat() if row.cleared_until else None,
            "campaigns": json.loads(row.campaigns),
        }
    row.status = record.status.value
    row.cleared_until = record.cleared_until
    row.campaigns = json.dumps(sorted(record.campaigns))
    row.note = record.note
    row.vetted_by = record.vetted_by
    row.vetted_at = record.vetted_at
    row.version = (row.version or 0) + 1
    session.flush()
    append_audit(
        session,
        actor=actor.user_id,
        action="agent.clearance",
        target=f"agent:{agent_id}",
        details={
            "status": record.status.value,
            "cleared_until": record.cleared_until.isoformat() if record.cleared_until else None,
            "campaigns": sorted(record.campaigns),
            "before": before,
            "version": row.version,
        },
    )
    return record


def check_can_work(
    session: Session, agent_id: str, campaign_id: str, on: date | None = None
) -> None:
    """Raise ``NotCleared`` unless the agent may take live calls on this campaign today."""
    rules.check_can_work(get_clearance(session, agent_id), campaign_id, on or today())


@dataclass(frozen=True, slots=True)
class ClearanceLine:
    agent_id: str
    clearance: Clearance | None
    status: str  # effective: cleared | suspended | expired | not vetted
    days_left: int | None
    warning: str


def line(clearance: Clearance | None, agent_id: str, on: date) -> ClearanceLine:
    if clearance is None:
        return ClearanceLine(agent_id, None, "not vetted", None, "")
    return ClearanceLine(
        agent_id,
        clearance,
        rules.effective_status(clearance, on).value,
        rules.days_left(clearance, on),
        rules.expiry_warning(clearance, on),
    )


def list_clearances(session: Session, on: date | None = None) -> dict[str, ClearanceLine]:
    """Every recorded clearance by agent id, with today's effective status and warning."""
    on = on or today()
    rows = session.scalars(select(AgentClearanceRow).order_by(AgentClearanceRow.agent_id))
    return {r.agent_id: line(_clearance(r), r.agent_id, on) for r in rows}
