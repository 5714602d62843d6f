"""Simulated respondents: reproducible, always valid, and resumable like real interviews."""

from __future__ import annotations

from pathlib import Path

from gatehouse.domain.scripts.model import InterviewOutcome, load_script
from gatehouse.domain.scripts.persona import COOPERATIVE, RELUCTANT, simulate
from gatehouse.domain.scripts.runner import Interview

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "insurance-survey.yaml"


def test_personas_are_reproducible_finish_and_resume() -> None:
    script = load_script(EXAMPLE.read_text(encoding="utf-8"))
    outcomes = set()
    for seed in range(200):
        persona = RELUCTANT if seed % 3 == 0 else COOPERATIVE
        first = simulate(script, seed=seed, persona=persona, contact={"first_name": "Sam"})
        again = simulate(script, seed=seed, persona=persona, contact={"first_name": "Sam"})
        assert first.finished and first.state == again.state
        outcomes.add(first.outcome)
        resumed = Interview.resume(script, first.state, contact={"first_name": "Sam"})
        assert resumed.state == first.state
    assert {InterviewOutcome.COMPLETE, InterviewOutcome.SCREENED_OUT} <= outcomes


def test_quota_full_ends_the_interview() -> None:
    script = load_script(EXAMPLE.read_text(encoding="utf-8"))
    runs = [simulate(script, seed=s, quota_is_full=lambda _q, _c: True) for s in range(60)]
    assert InterviewOutcome.QUOTA_FULL in {r.outcome for r in runs}
    for run in runs:
        if run.outcome == InterviewOutcome.COMPLETE:
            # only people outside every cell complete: they refused their age band or nation
            assert -9 in (run.answers.get("age_band"), run.answers.get("nation"))
