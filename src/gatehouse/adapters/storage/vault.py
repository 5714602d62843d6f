"""The only way a number leaves the vault: resolved at dial time, for the telephony adapter.

Agent-facing code may not import this module (an import-linter contract enforces it).
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from gatehouse.adapters.crypto.keys import KeyRing, unseal
from gatehouse.adapters.storage.tables.vault import Contact, VaultCampaign
from gatehouse.domain.errors import NotFound


def resolve_destination(session: Session, keyring: KeyRing, contact_ref: str) -> str:
    contact = session.get(Contact, contact_ref)
    if contact is None:
        raise NotFound(f"no contact {contact_ref}")
    campaign = session.get(VaultCampaign, contact.campaign_id)
    assert campaign is not None
    key = keyring.data_key(session, campaign.tenant)
    aad = f"contact|{campaign.tenant}|{campaign.id}|{contact_ref}".encode()
    phone: str = json.loads(unseal(key, contact.pii, aad))["phone"]
    return phone
