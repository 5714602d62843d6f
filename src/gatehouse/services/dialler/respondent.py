"""Simulated respondents on dialler calls: W1-C's persona-driven respondent through the one
interview runner (``domain.scripts.persona.simulate``), and the mapping from the runner's
outcome to the dialler's disposition."""

from __future__ import annotations

from gatehouse.domain.dialler.config import CallOutcome
from gatehouse.domain.scripts.model import InterviewOutcome, Script
from gatehouse.domain.scripts.persona import COOPERATIVE, RELUCTANT, simulate
from gatehouse.domain.scripts.runner import Interview

_DISPOSITION = {
    InterviewOutcome.COMPLETE: CallOutcome.COMPLETE,
    InterviewOutcome.SCREENED_OUT: CallOutcome.NOT_ELIGIBLE,
    InterviewOutcome.QUOTA_FULL: CallOutcome.QUOTA_FULL,
    InterviewOutcome.BREAK_OFF: CallOutcome.PARTIAL,
    InterviewOutcome.REFUSED: CallOutcome.REFUSED,
}


def disposition_for(outcome: InterviewOutcome) -> CallOutcome:
    return _DISPOSITION[outcome]


def run_interview(
    script: Script, *, seed: int, contact: dict[str, str], reluctant: bool = False
) -> Interview:
    """One whole interview answered by a simulated person (seeded, reproducible)."""
    return simulate(
        script, seed=seed, persona=RELUCTANT if reluctant else COOPERATIVE, contact=contact
    )
