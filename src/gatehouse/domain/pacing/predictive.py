"""Gatehouse's predictive pacer: a forward model under an abandon budget with feedback.

At each decision it asks: if I start ``n`` more calls now, how many live answers ``X`` will
arrive in the next ring time, and how many agents ``Y`` will be free to take them?
- ``X = X_ringing + Binomial(n, p)`` with ``p`` the live-answer probability learned online
  (Beta prior, exponentially forgotten so a falling answer rate is followed within minutes).
  A call already ringing for ``e`` seconds counts with ``P(live | still ringing at e)`` from
  the ring times of recent outcomes (answer timing, decision 0023): most calls that have rung
  long are no-answers. Without ring ages in the snapshot every ringing call counts at ``p``.
- ``Y`` = ready agents + busy agents finishing within the expected ring time ``τ``: each busy
  agent with ``a`` seconds elapsed frees with ``P(H ≤ a + τ | H > a)`` from the empirical
  handle-time sample (a Poisson-binomial, by convolution).
- Expected abandons ``E[(X − Y)+]``; it dials the largest ``n`` with
  ``E[(X − Y)+] ≤ α · E[X]`` (never fewer than progressive, which cannot abandon).

``α`` is not the operating target: a per-decision target is not the rate you end up with. An
outer controller sets it from the budget that remains (``target × live − abandoned`` over the
live calls expected in the next quarter of an hour), so it tightens after abandons, loosens
when there is slack, tapers towards the end of the day, and starts conservative (α = target/4
until 50 live calls). Below ``min_agents`` (default 6) it runs progressive: with few agents one
abandon is a large share of the day (decision 0020).

Cost per decision (it runs on every tick and agent release, so it must be cheap): the
free-within-τ probabilities are one vectorised ``searchsorted`` over the busy agents; the
Poisson-binomial pmf of ``Y`` comes from its generating function at the roots of unity (one
FFT, exact to rounding, truncated where the tail mass is below 1e-20); and the marginal test
uses ``E[(X_{m+1} − Y)+] − E[(X_m − Y)+] = p·P(X_m ≥ Y)``, so every candidate ``n`` is one row
of a binomial tail table. Learned statistics (τ, handle-time order statistics, the recent
live-answer rate) are kept incrementally.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence

import numpy as np

from gatehouse.domain.pacing import Outcome, PacingSnapshot

LOOKAHEAD_S = 900.0
MATURE_S = 30.0
MAX_EXTRA = 200
RING_REBUILD = 100


# Fewer agents than this and the pacer dials progressively (decision 0020).
SMALL_TEAM_MIN_AGENTS = 6


class PredictivePacer:
    name = "predictive"
    uses_ring_ages = True  # reads PacingSnapshot.ringing_elapsed (decision 0023)
    # steers the abandon rate itself from the dialler's own counts (the budget outer loop,
    # progressive when one more abandon would breach): the runtime's worst-case cap on calls
    # beyond the free agents is not applied on top of it (decision 0045)
    budgets_abandons = True

    def __init__(
        self,
        *,
        operating_target: float = 0.02,
        limit: float = 0.03,
        min_agents: int = SMALL_TEAM_MIN_AGENTS,
        forget_s: float = 600.0,
        refresh_s: float = 2.0,
        calibration_s: float = 3600.0,
        kappa_min: float = 0.05,
        max_model_risk: float = 0.5,
        ramp_live_calls: float = 500.0,
        answer_timing: bool = True,
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
        self._ring_mean: float | None = None  # cache, None when the sample changed
        self._handle: deque[float] = deque(maxlen=2000)
        self._handle_sorted: list[float] = []  # the same sample, kept sorted
        self._handle_sum = 0.0
        self._sorted_handle: np.ndarray | None = None  # array view of _handle_sorted (cache)
        self._live_rate: deque[float] = deque(maxlen=2000)  # answer times of live calls
        # Answer timing: the ring times of recent dial outcomes, split into live answers (they
        # need an agent) and the rest, so a call still ringing after e seconds is weighed by
        # P(live | still ringing at e) instead of p (most calls that have rung long are
        # no-answers that will time out).
        self.answer_timing = answer_timing
        self._ring_outcomes: deque[tuple[float, bool]] = deque(maxlen=2000)
        # sorted (live, other) ring times; rebuilt after RING_REBUILD new outcomes (the shape
        # of ring times moves slowly; the level p is applied at every forecast)
        self._ring_split: tuple[np.ndarray, np.ndarray] | None = None
        self._ring_new = 0
        self._placed_since_refresh = 0
        self.last_alpha = 0.0
        self.alpha_cap = 4.0
        self._first_seen: float | None = None
        self._warm = False  # the handle-time sample is past its start-up bias (latched)
        # The forecast of agents free within τ is refreshed at most every refresh_s (and
        # when agents log in or out, or three have come free); between refreshes decisions
        # use it with corrections that can only make them stricter. 0 = every decision.
        self.refresh_s = refresh_s
        self._forecast: _Forecast | None = None
        # Calibration: abandons seen ÷ abandons the model predicted for the calls it placed
        # beyond the floor (both forgotten over calibration_s, with a prior of 2 ÷ 2), so a
        # model that is pessimistic for this traffic is trusted less (decision 0022).
        self.calibration_s = calibration_s
        self.kappa_min = kappa_min
        self.max_model_risk = max_model_risk
        self.ramp_live_calls = ramp_live_calls
        self._seen_abandons = 0.0
        self._predicted_abandons = 0.0  # matured predictions only (see _mature)
        self._pending: deque[tuple[float, float]] = deque()  # (placed at, predicted)
        self._calibrated_at: float | None = None

    # -- learning -----------------------------------------------------------------------
    def observe(self, outcome: Outcome) -> None:
        if outcome.handle_s is not None:
            if len(self._handle) == self._handle.maxlen:
                old = self._handle[0]
                del self._handle_sorted[bisect.bisect_left(self._handle_sorted, old)]
                self._handle_sum -= old
            self._handle.append(outcome.handle_s)
            bisect.insort(self._handle_sorted, outcome.handle_s)
            self._handle_sum += outcome.handle_s
            self._sorted_handle = None
            return
        self._forget(outcome.at)
        self._dials += 1
        self._ring_outcomes.append((outcome.ring_s, outcome.kind == "human"))
        self._ring_new += 1
        if outcome.abandoned:
            self._decay_calibration(outcome.at)
            self._seen_abandons += 1.0
        if outcome.kind == "human":
            self._hits += 1
            self._live_rate.append(outcome.at)
        if outcome.kind in ("human", "machine"):
            self._ring.append(outcome.ring_s)
            self._ring_mean = None

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

    def _mature(self, now: float) -> None:
        """A prediction counts once its calls could have abandoned (ring timeout, hold and
        the message deadline are all inside MATURE_S): booking it at dial time made kappa
        run ahead of the abandons it is compared with, fastest in a large team's first
        minutes."""
        while self._pending and now - self._pending[0][0] >= MATURE_S:
            at, predicted = self._pending.popleft()
            self._decay_calibration(at)
            self._predicted_abandons += predicted

    def _decay_calibration(self, now: float) -> None:
        if self._calibrated_at is not None and now > self._calibrated_at:
            decay = math.exp(-(now - self._calibrated_at) / self.calibration_s)
            self._seen_abandons *= decay
            self._predicted_abandons *= decay
        self._calibrated_at = now if self._calibrated_at is None else max(now, self._calibrated_at)

    @property
    def kappa(self) -> float:
        return self._kappa()

    def _kappa(self, now: float | None = None) -> float:
        """Abandons seen per abandon the model predicted (prior 1; clamped to [kappa_min, 3])."""
        if now is not None:
            self._mature(now)
        ratio = (self._seen_abandons + 2.0) / (self._predicted_abandons + 2.0)
        return min(3.0, max(self.kappa_min, ratio))

    @property
    def p_live(self) -> float:
        return min(0.95, max(0.01, self._hits / self._dials))

    def _tau(self) -> float:
        if self._ring_mean is None:
            self._ring_mean = math.fsum(self._ring) / len(self._ring) if self._ring else 8.0
        return self._ring_mean

    def _p_free_many(self, elapsed: np.ndarray, tau: float) -> np.ndarray:
        """P(a busy agent with ``elapsed`` seconds done frees within ``tau``), per agent."""
        n = len(self._handle)
        if n < 20:
            mean = self._handle_sum / n if n else 180.0
            # memoryless until there is history
            return np.full(len(elapsed), 1.0 - math.exp(-tau / mean))
        if self._sorted_handle is None:
            self._sorted_handle = np.array(self._handle_sorted)
        sample = self._sorted_handle
        k = len(elapsed)
        survive = n - np.searchsorted(sample, np.concatenate([elapsed, elapsed + tau]), "right")
        survive_a, survive_b = survive[:k], survive[k:]
        # already longer than any call seen: likely to end soon
        safe = np.maximum(survive_a, 1)
        probs: np.ndarray = np.where(survive_a <= 0, 0.9, 1.0 - survive_b / safe)
        return probs

    def _q_ringing(self, elapsed: np.ndarray) -> np.ndarray:
        """P(a call ringing for ``elapsed`` s will be a live answer), per call.

        ``p·S_live(e) / (p·S_live(e) + (1 − p)·S_other(e))`` with ``S`` the empirical survival
        of ring times of live answers and of all other outcomes (busy, invalid, no answer,
        machine verdicts), and ``p`` the (forgetful) live-answer rate. A just-dialled call
        gets ``p``; with too little history (or where fewer than 10 outcomes rang that long)
        a call gets ``p`` too, the old and stricter assumption.
        """
        p = self.p_live
        if len(self._ring_outcomes) < 200:
            return np.full(len(elapsed), p)
        if self._ring_split is None or self._ring_new >= RING_REBUILD:
            data = np.array(self._ring_outcomes)
            is_live = data[:, 1] > 0.5
            self._ring_split = (np.sort(data[is_live, 0]), np.sort(data[~is_live, 0]))
            self._ring_new = 0
        live, other = self._ring_split
        if len(live) < 20 or len(other) < 20:
            return np.full(len(elapsed), p)
        live_gt = len(live) - np.searchsorted(live, elapsed, "right")
        other_gt = len(other) - np.searchsorted(other, elapsed, "right")
        a = p * live_gt / len(live)
        b = (1.0 - p) * other_gt / len(other)
        q = np.where(live_gt + other_gt >= 10, a / np.maximum(a + b, 1e-12), p)
        bounded: np.ndarray = np.minimum(q, p)
        return bounded

    # -- deciding -----------------------------------------------------------------------
    def _alpha(self, s: PacingSnapshot) -> float:
        if self._first_seen is None:
            self._first_seen = s.now
        if not self._warm:
            # Early handle times are survivors of a short race (only short calls have ended):
            # forecasting from them would overdial (with 200 agents and 10 s machine calls, a
            # "2 × median of completed calls" test passed within two minutes and the first
            # hour's cumulative rate reached 20 %). Wait until the Kaplan-Meier estimate,
            # which counts the calls still going as censored, has seen its 90th percentile.
            if len(self._handle) < 100 or not _km_reaches(self._handle_sorted, s.busy_elapsed, 0.1):
                return 0.0
            self._warm = True
        if s.live_calls < 50:
            # No history: early outcomes are biased (busy and invalid resolve in seconds,
            # people in eight), and one abandon is a large share. Progressive until then.
            return 0.0
        if (s.abandoned_calls + 1) / (s.live_calls + 1) > self.limit:
            return 0.0  # one more abandon now would put the running rate over the limit
        while self._live_rate and s.now - self._live_rate[0] > 1800.0:
            self._live_rate.popleft()  # time only moves forward
        recent = len(self._live_rate)
        rate = recent / 1800.0
        horizon = min(LOOKAHEAD_S, max(60.0, s.seconds_to_day_end))
        expected = max(20.0, rate * horizon)
        budget = self.target * (s.live_calls + expected) - s.abandoned_calls
        # Ramp the cap in over the first few hundred live calls: right after the start-up
        # period one burst of abandons would be a large share of a small denominator.
        ramp = min(1.0, s.live_calls / self.ramp_live_calls)
        return max(0.0, min(self.alpha_cap * self.target * ramp, budget / expected))

    def decide(self, s: PacingSnapshot) -> int:
        floor = max(0, s.agents_ready - s.calls_ringing - s.calls_waiting)
        cap = s.max_new_calls
        if cap is not None:
            floor = min(floor, max(0, cap))
        if s.agents_logged_in < self.min_agents:
            self.last_alpha = 0.0
            return floor
        alpha = self.last_alpha = self._alpha(s)
        if alpha <= 0:
            self._forecast = None
            return floor
        removed = self._forecast.removed(s) if self._forecast is not None else 0
        if (
            self._forecast is None
            or s.now - self._forecast.at >= self.refresh_s
            or s.agents_logged_in != self._forecast.logged_in
            or removed >= 3
        ):
            self._forecast = self._refresh(s)
            self._placed_since_refresh = 0
            removed = 0
        forecast = self._forecast
        # Marginal test: the abandons the extra calls add must fit alpha of the live calls
        # they bring (calls already ringing were paid for when they were placed). Adding the
        # (m+1)-th call adds p·P(X_m ≥ Y) expected abandons, X_m ~ Binomial(m, p); so n calls
        # beyond the floor pass while sum_{j<n} P(X_{base+j} ≥ Y) ≤ (alpha / kappa)·n, kappa
        # the calibration (abandons seen per abandon predicted).
        # Y = (ready − waiting − agents freed since the forecast) + Y_busy: a freed agent is
        # not credited (it was counted as possibly free in Y_busy), an agent taken since is
        # not counted as possibly free: both only make the test stricter until the refresh.
        # With answer timing the calls ringing at the forecast are in its pmf (each weighed by
        # its chance of still becoming a live answer); the calls placed since count at p, and
        # calls resolved since stay counted: both only make the test stricter.
        if forecast.ringing_in is None:
            base = s.calls_ringing + floor
        else:
            base = self._placed_since_refresh + floor
        offset = s.agents_ready - s.calls_waiting - removed - forecast.shift
        extra = min(MAX_EXTRA, s.agents_logged_in)
        if cap is not None:
            # the dialler places no more than this: calls it would not place are neither
            # booked for calibration nor counted as ringing (decision 0045)
            extra = min(extra, max(0, cap - floor))
        # The threshold per extra call, in the model's own terms; never so loose that the test
        # passes whatever the model says (a call more likely than not to find no agent).
        threshold = min(self.max_model_risk, alpha / self._kappa(s.now))
        spent = accepted = 0.0
        placed = extra
        for j in range(extra):
            spent += forecast.p_excess_at_least(base + j, offset)
            if spent > threshold * (j + 1):
                placed = j
                break
            accepted = spent
        if placed:
            self._pending.append((s.now, forecast.p * accepted))
        self._placed_since_refresh += floor + placed
        return floor + placed

    def _refresh(self, s: PacingSnapshot) -> _Forecast:
        tau = self._tau()
        elapsed = np.asarray(s.busy_elapsed, dtype=float)
        probs = self._p_free_many(elapsed, tau)
        probs = probs[probs > 0.0]
        ringing_in: int | None = None
        shift = 0
        if self.answer_timing and len(s.ringing_elapsed) == s.calls_ringing:
            # W = Y_busy − X_ringing, stored shifted by R (the ringing calls that may answer)
            # so it starts at 0: W + R = Y_busy + sum of Bernoulli(1 − q), one Poisson-binomial;
            # P(X_new − W ≥ d) = P(X_new − (W + R) ≥ d − R).
            ages = np.fromiter(s.ringing_elapsed, dtype=float, count=s.calls_ringing)
            q = self._q_ringing(ages)
            q = q[q > 0.0]
            shift = len(q)
            probs = np.concatenate([probs, 1.0 - q])
            ringing_in = s.calls_ringing
        y_busy = _poisson_binomial(probs)
        return _Forecast(
            at=s.now,
            logged_in=s.agents_logged_in,
            busy=len(elapsed),
            p=self.p_live,
            y_busy=y_busy,
            ringing_in=ringing_in,
            shift=shift,
        )


class _Forecast:
    """The model at one moment: the pmf of busy agents free within τ, and p.

    With answer timing, ``y_busy`` is the pmf of ``Y_busy − X_ringing + shift`` (the calls
    ringing at the forecast folded in, shifted to start at 0); callers subtract ``shift``
    from ``d``.

    ``p_excess_at_least(m, d)`` is ``P(X_m − Y_busy ≥ d)`` with ``X_m ~ Binomial(m, p)``, which
    equals ``P(X_m ≥ max(0, Y_busy + d))`` (X ≥ 0), i.e. the chance the m-th call's live answer
    finds no agent when ``d`` agents are surely free; rows are computed once per ``m``.
    """

    __slots__ = ("_rows", "at", "busy", "logged_in", "p", "ringing_in", "shift", "y_busy")

    def __init__(
        self,
        *,
        at: float,
        logged_in: int,
        busy: int,
        p: float,
        y_busy: np.ndarray,
        ringing_in: int | None = None,
        shift: int = 0,
    ) -> None:
        self.at = at
        self.ringing_in = ringing_in  # calls ringing folded into y_busy (None: none)
        self.shift = shift
        self.logged_in = logged_in
        self.busy = busy
        self.p = p
        self.y_busy = y_busy
        self._rows: dict[int, np.ndarray] = {}

    def removed(self, s: PacingSnapshot) -> int:
        """Agents busy at the forecast and no longer busy (at least; never too few)."""
        since = s.now - self.at + 1e-6
        started_since = sum(1 for e in s.busy_elapsed if e <= since)
        return max(0, self.busy - (len(s.busy_elapsed) - started_since))

    def p_excess_at_least(self, m: int, d: int) -> float:
        i = d + len(self.y_busy) - 1  # index of the value d in a row
        if i <= 0:
            return 1.0
        row = self._row(m)
        return float(row[i]) if i < len(row) else 0.0

    def _row(self, m: int) -> np.ndarray:
        """Upper tails of X_m − Y_busy over its values −(len(y)−1) .. m."""
        row = self._rows.get(m)
        if row is not None:
            return row
        below = self._rows.get(m - 1)
        if below is not None:
            # X_m = X_{m−1} + Bernoulli(p): tail_m(v) = (1−p)·tail_{m−1}(v) + p·tail_{m−1}(v−1)
            p = self.p
            row = (1.0 - p) * np.append(below, 0.0) + p * np.concatenate(([1.0], below))
        else:
            diff = np.convolve(_binomial_pmf(m, self.p), self.y_busy[::-1])
            row = np.cumsum(diff[::-1])[::-1]
        self._rows[m] = row
        return row


def _km_reaches(completed: list[float], censored: Sequence[float], level: float) -> bool:
    """Does the Kaplan-Meier survival of handle times (completed calls as events, calls
    still going as censored at their elapsed time) fall to ``level`` within the data, while
    enough calls are still at risk (a single call longer than all censored ones would
    otherwise take the estimate to 0)?"""
    times = np.concatenate([np.asarray(completed, float), np.asarray(censored, float)])
    events = np.concatenate([np.ones(len(completed)), np.zeros(len(censored))])
    order = np.lexsort((1.0 - events, times))  # at equal times, events before censorings
    at_risk = len(times) - np.arange(len(times))
    survival = np.cumprod(1.0 - events[order] / at_risk)
    supported = at_risk >= max(10.0, 0.05 * len(times))
    return bool(np.any(survival[supported] <= level))


_LOG_FACT = np.zeros(1)


def _log_factorials(n: int) -> np.ndarray:
    """log(k!) for k = 0..n (a module-level table, grown on demand)."""
    global _LOG_FACT
    if len(_LOG_FACT) <= n:
        size = max(n + 1, 2 * len(_LOG_FACT))
        _LOG_FACT = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, size)))])
    return _LOG_FACT


def _binomial_pmf(n: int, p: float) -> np.ndarray:
    """Binomial(n, p) pmf over 0..n, from a log-factorial table."""
    lf = _log_factorials(n)
    k = np.arange(n + 1)
    pmf: np.ndarray = np.exp(lf[n] - lf[k] - lf[n - k] + k * math.log(p) + (n - k) * math.log1p(-p))
    return pmf


def _poisson_binomial(probs: np.ndarray) -> np.ndarray:
    """pmf of a sum of independent Bernoulli(probs) over 0..len (rounding-level exact).

    Evaluates the generating function prod(1 - p + p·z) at the roots of unity and inverts
    with one real FFT. Values above mean + 10 sd + 40 (tail mass < 1e-20) are dropped, which
    keeps the transform small with many agents; aliasing error is below that tail mass.
    """
    n = len(probs)
    if n == 0:
        return np.ones(1)
    mean = float(probs.sum())
    sd = math.sqrt(float((probs * (1.0 - probs)).sum()))
    size = min(n + 1, math.ceil(mean + 10.0 * sd + 40.0))
    roots = np.exp(2j * np.pi * np.arange(size // 2 + 1) / size)
    gf = np.prod(1.0 - probs[:, None] + probs[:, None] * roots[None, :], axis=0)
    pmf: np.ndarray = np.maximum(np.fft.irfft(np.conj(gf), size), 0.0)
    return pmf


def _expected_excess(x: np.ndarray, y: np.ndarray) -> float:
    """E[(X − Y)+] for independent X, Y given as pmfs over 0..len-1 (the reference the fast
    marginal test is checked against)."""
    xs = np.arange(len(x))
    ys = np.arange(len(y))
    diff = np.maximum(xs[:, None] - ys[None, :], 0)
    return float((x[:, None] * y[None, :] * diff).sum())
