"""Shared by the kill -9 test and ``bench/killtest.py``: run a worker in a subprocess on an
accelerated clock against the simulated network, SIGKILL it at random moments, restart it,
and check the database against the network's own call log."""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.adapters.storage.tables.dialler import DialContact
from gatehouse.domain.dialler.config import CallOutcome, CampaignConfig
from gatehouse.services.dialler.harness import seed_synthetic_campaign
from gatehouse.services.dialler.simnet import read_call_log

START = 1_767_949_200.0  # 2026-01-09 09:00 UTC, a Friday inside the UK window
CAMPAIGN = "kill"
DELAYS = {
    CallOutcome.NO_ANSWER: 300.0,
    CallOutcome.BUSY: 120.0,
    CallOutcome.MACHINE: 3600.0,
    CallOutcome.ABANDONED: 72 * 3600.0,
    CallOutcome.NETWORK_FAILURE: 300.0,
    CallOutcome.UNKNOWN: 72 * 3600.0,
    CallOutcome.PARTIAL: 400.0,
}


@dataclass
class KillReport:
    kills: int = 0
    calls: int = 0
    attempts: int = 0
    reconciled_unknown: int = 0
    interviews: int = 0
    completed_interviews: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def seed(
    factory: sessionmaker[Session], contacts: int = 200, *, script_version_id: str | None = None
) -> DiallerStore:
    store = DiallerStore(factory)
    cfg = CampaignConfig(retry_delay_s=DELAYS, pacer="power:2", wrap_up_s=3.0)
    seed_synthetic_campaign(store, CAMPAIGN, contacts=contacts, config=cfg, at=START)
    if script_version_id is not None:
        store.save_campaign(CAMPAIGN, at=START, script_version_id=script_version_id)
    return store


def live_example_script(factory: sessionmaker[Session]) -> str:
    """The example script taken draft → approved → live through W1-C's service."""
    from gatehouse.adapters.storage.db import transaction
    from gatehouse.domain.permissions import Role
    from gatehouse.services import scripts as svc

    source = (Path(__file__).resolve().parents[3] / "examples" / "insurance-survey.yaml").read_text(
        encoding="utf-8"
    )
    author = svc.Actor("manager-1", frozenset({Role.CAMPAIGN_MANAGER}))
    officer = svc.Actor("security-1", frozenset({Role.SECURITY_OFFICER}))
    with transaction(factory) as s:
        version = svc.save_draft(s, author, source)
        svc.submit(s, author, version.id)
        svc.decide(s, officer, version.id, approve=True, note="ok")
        svc.go_live(s, author, version.id)
    return version.id


def _interviews(factory: sessionmaker[Session]) -> dict[str, tuple[str | None, int, str | None]]:
    """interview id → (outcome, answered steps, attempt id)."""
    import json

    from sqlalchemy import select

    from gatehouse.adapters.storage.tables.scripts import InterviewRecord

    with factory() as s:
        return {
            r.id: (r.outcome, len(json.loads(r.state_json)["history"]), r.attempt_id)
            for r in s.scalars(select(InterviewRecord))
        }


def _start(
    db_url: str,
    log: Path,
    anchor: float,
    speed: float,
    extra: list[str],
    *,
    worker_id: str = "w-kill",
) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "gatehouse.services.dialler.worker",
        "--db",
        db_url,
        "--campaign",
        CAMPAIGN,
        "--agents",
        "4",
        "--speed",
        str(speed),
        "--start",
        str(START),
        "--anchor",
        str(anchor),
        "--call-log",
        str(log),
        "--worker-id",
        worker_id,
        "--seed",
        str(random.randrange(1_000_000)),
        "--talk-median",
        "25",
        *extra,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_started(proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    assert proc.stdout is not None
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("started"):
            return
        if not line and proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"worker exited early: {err[-2000:]}")
    raise AssertionError("worker did not start")


def run_kills(
    db_url: str,
    factory: sessionmaker[Session],
    log: Path,
    *,
    kills: int,
    speed: float = 100.0,
    rng: random.Random | None = None,
) -> KillReport:
    rng = rng or random.Random(5)
    store = DiallerStore(factory)
    anchor = time.time()
    seen: dict[str, str] = {}
    seen_interviews: dict[str, tuple[str | None, int, str | None]] = {}
    report = KillReport()
    for _ in range(kills):
        proc = _start(db_url, log, anchor, speed, [])
        _wait_started(proc)
        time.sleep(rng.uniform(0.05, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        report.kills += 1
        # no outcome once written is ever lost or changed
        now = {a.attempt_id: a.outcome for a in store.attempts(CAMPAIGN)}
        for attempt_id, outcome in seen.items():
            assert now.get(attempt_id) == outcome, f"outcome of {attempt_id} lost or changed"
        seen = {k: v for k, v in now.items() if v is not None}
        # interview answers saved at every step: nothing answered is ever lost
        interviews = _interviews(factory)
        for iid, (outcome, steps, _att) in seen_interviews.items():
            got = interviews.get(iid)
            assert got is not None, f"interview {iid} lost"
            assert got[1] >= steps, f"interview {iid} lost answers"
            if outcome is not None:
                assert got[0] == outcome, f"finished interview {iid} changed"
        seen_interviews = interviews
    # a last run that stops cleanly reconciles what the last kill left open
    proc = _start(db_url, log, anchor, speed, ["--duration", "60"])
    _wait_started(proc)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    check_against_network(store, log, seen, report)
    # every attempt closed as complete has its completed interview
    interviews = _interviews(factory)
    by_attempt = {att: outcome for outcome, _n, att in interviews.values()}
    for a in store.attempts(CAMPAIGN):
        if a.outcome == CallOutcome.COMPLETE.value and interviews:
            assert by_attempt.get(a.attempt_id) == "complete", a.attempt_id
    report.interviews = len(interviews)
    report.completed_interviews = sum(1 for o, _n, _a in interviews.values() if o == "complete")
    return report


def check_against_network(
    store: DiallerStore, log: Path, seen: dict[str, str], report: KillReport
) -> None:
    calls = read_call_log(log)
    attempts = {a.attempt_id: a for a in store.attempts(CAMPAIGN)}
    report.calls = len(calls)
    report.attempts = len(attempts)
    # the engine never placed two calls for one attempt
    ids = [str(c["attempt_id"]) for c in calls]
    assert len(ids) == len(set(ids)), "an attempt was dialled twice"
    # every call the network received was an attempt committed before it was placed
    for c in calls:
        a = attempts.get(str(c["attempt_id"]))
        assert a is not None, f"network call {c['call_id']} has no attempt row"
        assert a.opened_at <= float(c["at"]) + 1e-6  # type: ignore[arg-type]
    # every attempt has an outcome; earlier outcomes survived
    for a in attempts.values():
        assert a.outcome is not None, f"attempt {a.attempt_id} left without an outcome"
    for attempt_id, outcome in seen.items():
        assert attempts[attempt_id].outcome == outcome
    # attempts the network never saw were reconciled (killed between commit and dial)
    dialled = set(ids)
    for a in attempts.values():
        if a.attempt_id not in dialled:
            assert a.outcome == CallOutcome.UNKNOWN.value, a.outcome
    # no number dialled again within the retry delay of the outcome of its previous dial
    cfg = store.campaign(CAMPAIGN).config
    by_contact: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for c in calls:
        by_contact[str(c["contact_ref"])].append((float(c["at"]), str(c["attempt_id"])))  # type: ignore[arg-type]
    for seq in by_contact.values():
        seq.sort()
        for (t0, a0), (t1, _a1) in itertools.pairwise(seq):
            outcome = CallOutcome(attempts[a0].outcome)
            if outcome == CallOutcome.CALLBACK:
                continue
            assert t1 - t0 >= cfg.retry_delay(outcome) - 1.0, (
                f"{attempts[a0].contact_ref} redialled {t1 - t0:.0f}s after {outcome.value}"
            )
    # counts reconcile exactly: per contact, the attempts counter equals the attempt rows
    rows: dict[str, int] = defaultdict(int)
    for a in attempts.values():
        rows[a.contact_ref] += 1
    with store._tx() as s:
        for contact in s.query(DialContact).filter(DialContact.campaign_id == CAMPAIGN):
            assert contact.attempts == rows.get(contact.contact_ref, 0), contact.contact_ref
            assert not contact.in_progress
    counts = store.counts(CAMPAIGN)
    assert counts.attempts == len(attempts) and counts.open_attempts == 0
    assert sum(counts.by_outcome.values()) == len(attempts)
    report.reconciled_unknown = sum(1 for a in attempts.values() if a.reconciled)
    report.outcomes = dict(counts.by_outcome)
