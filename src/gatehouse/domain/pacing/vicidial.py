"""A port of VICIdial's adaptive pacing (AST_VDauto_dial.pl + AST_VDadapt.pl, 2.4 era).

Rules as read from the source and summarised in ../shared/reference/dialler.md §2.1:
- every 1 s (AST_VDauto_dial): ``goal = round(dial_level × agents)`` with agents = logged-in,
  non-paused; ``make = goal − existing calls`` (ringing + waiting + live).
- every 1 s a sample of ready agents and waiting calls; averages over the last 15 samples;
  ``differential = avg_ready − avg_waiting`` (AST_VDadapt main loop).
- every 15 s (calculate_dial_level): ``diff_target = differential + adaptive_dl_diff_target``;
  ``pct = 100 × diff_target / avg_agents``; intensity I = adaptive_intensity/100: down-steps
  ``pct × |I − 1|``, up-steps ``pct × (I + 1)``; ``level ×= 1 + pct/100``; clamp to
  [1.0, adaptive_maximum_level] (default 3.0).
- every 60 s (calculate_drops): drop % today = drops ÷ human-answered since midnight; panic
  brake: more than 20 calls in the last minute with more than 50 % dropped halves the level;
  with more than 50 calls today and drop % above ``adaptive_dropped_percentage``:
  ADAPT_HARD_LIMIT → level 1.0, ADAPT_AVERAGE → level / 2, ADAPT_TAPERED → level ×
  tapered_rate, ``tapered_rate = (latest_server_time − now_HHMM) / 1000`` capped at 1, and
  1.0 (progressive) after the latest time.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from gatehouse.domain.pacing import Outcome, PacingSnapshot

MODES = ("ADAPT_HARD_LIMIT", "ADAPT_AVERAGE", "ADAPT_TAPERED")


class VicidialPacer:
    def __init__(
        self,
        *,
        mode: str = "ADAPT_TAPERED",
        drop_target_pct: float = 3.0,
        maximum_level: float = 3.0,
        intensity: int = 0,
        dl_diff_target: float = 0.0,
        latest_server_time: int = 2100,
        timezone: str = "Europe/London",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        self.drop_target_pct = drop_target_pct
        self.maximum_level = maximum_level
        self.intensity = intensity / 100.0
        self.dl_diff_target = dl_diff_target
        self.latest_server_time = latest_server_time
        self.tz = ZoneInfo(timezone)
        self.name = f"vicidial:{mode.lower()}:{drop_target_pct:g}"
        self.level = 1.0
        self._samples: deque[tuple[int, int, int]] = deque(maxlen=15)
        self._last_sample = -1.0
        self._last_level = -1.0
        self._last_drops = -1.0
        self._day = ""
        self._answered_today = 0
        self._drops_today = 0
        self._minute: deque[tuple[float, bool]] = deque()

    # -- AST_VDauto_dial ------------------------------------------------------------------
    def decide(self, snapshot: PacingSnapshot) -> int:
        self._tick(snapshot)
        goal = round(self.level * snapshot.agents_logged_in)
        existing = snapshot.calls_ringing + snapshot.calls_waiting + snapshot.calls_live
        return max(0, goal - existing)

    def observe(self, outcome: Outcome) -> None:
        if outcome.kind != "human":
            return
        self._roll_day(outcome.at)
        self._answered_today += 1
        self._drops_today += outcome.abandoned
        self._minute.append((outcome.at, outcome.abandoned))

    # -- AST_VDadapt --------------------------------------------------------------------
    def _tick(self, s: PacingSnapshot) -> None:
        self._roll_day(s.now)
        if s.now - self._last_sample >= 1.0:
            self._samples.append((s.agents_ready, s.calls_waiting, s.agents_logged_in))
            self._last_sample = s.now
        if self._last_level < 0:
            self._last_level = self._last_drops = s.now
        if s.now - self._last_level >= 15.0:
            self._last_level = s.now
            self._calculate_dial_level()
        if s.now - self._last_drops >= 60.0:
            self._last_drops = s.now
            self._calculate_drops(s.now)

    def _calculate_dial_level(self) -> None:
        if not self._samples:
            return
        n = len(self._samples)
        avg_ready = sum(r for r, _, _ in self._samples) / n
        avg_waiting = sum(w for _, w, _ in self._samples) / n
        avg_agents = sum(a for _, _, a in self._samples) / n
        if avg_agents <= 0:
            return
        diff_target = (avg_ready - avg_waiting) + self.dl_diff_target
        pct = 100.0 * diff_target / avg_agents
        pct = pct * abs(self.intensity - 1) if pct < 0 else pct * (self.intensity + 1)
        self.level = min(self.maximum_level, max(1.0, self.level * (1 + pct / 100.0)))

    def _calculate_drops(self, now: float) -> None:
        while self._minute and now - self._minute[0][0] > 60.0:
            self._minute.popleft()
        calls_minute = len(self._minute)
        drops_minute = sum(1 for _, d in self._minute if d)
        if calls_minute > 20 and drops_minute > 0.5 * calls_minute:
            self.level = max(1.0, self.level / 2)
        if self._answered_today > 50:
            drop_pct = 100.0 * self._drops_today / self._answered_today
            if drop_pct > self.drop_target_pct:
                if self.mode == "ADAPT_HARD_LIMIT":
                    self.level = 1.0
                elif self.mode == "ADAPT_AVERAGE":
                    self.level = max(1.0, self.level / 2)
                else:
                    self.level = max(1.0, self.level * self.tapered_rate(now))

    def tapered_rate(self, now: float) -> float:
        local = datetime.fromtimestamp(now, tz=UTC).astimezone(self.tz)
        hhmm = local.hour * 100 + local.minute
        if hhmm >= self.latest_server_time:
            return 0.0  # after the latest time: back to 1.0 (progressive) via the clamp
        return min(1.0, (self.latest_server_time - hhmm) / 1000.0)

    def _roll_day(self, at: float) -> None:
        day = datetime.fromtimestamp(at, tz=UTC).astimezone(self.tz).date().isoformat()
        if day != self._day:
            self._day = day
            self._answered_today = 0
            self._drops_today = 0
