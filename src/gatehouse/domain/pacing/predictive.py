"""Gatehouse's predictive pacer: a forward model under an abandon budget with feedback.

At each decision it asks: if I start ``n`` more calls now, how many live answers ``X`` will
arrive in the next ring time, and how many agents ``Y`` will be free to take them?
- ``X ~ Binomial(ringing + n, p)`` with ``p`` the live-answer probability learned online
  (Beta prior, exponentially forgotten so a falling answer rate is followed within minutes).
- ``Y`` = ready agents + busy agents finishing within the expected ring time ``τ``: each busy
  agent with ``a`` seconds elapsed frees with ``P(H ≤ a + τ | H > a)`` from the empirical
  handle-time sample (a Poisson-binomial, by convolution).
- Expected abandons ``E[(X − Y)+]``; it dials the largest ``n`` with
  ``E[(X − Y)+] ≤ α · E[X]`` (never fewer than progressive, which cannot abandon).

``α`` is not the operating target: a per-decision target is not the rate you end up with. An
outer controller sets it from the budget that remains (``target × live − abandoned`` over the
live calls expected in the next quarter of an hour), so it tightens after abandons, loosens
when there is slack, tapers towards the end of the day, and starts conservative (α = target/4
until 50 live calls). Below ``min_agents`` (default 5) it runs progressive: with few agents one
abandon is a large share of the day (decision 0020).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from gatehouse.domain.pacing import Outcome, PacingSnapshot

LOOKAHEAD_S = 900.0
MAX_EXTRA = 200


class PredictivePacer:
    name = "predictive"

    def __init__(
        self,
        *,
        operating_target: float = 0.02,
        limit: float = 0.03,
        min_agents: int = 5,
        forget_s: float = 600.0,
    ) -> None:
        if not 0 < operating_target <= limit:
            raise ValueError("operating target must be positive and at most the limit")
        self.target = operating_target
        self.limit = limit
        self.min_agents = min_agents
        self.forget_s = forget_s
        self._hits = 1.0  # Beta(1, 3) prior: p ≈ 0.25 until data arrives
        self._dials = 4.0
        self._last_update = 0.0
        self._ring: deque[float] = deque(maxlen=400)
        self._handle: deque[float] = deque(maxlen=2000)
        self._sorted_handle: np.ndarray | None = None
        self._live_rate: deque[float] = deque(maxlen=2000)  # answer times of live calls
        self.last_alpha = 0.0
        self.alpha_cap = 4.0
        self._first_seen: float | None = None

    # -- learning -----------------------------------------------------------------------
    def observe(self, outcome: Outcome) -> None:
        if outcome.handle_s is not None:
            self._handle.append(outcome.handle_s)
            self._sorted_handle = None
            return
        self._forget(outcome.at)
        self._dials += 1
        if outcome.kind == "human":
            self._hits += 1
            self._live_rate.append(outcome.at)
        if outcome.kind in ("human", "machine"):
            self._ring.append(outcome.ring_s)

    def _forget(self, now: float) -> None:
        if self._last_update:
            decay = math.exp(-max(0.0, now - self._last_update) / self.forget_s)
            self._hits *= decay
            self._dials *= decay
            if self._dials < 4.0:  # keep at least a prior's weight: one call cannot swing p
                scale = 4.0 / self._dials
                self._hits *= scale
                self._dials = 4.0
        self._last_update = now

    @property
    def p_live(self) -> float:
        return min(0.95, max(0.01, self._hits / self._dials))

    def _tau(self) -> float:
        return float(np.mean(self._ring)) if self._ring else 8.0

    def _p_free_within(self, elapsed: float, tau: float) -> float:
        if len(self._handle) < 20:
            mean = float(np.mean(self._handle)) if self._handle else 180.0
            return 1.0 - math.exp(-tau / mean)  # memoryless until there is history
        if self._sorted_handle is None:
            self._sorted_handle = np.sort(np.fromiter(self._handle, dtype=float))
        sample = self._sorted_handle
        n = len(sample)
        survive_a = n - np.searchsorted(sample, elapsed, side="right")
        if survive_a <= 0:
            return 0.9  # already longer than any call seen: likely to end soon
        survive_b = n - np.searchsorted(sample, elapsed + tau, side="right")
        return float(1.0 - survive_b / survive_a)

    # -- deciding -----------------------------------------------------------------------
    def _alpha(self, s: PacingSnapshot) -> float:
        if self._first_seen is None:
            self._first_seen = s.now
        if len(self._handle) < 100 or s.now - self._first_seen < 2.0 * float(
            np.median(self._handle)
        ):
            # Early handle times are survivors of a short race (only short calls have ended):
            # forecasting from them would overdial. Wait for an unbiased sample.
            return 0.0
        if s.live_calls < 50:
            # No history: early outcomes are biased (busy and invalid resolve in seconds,
            # people in eight), and one abandon is a large share. Progressive until then.
            return 0.0
        if (s.abandoned_calls + 1) / (s.live_calls + 1) > self.limit:
            return 0.0  # one more abandon now would put the running rate over the limit
        recent = [t for t in self._live_rate if s.now - t <= 1800.0]
        rate = len(recent) / 1800.0 if recent else 0.0
        horizon = min(LOOKAHEAD_S, max(60.0, s.seconds_to_day_end))
        expected = max(20.0, rate * horizon)
        budget = self.target * (s.live_calls + expected) - s.abandoned_calls
        # Ramp the cap in over the first few hundred live calls: right after the start-up
        # period one burst of abandons would be a large share of a small denominator.
        ramp = min(1.0, s.live_calls / 500.0)
        return max(0.0, min(self.alpha_cap * self.target * ramp, budget / expected))

    def decide(self, s: PacingSnapshot) -> int:
        floor = max(0, s.agents_ready - s.calls_ringing - s.calls_waiting)
        if s.agents_logged_in < self.min_agents:
            self.last_alpha = 0.0
            return floor
        alpha = self.last_alpha = self._alpha(s)
        if alpha <= 0:
            return floor
        tau = self._tau()
        # Y: agents free when the calls answer (ready now, or finishing within tau).
        y = np.array([1.0])
        probs = [self._p_free_within(a, tau) for a in s.busy_elapsed]
        for p in probs:
            y = np.convolve(y, [1.0 - p, p])
        y = _shift(y, s.agents_ready - s.calls_waiting)
        p_live = self.p_live
        best = floor
        # Marginal test: the abandons the extra calls add must fit alpha of the live calls
        # they bring (calls already ringing were paid for when they were placed).
        base = (
            _expected_excess(_binomial(s.calls_ringing + floor, p_live), y)
            if s.calls_ringing + floor
            else 0.0
        )
        for n in range(floor + 1, floor + 1 + min(MAX_EXTRA, s.agents_logged_in)):
            x = _binomial(s.calls_ringing + n, p_live)
            added = _expected_excess(x, y) - base
            if added > alpha * (n - floor) * p_live:
                break
            best = n
        return best


def _binomial(n: int, p: float) -> np.ndarray:
    k = np.arange(n + 1)
    log_pmf = (
        np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in k])
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )
    pmf: np.ndarray = np.exp(log_pmf)
    return pmf


def _shift(dist: np.ndarray, offset: int) -> np.ndarray:
    """Distribution of Y + offset, with values below 0 clipped to 0 (as an array from 0)."""
    if offset >= 0:
        return np.concatenate([np.zeros(offset), dist])
    clipped = dist.copy()
    head = clipped[: -offset + 1].sum()
    clipped = clipped[-offset:]
    clipped[0] = head
    return clipped


def _expected_excess(x: np.ndarray, y: np.ndarray) -> float:
    """E[(X − Y)+] for independent X, Y given as pmfs over 0..len-1."""
    xs = np.arange(len(x))
    ys = np.arange(len(y))
    diff = np.maximum(xs[:, None] - ys[None, :], 0)
    return float((x[:, None] * y[None, :] * diff).sum())
