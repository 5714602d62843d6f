"""Preview, progressive and power pacing: one rule each, no model."""

from __future__ import annotations

import math

from gatehouse.domain.pacing import Outcome, PacingSnapshot


class ProgressivePacer:
    """One line per free agent, never more calls in flight than free agents (no abandons)."""

    name = "progressive"

    def decide(self, snapshot: PacingSnapshot) -> int:
        return max(0, snapshot.agents_ready - snapshot.calls_ringing - snapshot.calls_waiting)

    def observe(self, outcome: Outcome) -> None:
        return None


class PreviewPacer(ProgressivePacer):
    """Progressive after the agent has read the record: the simulator adds the preview time."""

    name = "preview"
    preview_s = 8.0


class PowerPacer:
    """A fixed ratio of lines per free agent (``power:1.5``); no model, no abandon control."""

    def __init__(self, ratio: float) -> None:
        if not 1.0 <= ratio <= 5.0:
            raise ValueError("power ratio must be between 1 and 5")
        self.ratio = ratio
        self.name = f"power:{ratio:g}"

    def decide(self, snapshot: PacingSnapshot) -> int:
        goal = math.floor(self.ratio * snapshot.agents_ready)
        return max(0, goal - snapshot.calls_ringing - snapshot.calls_waiting)

    def observe(self, outcome: Outcome) -> None:
        return None
