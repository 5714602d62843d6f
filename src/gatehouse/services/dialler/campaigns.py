"""Campaign commands (start / pause / stop / stop-now) as one use case.

Contract: the status change, the script check and the audit entry are one transaction.
- ``start`` needs the campaign's script version to be approved or live (W1-C's
  ``require_live_version``); a campaign with no script may start only when the caller says
  it is a simulation (``allow_without_script``), e.g. a synthetic benchmark population.
- The audit entry goes to W1-A's central log (``append_audit``) when that module exists.
- ``stop-now`` stamps ``stop_now_at``; every worker hangs up its ringing lines (each after
  its 15 s minimum ring) on its next tick.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from gatehouse.adapters.storage.dialler import CampaignRecord, DiallerStore
from gatehouse.domain.dialler.config import CampaignCommand, apply_command
from gatehouse.domain.errors import Conflict, ValidationFailed

# W1-A's hash-chained audit log, when present in this tree. Only its absence is tolerated:
# if the module exists, any error importing it propagates.
_append_audit: Callable[..., Any] | None = None
if importlib.util.find_spec("gatehouse.adapters.storage.audit") is not None:
    _append_audit = importlib.import_module("gatehouse.adapters.storage.audit").append_audit


def audit_available() -> bool:
    return _append_audit is not None


def change_status(
    store: DiallerStore,
    campaign_id: str,
    command: CampaignCommand,
    *,
    at: float,
    actor_id: str,
    allow_without_script: bool = False,
) -> CampaignRecord:
    record = store.campaign(campaign_id)
    try:
        status = apply_command(record.status, command)
    except ValueError as exc:
        raise Conflict(str(exc)) from exc

    def in_transaction(session: Session) -> None:
        if command == CampaignCommand.START:
            if record.script_version_id is None:
                if not allow_without_script:
                    raise ValidationFailed(
                        f"campaign {campaign_id!r} has no approved script version: it cannot "
                        "start (set one with `campaigns configure --script-version`)"
                    )
            else:
                from gatehouse.services.scripts import require_live_version

                require_live_version(session, campaign_id)
        if _append_audit is not None:
            details: dict[str, Any] = {"from": record.status.value, "to": status.value}
            _append_audit(
                session,
                actor=actor_id,
                action=f"campaign.{command.value}",
                target=f"campaign:{campaign_id}",
                details=details,
            )

    return store.save_campaign(
        campaign_id,
        at=at,
        status=status,
        stop_now=command == CampaignCommand.STOP_NOW,
        audit=in_transaction,
    )
