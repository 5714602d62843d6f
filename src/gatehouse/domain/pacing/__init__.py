"""Pacers: how many new calls to place now. Pure, shared by the simulator and the runtime.

Every pacer implements :class:`Pacer`: ``decide(snapshot)`` returns the number of new calls
to start now (called on a ~1 s tick and whenever an agent comes free), and ``observe`` feeds
outcomes so model-based pacers learn online. Select by name with :func:`make_pacer`:
``preview``, ``progressive``, ``power:R``, ``vicidial[:MODE[:TARGET]]``,
``predictive[:MIN_AGENTS]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PacingSnapshot:
    now: float
    agents_logged_in: int  # logged in and not paused
    agents_ready: int  # idle, waiting for a call
    busy_elapsed: Sequence[float] = field(
        default_factory=tuple
    )  # per busy agent: seconds into talk+wrap
    calls_ringing: int = 0
    # per ringing call: seconds since it was dialled (optional; when it does not match
    # calls_ringing, a model-based pacer treats every ringing call as just dialled)
    ringing_elapsed: Sequence[float] = field(default_factory=tuple)
    calls_waiting: int = 0  # answered, waiting for an agent
    calls_live: int = 0  # connected to agents (VICIdial counts these in "existing calls")
    # compliance so far (the governing window: the worse of calendar day and rolling 24 h)
    live_calls: int = 0
    abandoned_calls: int = 0
    seconds_to_day_end: float = 86_400.0
    # the most new calls the dialler will place now (its hard abandon bound, decision 0045);
    # None: whatever the pacer asks. A pacer that learns from its own decisions must not
    # book calls beyond it as placed.
    max_new_calls: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    at: float
    # human: answered and sent to agents (a person, or a machine the dialler could not tell
    # from one: AMD off or a missed detection); machine: AMD's machine verdict (no agent);
    # busy | invalid | no_answer; handled: an agent finished a call (handle_s set)
    kind: str
    ring_s: float  # dial -> answer (or give-up)
    abandoned: bool = False
    handle_s: float | None = None  # talk + wrap of a completed live call


class Pacer(Protocol):
    name: str

    def decide(self, snapshot: PacingSnapshot) -> int: ...

    def observe(self, outcome: Outcome) -> None: ...


def make_pacer(spec: str, *, operating_target: float = 0.02, limit: float = 0.03) -> Pacer:
    from gatehouse.domain.pacing.basic import PowerPacer, PreviewPacer, ProgressivePacer
    from gatehouse.domain.pacing.predictive import SMALL_TEAM_MIN_AGENTS, PredictivePacer
    from gatehouse.domain.pacing.vicidial import VicidialPacer

    name, _, arg = spec.partition(":")
    if name == "preview":
        return PreviewPacer()
    if name == "progressive":
        return ProgressivePacer()
    if name == "power":
        return PowerPacer(float(arg or 1.5))
    if name == "vicidial":
        mode, _, target = arg.partition(":")
        return VicidialPacer(
            mode=(mode or "ADAPT_TAPERED").upper(),
            drop_target_pct=float(target) if target else limit * 100,
        )
    if name == "predictive":
        # predictive[:MIN_AGENTS]: the small-team fallback threshold (decision 0020)
        return PredictivePacer(
            operating_target=operating_target,
            limit=limit,
            min_agents=int(arg) if arg else SMALL_TEAM_MIN_AGENTS,
        )
    raise ValueError(f"unknown pacer {spec!r}: preview, progressive, power:R, vicidial, predictive")


PACER_NAMES = ("preview", "progressive", "power:1.5", "vicidial", "predictive")
