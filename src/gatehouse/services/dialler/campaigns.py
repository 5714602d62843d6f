"""Campaign use cases: create, configure, start / pause / stop / stop-now, sync from the vault.

Contract: each change and its audit entry are one transaction (the status change also
carries the script check); a vault sync adds contacts in batches and is audited once, with
the count, when it has finished.
- ``start`` needs the campaign's script version to be approved or live (W1-C's
  ``require_live_version``); a campaign with no script may start only when the caller says
  it is a simulation (``allow_without_script``), e.g. a synthetic benchmark population.
- Audit entries go to the central hash-chained log (``append_audit``).
- ``configure`` records every changed key with its old and new value (values only, they
  hold no PII: windows, delays, pacer, caller id), and a script version change.
- ``stop-now`` stamps ``stop_now_at``; every worker hangs up its ringing lines (each after
  its 15 s minimum ring) on its next tick.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gatehouse.adapters.storage.audit import append_audit
from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.dialler import CampaignRecord, DiallerStore
from gatehouse.domain.dialler.config import CampaignCommand, CampaignConfig, apply_command
from gatehouse.domain.errors import Conflict, ValidationFailed


def create(
    store: DiallerStore,
    campaign_id: str,
    name: str,
    config: CampaignConfig,
    *,
    at: float,
    actor_id: str,
    script_version_id: str | None = None,
) -> None:
    def in_transaction(session: Session) -> None:
        append_audit(
            session,
            actor=actor_id,
            action="campaign.create",
            target=f"campaign:{campaign_id}",
            details={"name": name, "pacer": config.pacer, "script": script_version_id},
        )

    store.create_campaign(
        campaign_id,
        name,
        config,
        at=at,
        script_version_id=script_version_id,
        audit=in_transaction,
    )


def configure(
    store: DiallerStore,
    campaign_id: str,
    changes: dict[str, Any],
    *,
    at: float,
    actor_id: str,
    script_version_id: str | None = None,
) -> CampaignRecord:
    """Validate the changed keys against the whole config (the Ofcom floors and the AMD
    gate hold) and save them with an audit entry naming each change."""
    record = store.campaign(campaign_id)
    data = record.config.model_dump(mode="json")
    unknown = sorted(set(changes) - set(data))
    if unknown:
        raise ValidationFailed(f"unknown campaign setting(s): {', '.join(unknown)}")
    data.update(changes)
    try:
        config = CampaignConfig.model_validate(data)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    before = record.config.model_dump(mode="json")
    after = config.model_dump(mode="json")
    changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    if script_version_id and script_version_id != record.script_version_id:
        changed["script_version_id"] = {"from": record.script_version_id, "to": script_version_id}

    def in_transaction(session: Session) -> None:
        append_audit(
            session,
            actor=actor_id,
            action="campaign.configure",
            target=f"campaign:{campaign_id}",
            details={"changed": changed},
        )

    return store.save_campaign(
        campaign_id,
        at=at,
        config=config,
        script_version_id=script_version_id,
        audit=in_transaction,
    )


def sync_from_vault(store: DiallerStore, campaign_id: str, *, actor_id: str) -> int:
    """Add the vault's new contacts (refs and time zones only) and audit how many."""
    from gatehouse.services.dialler.vaultsync import sync_contacts

    store.campaign(campaign_id)  # NotFound before any work
    added = sync_contacts(store, store.session_factory, campaign_id)
    with transaction(store.session_factory) as session:
        append_audit(
            session,
            actor=actor_id,
            action="campaign.sync",
            target=f"campaign:{campaign_id}",
            details={"added": added},
        )
    return added


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
        append_audit(
            session,
            actor=actor_id,
            action=f"campaign.{command.value}",
            target=f"campaign:{campaign_id}",
            details={"from": record.status.value, "to": status.value},
        )

    return store.save_campaign(
        campaign_id,
        at=at,
        status=status,
        stop_now=command == CampaignCommand.STOP_NOW,
        audit=in_transaction,
    )
