"""Invariant 5: kill -9 of the dialler loses no outcome and dials nobody twice."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.dialler.killtest import live_example_script, run_kills, seed


@pytest.mark.slow
def test_sigkill_twenty_times_loses_nothing_and_never_double_dials(
    db_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    # the campaign runs the approved example script: bots save interviews at every step
    seed(session_factory, script_version_id=live_example_script(session_factory))
    log = tmp_path / "network-calls.jsonl"
    report = run_kills(db_url, session_factory, log, kills=20, rng=random.Random(2026))
    print(report)
    assert report.kills == 20
    assert report.calls > 50, report
    assert report.reconciled_unknown > 0, "the kills landed while calls were open"
    assert report.interviews > 0 and report.completed_interviews > 0, report
