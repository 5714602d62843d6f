"""Several workers on one campaign: PostgreSQL shares it without double dialling;
SQLite refuses a second worker with a clear message."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.dialler import DiallerStore, WorkerRefused
from gatehouse.services.dialler.runtime import DiallerRuntime
from gatehouse.services.dialler.simnet import SimulatedNetwork
from gatehouse.telephony.clock import RealClock
from tests.conftest import ON_POSTGRES
from tests.e2e.dialler.killtest import (
    CAMPAIGN,
    KillReport,
    _start,
    _wait_started,
    check_against_network,
    seed,
)


@pytest.mark.slow
@pytest.mark.postgres_only
@pytest.mark.skipif(not ON_POSTGRES, reason="several workers need PostgreSQL")
def test_three_workers_share_a_campaign_without_double_dialling(
    db_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = seed(session_factory, contacts=150)
    random.seed(3)
    anchor = time.time()
    procs: list[subprocess.Popen[str]] = []
    logs = [tmp_path / f"calls-{i}.jsonl" for i in range(3)]
    for i, log in enumerate(logs):
        proc = _start(
            db_url,
            log,
            anchor,
            100.0,
            ["--duration", "400", "--agent-prefix", f"w{i}-bot"],
            worker_id=f"w-{i}",
        )
        procs.append(proc)
    for proc in procs:
        _wait_started(proc)
    for proc in procs:
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
    merged = tmp_path / "calls.jsonl"
    lines = [ln for log in logs for ln in log.read_text().splitlines()]
    merged.write_text("\n".join(lines) + "\n")
    report = KillReport()
    check_against_network(store, merged, {}, report)
    workers = {a.worker_id for a in store.attempts(CAMPAIGN)}
    assert workers == {"w-0", "w-1", "w-2"}, "every worker dialled"
    assert report.calls > 60


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite allows one worker per campaign")
def test_second_worker_on_sqlite_refuses_clearly(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = seed(session_factory, contacts=5)
    clock = RealClock()

    def runtime(worker: str) -> DiallerRuntime:
        net = SimulatedNetwork(clock, lambda ref: ref)
        return DiallerRuntime(
            store=store, engine=net, clock=clock, campaign_id=CAMPAIGN, worker_id=worker
        )

    runtime("first").start_worker()
    with pytest.raises(WorkerRefused, match="SQLite allows one dialler worker"):
        runtime("second").start_worker()
    # once the first stops, a second may start
    store.stop_worker("first")
    runtime("second").start_worker()
    assert isinstance(store, DiallerStore)
