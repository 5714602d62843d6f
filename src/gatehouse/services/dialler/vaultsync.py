"""Filling the dialler's dial state from the contact vault (W1-A), and the dial-time resolver.

Contract: only (contact_ref, time-zone hint) pairs cross from the vault into the dialler; no
PII is decrypted for the hopper. The destination number is resolved at dial time, inside the
engine, through ``vault_resolver`` (the vault's ``resolve_destination``); it never enters the
dialler's tables, logs or agent-facing state.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.telephony.port import DestinationResolver


def sync_contacts(store: DiallerStore, factory: sessionmaker[Session], campaign_id: str) -> int:
    """Add the vault's contacts of ``campaign_id`` that the dialler does not know yet."""
    from gatehouse.services.vault import dialable

    with factory() as session:
        rows = dialable(session, campaign_id)
    return store.add_contacts(campaign_id, ((ref, tz, 0) for ref, tz in rows))


def vault_resolver(factory: sessionmaker[Session], keyring: KeyRing) -> DestinationResolver:
    """A resolver for an engine: contact_ref → E.164, read from the vault at dial time."""
    from gatehouse.adapters.storage.vault import resolve_destination

    def resolve(contact_ref: str) -> str:
        with factory() as session:
            return resolve_destination(session, keyring, contact_ref)

    return resolve
