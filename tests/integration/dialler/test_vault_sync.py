"""The dialler fills from the vault (refs and time zones, no PII) and numbers are resolved
only at dial time, inside the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.domain.dialler.config import CampaignConfig
from gatehouse.services import vault
from gatehouse.services.dialler.clocks import run_virtual
from gatehouse.services.dialler.harness import build_runtime
from gatehouse.services.dialler.simnet import read_call_log
from gatehouse.services.dialler.vaultsync import sync_contacts, vault_resolver

START = 1_767_949_200.0  # Friday 09:00 UTC


def test_vault_contacts_dialled_with_numbers_resolved_only_in_the_engine(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    keyring = KeyRing.from_file(tmp_path / "master.key")
    with transaction(session_factory) as s:
        vault.create_campaign(s, slug="v1", name="Vault campaign", tenant="client-a")
    csv_file = tmp_path / "contacts.csv"
    numbers = [f"+44161496{n:04d}" for n in range(20)]
    csv_file.write_text(
        "first_name,phone\n" + "".join(f"Sam{i},{n}\n" for i, n in enumerate(numbers)),
        encoding="utf-8",
    )
    vault.import_contacts(session_factory, keyring, csv_file, "v1")
    store = DiallerStore(session_factory)
    store.create_campaign("v1", "Vault campaign", CampaignConfig(), at=START)
    assert sync_contacts(store, session_factory, "v1") == 20
    assert sync_contacts(store, session_factory, "v1") == 0  # idempotent
    from gatehouse.domain.dialler.config import CampaignStatus

    store.save_campaign("v1", at=START, status=CampaignStatus.RUNNING)
    log = tmp_path / "calls.jsonl"

    async def main(clock: Any) -> None:
        runtime, network = build_runtime(
            store,
            clock,
            "v1",
            agents=2,
            call_log=log,
            resolver=vault_resolver(session_factory, keyring),
        )
        await runtime.run(until=START + 600)
        await network.close()

    run_virtual(START, main)
    calls = read_call_log(log)
    assert calls and all(c["destination"] in numbers for c in calls)  # resolved in the engine
    # no number anywhere in the dialler's tables
    with session_factory() as s:
        for table in ("dialler_contacts", "dialler_attempts", "dialler_agent_states"):
            dump = " ".join(str(row) for row in s.execute(text(f"SELECT * FROM {table}")))
            assert not any(n in dump or n[1:] in dump for n in numbers), table
