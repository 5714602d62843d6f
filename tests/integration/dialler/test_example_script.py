"""The example script runs end to end on the simulated network, in virtual time and in
accelerated real time, through the same runtime, bots and interview runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.domain.dialler.config import CallOutcome, CampaignConfig
from gatehouse.services.dialler.harness import seed_synthetic_campaign
from gatehouse.services.dialler.worker import WorkerOptions, run_worker

START = 1_767_949_200.0  # Friday 09:00 UTC
SCRIPT = Path(__file__).resolve().parents[3] / "examples" / "insurance-survey.yaml"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["virtual", "accelerated"])
def test_example_script_campaign_end_to_end(
    mode: str, db_url: str, session_factory: sessionmaker[Session]
) -> None:
    if not SCRIPT.exists():
        pytest.skip("examples/insurance-survey.yaml is not in the tree")
    store = DiallerStore(session_factory)
    seed_synthetic_campaign(
        store, "ex", contacts=150, config=CampaignConfig(wrap_up_s=5.0), at=START
    )
    opts = WorkerOptions(
        database_url=db_url,
        campaign_id="ex",
        agents=4,
        start=START,
        duration_s=1200.0,
        script_path=SCRIPT,
        talk_median_s=40.0,
        virtual=mode == "virtual",
        speed=1.0 if mode == "virtual" else 150.0,
    )
    outcomes = run_worker(opts)
    counts = store.counts("ex")
    assert counts.open_attempts == 0
    # interviews ran through the runner: completes and screen-outs both occur
    assert counts.by_outcome.get(CallOutcome.COMPLETE.value, 0) > 0, outcomes
    assert counts.by_outcome.get(CallOutcome.NOT_ELIGIBLE.value, 0) > 0, outcomes
    assert counts.abandoned == 0  # progressive


def _live_example(factory: sessionmaker[Session]) -> str:
    from gatehouse.adapters.storage.db import transaction
    from gatehouse.domain.permissions import Role
    from gatehouse.services import scripts as svc

    author = svc.Actor("manager-1", frozenset({Role.CAMPAIGN_MANAGER}))
    officer = svc.Actor("security-1", frozenset({Role.SECURITY_OFFICER}))
    with transaction(factory) as s:
        version = svc.save_draft(s, author, SCRIPT.read_text(encoding="utf-8"))
        svc.submit(s, author, version.id)
        svc.decide(s, officer, version.id, approve=True, note="ok")
        svc.go_live(s, author, version.id)
    return version.id


@pytest.mark.slow
def test_live_script_version_interviews_are_saved_and_match_the_attempts(
    db_url: str, session_factory: sessionmaker[Session]
) -> None:
    from sqlalchemy import select

    from gatehouse.adapters.storage.tables.scripts import InterviewRecord

    store = DiallerStore(session_factory)
    version_id = _live_example(session_factory)
    seed_synthetic_campaign(
        store, "lv", contacts=150, config=CampaignConfig(wrap_up_s=5.0), at=START, start=False
    )
    store.save_campaign("lv", at=START, script_version_id=version_id)
    from gatehouse.domain.dialler.config import CampaignStatus

    store.save_campaign("lv", at=START, status=CampaignStatus.RUNNING)
    run_worker(
        WorkerOptions(
            database_url=db_url,
            campaign_id="lv",
            agents=4,
            start=START,
            duration_s=1800.0,
            virtual=True,
            talk_median_s=60.0,
        )
    )
    attempts = {a.attempt_id: a for a in store.attempts("lv")}
    with session_factory() as s:
        interviews = list(s.scalars(select(InterviewRecord)))
    assert interviews, "interviews were stored"
    by_attempt = {i.attempt_id: i for i in interviews}
    for i in interviews:
        assert i.version_id == version_id and i.attempt_id in attempts
    completes = [a for a in attempts.values() if a.outcome == CallOutcome.COMPLETE.value]
    assert completes
    for a in completes:
        assert by_attempt[a.attempt_id].outcome == "complete"
    for a in attempts.values():
        if a.outcome == CallOutcome.NOT_ELIGIBLE.value:
            assert by_attempt[a.attempt_id].outcome == "screened_out"


def test_start_needs_an_approved_script_version(session_factory: sessionmaker[Session]) -> None:
    from gatehouse.adapters.storage.db import transaction
    from gatehouse.domain.dialler.config import CampaignCommand, CampaignStatus
    from gatehouse.domain.errors import ValidationFailed
    from gatehouse.domain.permissions import Role
    from gatehouse.services import scripts as svc
    from gatehouse.services.dialler.campaigns import change_status

    store = DiallerStore(session_factory)
    seed_synthetic_campaign(store, "g", contacts=3, config=CampaignConfig(), at=START, start=False)
    author = svc.Actor("manager-1", frozenset({Role.CAMPAIGN_MANAGER}))
    with transaction(session_factory) as s:
        draft = svc.save_draft(s, author, SCRIPT.read_text(encoding="utf-8"))
    store.save_campaign("g", at=START, script_version_id=draft.id)
    with pytest.raises(ValidationFailed, match="approved"):
        change_status(store, "g", CampaignCommand.START, at=START, actor_id="t")
    assert store.campaign("g").status == CampaignStatus.DRAFT  # nothing changed
    store.save_campaign("g", at=START, script_version_id=_live_example(session_factory))
    rec = change_status(store, "g", CampaignCommand.START, at=START, actor_id="t")
    assert rec.status == CampaignStatus.RUNNING


def test_campaign_commands_are_audited_in_the_same_transaction(
    session_factory: sessionmaker[Session],
) -> None:
    from gatehouse.adapters.storage import audit
    from gatehouse.domain.dialler.config import CampaignCommand
    from gatehouse.domain.errors import ValidationFailed
    from gatehouse.services.dialler import campaigns

    store = DiallerStore(session_factory)
    campaigns.create(store, "au", "Audited", CampaignConfig(), at=START, actor_id="mgr")
    with pytest.raises(ValidationFailed):
        campaigns.change_status(store, "au", CampaignCommand.START, at=START, actor_id="mgr")
    campaigns.configure(store, "au", {"max_attempts": 3}, at=START, actor_id="mgr")
    with pytest.raises(ValidationFailed, match="AMD refused"):
        campaigns.configure(
            store, "au", {"amd": True, "amd_human_as_machine": 0.03}, at=START, actor_id="mgr"
        )
    with pytest.raises(ValidationFailed, match="unknown campaign setting"):
        campaigns.configure(store, "au", {"dial_everyone": True}, at=START, actor_id="mgr")
    campaigns.change_status(
        store, "au", CampaignCommand.START, at=START, actor_id="mgr", allow_without_script=True
    )
    campaigns.change_status(store, "au", CampaignCommand.STOP_NOW, at=START + 5, actor_id="mgr")
    with session_factory() as s:
        entries = [e for e in audit.iter_entries(s) if e.target == "campaign:au"]
        report = audit.verify_chain(s)
    # refused changes wrote nothing; every accepted change wrote one entry
    assert [e.action for e in entries] == [
        "campaign.create",
        "campaign.configure",
        "campaign.start",
        "campaign.stop-now",
    ]
    assert entries[1].details["changed"] == {"max_attempts": {"from": 6, "to": 3}}
    assert store.campaign("au").config.max_attempts == 3 and not store.campaign("au").config.amd
    assert all(e.actor == "mgr" for e in entries)
    assert report.ok


QUOTA_SCRIPT = """
id: dialler-quota-demo
title: Quota demo
agency: Northfield Research
purpose: a short survey
elements:
  - id: intro
    type: text
    text: Hello, this is Northfield Research with a short survey. You do not have to take part.
  - id: band
    type: single
    text: Which age group are you in?
    options:
      - {code: 1, label: "Under 50"}
      - {code: 2, label: "50 or over"}
quotas:
  - id: age
    variables: [band]
    cells:
      - {match: {band: 1}, target: 2}
      - {match: {band: 2}, target: 1}
"""


def test_runtime_stops_dialling_when_every_quota_cell_is_full(
    session_factory: sessionmaker[Session],
) -> None:
    import asyncio
    from typing import Any

    from gatehouse.adapters.storage.db import transaction
    from gatehouse.adapters.storage.tables.scripts import QuotaCount
    from gatehouse.domain.permissions import Role
    from gatehouse.services import scripts as svc
    from gatehouse.services.dialler.clocks import run_virtual
    from gatehouse.services.dialler.harness import build_runtime

    author = svc.Actor("manager-1", frozenset({Role.CAMPAIGN_MANAGER}))
    officer = svc.Actor("security-1", frozenset({Role.SECURITY_OFFICER}))
    with transaction(session_factory) as s:
        v = svc.save_draft(s, author, QUOTA_SCRIPT)
        svc.submit(s, author, v.id)
        svc.decide(s, officer, v.id, approve=True, note="ok")
        svc.go_live(s, author, v.id)
    store = DiallerStore(session_factory)
    seed_synthetic_campaign(store, "q", contacts=50, config=CampaignConfig(), at=START)
    store.save_campaign("q", at=START, script_version_id=v.id)

    async def main(clock: Any) -> tuple[int, int]:
        runtime, network = build_runtime(store, clock, "q", agents=3)
        task = asyncio.ensure_future(runtime.run(until=START + 240))
        await clock.sleep(60)
        assert not runtime.quotas_full(clock.now())
        with transaction(session_factory) as s:  # the quota cells fill (as interviews would)
            for key, n in (("1", 2), ("2", 1)):
                row = s.get(QuotaCount, ("q", "age", key))
                if row is None:
                    s.add(QuotaCount(campaign_id="q", quota_id="age", cell_key=key, completes=n))
                else:
                    row.completes = max(row.completes, n)
        await clock.sleep(31)  # the runtime re-reads the counts every 30 s
        before = len(store.attempts("q"))
        await task
        await network.close()
        return before, len(store.attempts("q"))

    before, after = run_virtual(START, main)
    assert before > 0 and after == before, "no dial after every quota cell was full"
