"""Pacers: rules checked against hand-computed steps."""

from __future__ import annotations

import pytest

from gatehouse.domain.pacing import Outcome, PacingSnapshot, make_pacer
from gatehouse.domain.pacing.predictive import PredictivePacer, _expected_excess
from gatehouse.domain.pacing.vicidial import VicidialPacer

T0 = 1_772_470_800.0  # 17:00 UTC (17:00 London in March)


def snap(t: float, **kw: object) -> PacingSnapshot:
    base = {"now": t, "agents_logged_in": 10, "agents_ready": 0}
    base.update(kw)
    return PacingSnapshot(**base)  # type: ignore[arg-type]


def test_progressive_is_one_line_per_free_agent() -> None:
    pacer = make_pacer("progressive")
    assert pacer.decide(snap(T0, agents_ready=4, calls_ringing=1)) == 3
    assert pacer.decide(snap(T0, agents_ready=1, calls_ringing=3)) == 0


def test_power_dials_a_ratio_per_free_agent() -> None:
    assert make_pacer("power:2").decide(snap(T0, agents_ready=3, calls_ringing=1)) == 5


def test_vicidial_goal_is_level_times_agents_minus_existing_calls() -> None:
    pacer = VicidialPacer()
    pacer.level = 2.0
    # goal = round(2.0 * 10) = 20; existing = 5 ringing + 1 waiting + 8 live = 14
    assert pacer.decide(snap(T0, calls_ringing=5, calls_waiting=1, calls_live=8)) == 6


def test_vicidial_dial_level_step_by_hand() -> None:
    pacer = VicidialPacer(intensity=0)
    # 15 one-second samples: 3 ready, 1 waiting, 10 agents -> differential 2
    for i in range(16):
        pacer.decide(snap(T0 + i, agents_ready=3, calls_waiting=1))
    # pct = 100 * 2 / 10 = 20 %; level 1.0 * 1.2 = 1.2
    assert pacer.level == pytest.approx(1.2)


def test_vicidial_intensity_slows_down_steps() -> None:
    pacer = VicidialPacer(intensity=20)
    pacer.level = 2.0
    for i in range(16):
        pacer.decide(snap(T0 + i, agents_ready=0, calls_waiting=2))
    # pct = -20 %; down-step scaled by |0.2 - 1| = 0.8 -> -16 %; 2.0 * 0.84 = 1.68
    assert pacer.level == pytest.approx(1.68)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("ADAPT_HARD_LIMIT", 1.0), ("ADAPT_AVERAGE", 1.25), ("ADAPT_TAPERED", 2.5 * 0.4)],
)
def test_vicidial_drop_rules(mode: str, expected: float) -> None:
    pacer = VicidialPacer(mode=mode, drop_target_pct=3.0)
    pacer.level = 2.5
    pacer.decide(snap(T0))  # starts the 15 s / 60 s clocks
    for i in range(60):  # 60 answered today, 3 dropped = 5 % > 3 %
        pacer.observe(Outcome(T0 + i * 0.5, "human", 8.0, abandoned=i < 3))
    pacer._samples.clear()
    pacer._calculate_drops(T0 + 61)
    # ADAPT_TAPERED at 17:00: tapered_rate = (2100 - 1700) / 1000 = 0.4; clamp >= 1.0
    assert pacer.level == pytest.approx(max(1.0, expected))


def test_predictive_never_dials_fewer_than_progressive_and_starts_progressive() -> None:
    pacer = PredictivePacer()
    s = snap(T0, agents_ready=6, calls_ringing=2, live_calls=10)
    assert pacer.decide(s) == 4  # no history: progressive


def test_predictive_overdials_with_history_and_slack() -> None:
    pacer = PredictivePacer()
    for i in range(400):
        pacer.observe(Outcome(T0 + i, "human" if i % 3 == 0 else "no_answer", 8.0))
    for _ in range(150):
        pacer.observe(Outcome(T0 + 400, "handled", 8.0, handle_s=160.0))
    pacer.decide(snap(T0, agents_ready=0))  # the pacer has been running since T0
    s = snap(
        T0 + 400,
        agents_ready=2,
        calls_ringing=0,
        busy_elapsed=(155.0,) * 8,
        live_calls=300,
        abandoned_calls=2,
    )
    assert pacer.decide(s) > 2


def test_predictive_falls_back_to_progressive_for_small_teams() -> None:
    pacer = PredictivePacer(min_agents=5)
    s = snap(T0, agents_logged_in=4, agents_ready=2, live_calls=500)
    assert pacer.decide(s) == 2


def test_five_agents_dial_progressively_by_default() -> None:
    # Decision 0020: at 5 agents predictive's gain was inside the seed noise, its abandons not.
    def decide(logged_in: int, busy: int) -> int:
        pacer = make_pacer("predictive")
        for i in range(400):
            pacer.observe(Outcome(T0 + i, "human" if i % 3 == 0 else "no_answer", 8.0))
        for _ in range(150):
            pacer.observe(Outcome(T0 + 400, "handled", 8.0, handle_s=160.0))
        pacer.decide(snap(T0, agents_ready=0))
        s = snap(
            T0 + 400,
            agents_logged_in=logged_in,
            agents_ready=2,
            calls_ringing=0,
            busy_elapsed=(155.0,) * busy,
            live_calls=300,
            abandoned_calls=2,
        )
        return pacer.decide(s)

    assert decide(5, 3) == 2
    assert decide(6, 4) > 2
    assert make_pacer("predictive:5").min_agents == 5  # type: ignore[attr-defined]


def test_predictive_stops_overdialling_when_the_budget_is_spent() -> None:
    pacer = PredictivePacer()
    s = snap(T0, agents_ready=3, live_calls=200, abandoned_calls=7)  # 3.5 %: no slack
    assert pacer.decide(s) == 3


def test_expected_excess_by_hand() -> None:
    # X in {0,1,2} uniform, Y = 1 surely: E[(X-Y)+] = (1/3)*1 = 1/3
    import numpy as np

    assert _expected_excess(np.array([1, 1, 1]) / 3, np.array([0.0, 1.0])) == pytest.approx(1 / 3)


# -- the fast evaluation against the brute-force model -----------------------------------


def _reference_decide(pacer: PredictivePacer, s: PacingSnapshot) -> int:
    """The model evaluated the slow, obvious way: Y by repeated convolution, E[(X − Y)+] for
    every candidate n by the full outer sum (the pacer's original implementation)."""
    import math

    import numpy as np

    def binomial(n: int, p: float) -> np.ndarray:
        k = np.arange(n + 1)
        logc = np.array(
            [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in k]
        )
        return np.exp(logc + k * math.log(p) + (n - k) * math.log1p(-p))

    def shift(dist: np.ndarray, offset: int) -> np.ndarray:
        if offset >= 0:
            return np.concatenate([np.zeros(offset), dist])
        clipped = dist.copy()
        head = clipped[: -offset + 1].sum()
        clipped = clipped[-offset:]
        clipped[0] = head
        return clipped

    floor = max(0, s.agents_ready - s.calls_ringing - s.calls_waiting)
    alpha = pacer._alpha(s)
    if alpha <= 0:
        return floor
    y = np.array([1.0])
    for p in pacer._p_free_many(np.asarray(s.busy_elapsed, dtype=float), pacer._tau()):
        y = np.convolve(y, [1.0 - p, p])
    y = shift(y, s.agents_ready - s.calls_waiting)
    p_live = pacer.p_live
    ringing = s.calls_ringing
    base = _expected_excess(binomial(ringing + floor, p_live), y) if ringing + floor else 0.0
    best = floor
    for n in range(floor + 1, floor + 1 + min(200, s.agents_logged_in)):
        added = _expected_excess(binomial(ringing + n, p_live), y) - base
        if added > alpha * (n - floor) * p_live:
            break
        best = n
    return best


def _trained(refresh_s: float, seed: int) -> PredictivePacer:
    import random

    rng = random.Random(seed)
    pacer = PredictivePacer(refresh_s=refresh_s)
    for i in range(600):
        kind = "human" if rng.random() < 0.3 else rng.choice(["no_answer", "busy", "machine"])
        pacer.observe(Outcome(T0 + i, kind, rng.uniform(3, 20)))
    for _ in range(300):
        pacer.observe(Outcome(T0 + 600, "handled", 0.0, handle_s=rng.lognormvariate(5.0, 0.6)))
    pacer.decide(snap(T0, agents_ready=0))  # running since T0
    return pacer


def test_poisson_binomial_matches_repeated_convolution() -> None:
    import numpy as np

    from gatehouse.domain.pacing.predictive import _poisson_binomial

    rng = np.random.default_rng(3)
    for n in (0, 1, 7, 60, 400):
        probs = rng.random(n) * rng.choice([0.05, 0.5, 1.0])
        expected = np.array([1.0])
        for p in probs:
            expected = np.convolve(expected, [1.0 - p, p])
        got = _poisson_binomial(probs)
        assert abs(got.sum() - 1.0) < 1e-9
        assert np.abs(got - expected[: len(got)]).max() < 1e-12
        assert expected[len(got) :].sum() < 1e-15  # only a negligible tail is dropped


def test_fast_decision_equals_the_brute_force_model() -> None:
    import random

    rng = random.Random(11)
    overdialled = 0
    for case in range(150):
        pacer = _trained(0.0, case)
        agents = rng.choice([5, 10, 20, 50])
        ready = rng.randint(0, agents // 3)
        s = snap(
            T0 + 900 + case,
            agents_logged_in=agents,
            agents_ready=ready,
            busy_elapsed=tuple(rng.uniform(0, 400) for _ in range(agents - ready)),
            calls_ringing=rng.randint(0, agents // 2),
            calls_waiting=rng.randint(0, 2),
            live_calls=rng.randint(200, 2000),
            abandoned_calls=rng.randint(0, 20),
        )
        expected = _reference_decide(_trained(0.0, case), s)
        assert pacer.decide(s) == expected, (case, s)
        overdialled += expected > max(0, ready - s.calls_ringing - s.calls_waiting)
    assert overdialled > 20  # the cases exercise the model, not only the progressive floor


def test_between_refreshes_decisions_are_never_bolder_than_a_fresh_forecast() -> None:
    """Agents freed or taken and calls resolved since the forecast: the cached forecast (with
    its corrections) never dials more than a fresh one would at that moment. (Time passing is
    not covered: the forecast's own staleness is bounded by refresh_s.)"""
    import random

    rng = random.Random(5)
    for case in range(100):
        agents = rng.choice([10, 20, 50])
        ready = rng.randint(0, 3)
        elapsed = [rng.uniform(5, 400) for _ in range(agents - ready)]
        first = snap(
            T0 + 900,
            agents_logged_in=agents,
            agents_ready=ready,
            busy_elapsed=tuple(elapsed),
            calls_ringing=rng.randint(0, agents // 3),
            live_calls=1000,
            abandoned_calls=5,
        )
        cached = _trained(2.0, case)
        cached.decide(first)  # forecast taken here
        # Events at the same moment: some agents came free, some took calls, ringing changed.
        freed = rng.randint(0, 2)
        taken = rng.randint(0, min(2, ready + freed))
        later_elapsed = elapsed[freed:] + [0.0] * taken
        later = snap(
            T0 + 900,
            agents_logged_in=agents,
            agents_ready=ready + freed - taken,
            busy_elapsed=tuple(later_elapsed),
            calls_ringing=max(0, first.calls_ringing + rng.randint(-3, 2)),
            live_calls=1000,
            abandoned_calls=5,
        )
        fresh = _trained(0.0, case)
        fresh.decide(first)
        assert cached.decide(later) <= fresh.decide(later), case


# -- calibration (decision 0022) ---------------------------------------------------------


def _busy_team() -> PacingSnapshot:
    return snap(
        T0 + 3000,
        agents_logged_in=50,
        agents_ready=10,
        busy_elapsed=tuple(30.0 + 5 * i for i in range(40)),
        calls_ringing=20,
        live_calls=1000,
        abandoned_calls=10,
    )


def _place_and_report(pacer: PredictivePacer, abandons_per_prediction: float) -> None:
    """Run decisions for an hour, reporting abandons at the given multiple of what the model
    predicted for the calls it placed beyond the floor."""
    owed = 0.0
    for k in range(600):
        t = T0 + 900 + 6 * k
        before = pacer._predicted_abandons
        pacer.decide(
            snap(
                t,
                agents_logged_in=50,
                agents_ready=10,
                busy_elapsed=tuple(30.0 + 5 * i for i in range(40)),
                calls_ringing=20,
                live_calls=1000,
                abandoned_calls=10,
            )
        )
        owed += (pacer._predicted_abandons - before) * abandons_per_prediction
        while owed >= 1.0:
            pacer.observe(Outcome(t, "human", 8.0, abandoned=True))
            owed -= 1.0


def test_a_pessimistic_model_is_trusted_less_and_dials_more() -> None:
    """Low live-answer rate (the agents-50-low-answer case): the model predicts abandons that
    do not happen; the calibration lets it dial more than the uncalibrated model would."""
    uncalibrated = _trained(0.0, 1)
    calibrated = _trained(0.0, 1)
    _place_and_report(calibrated, abandons_per_prediction=0.0)
    assert calibrated.kappa < 0.2
    first = uncalibrated.decide(_busy_team())
    assert calibrated.decide(_busy_team()) > first


def test_an_optimistic_model_is_tightened() -> None:
    calibrated = _trained(0.0, 2)
    reference = _trained(0.0, 2)
    _place_and_report(calibrated, abandons_per_prediction=3.0)
    assert calibrated.kappa > 1.5
    assert calibrated.decide(_busy_team()) < reference.decide(_busy_team())


def test_calibration_never_makes_the_test_vacuous() -> None:
    """However pessimistic the model looks, no call the model gives a better-than-even chance
    of finding no agent is placed (kappa_min 0.05 with alpha up to 8 % would otherwise pass
    every call: the 21 % breach seen while tuning)."""
    pacer = _trained(0.0, 3)
    pacer._predicted_abandons = 1e6  # kappa at its floor
    s = snap(
        T0 + 3000,
        agents_logged_in=50,
        agents_ready=2,
        busy_elapsed=(30.0,) * 48,
        calls_ringing=10,
        live_calls=5000,
        abandoned_calls=0,
    )
    assert pacer.kappa == pacer.kappa_min
    n = pacer.decide(s)
    assert n < min(200, s.agents_logged_in)  # not the cap: the model still says no
    forecast = pacer._forecast
    assert forecast is not None
    offset = s.agents_ready - s.calls_waiting
    q = [forecast.p_excess_at_least(s.calls_ringing + j, offset) for j in range(n)]
    assert sum(q) <= pacer.max_model_risk * n


def test_start_up_waits_for_an_unbiased_handle_sample() -> None:
    """Two minutes into a 200-agent shift: 129 completed calls, mostly 10 s machines and one
    133 s call, 171 calls still going (up to 132 s). The completed sample alone looks complete;
    counting the calls still going (Kaplan-Meier) shows it is not, and a lone longest call
    must not take the estimate to 0."""
    from gatehouse.domain.pacing.predictive import _km_reaches

    completed = sorted([10.0] * 100 + [20.0 + i for i in range(28)] + [133.2])
    going = [26.0 + 106.0 * i / 170 for i in range(171)]
    assert not _km_reaches(completed, going, 0.1)
    assert _km_reaches(completed, [], 0.1)  # without the censored calls it would pass
    later = completed + [150.0 + 3 * i for i in range(300)]
    assert _km_reaches(later, [5.0 * i for i in range(40)], 0.1)


# -- answer timing (decision 0023) -------------------------------------------------------


def _trained_timing(seed: int, *, answer_timing: bool = True) -> PredictivePacer:
    """Dial outcomes shaped like the scenarios: live answers ring 2–14 s, busy 3 s, invalid
    2 s, no answers the full 20 s; 30 % live."""
    import random

    rng = random.Random(seed)
    pacer = PredictivePacer(refresh_s=0.0, answer_timing=answer_timing)
    for i in range(800):
        u = rng.random()
        if u < 0.3:
            pacer.observe(Outcome(T0 + i, "human", rng.uniform(2.0, 14.0)))
        elif u < 0.4:
            pacer.observe(Outcome(T0 + i, "busy", 3.0))
        elif u < 0.45:
            pacer.observe(Outcome(T0 + i, "invalid", 2.0))
        else:
            pacer.observe(Outcome(T0 + i, "no_answer", 20.0))
    for _ in range(300):
        pacer.observe(Outcome(T0 + 800, "handled", 0.0, handle_s=rng.lognormvariate(5.0, 0.6)))
    pacer.decide(snap(T0, agents_ready=0))  # running since T0
    return pacer


def test_a_call_that_has_rung_long_is_less_likely_to_need_an_agent() -> None:
    import numpy as np

    pacer = _trained_timing(1)
    p = pacer.p_live
    q = pacer._q_ringing(np.array([0.0, 8.0, 15.0, 19.0]))
    assert q[0] == pytest.approx(p)  # just dialled: the live-answer rate itself
    # at 8 s: live answers still to come ≈ 0.3·6/12, others still ringing ≈ 0.55 (no answers)
    assert q[1] == pytest.approx(0.15 / (0.15 + 0.55), abs=0.06)
    assert q[2] == 0.0 and q[3] == 0.0  # no live answer rang that long: only no-answers left
    assert np.all(np.diff(q) <= 1e-12)


def test_answer_timing_needs_history() -> None:
    import numpy as np

    pacer = PredictivePacer()
    for i in range(50):
        pacer.observe(Outcome(T0 + i, "no_answer", 20.0))
    q = pacer._q_ringing(np.array([0.0, 15.0]))
    assert list(q) == [pacer.p_live, pacer.p_live]  # too few outcomes: every call counts at p


def _team_with_ringing(elapsed: tuple[float, ...]) -> PacingSnapshot:
    return snap(
        T0 + 3000,
        agents_logged_in=20,
        agents_ready=2,
        busy_elapsed=tuple(20.0 + 9 * i for i in range(18)),
        calls_ringing=len(elapsed),
        ringing_elapsed=elapsed,
        live_calls=1000,
        abandoned_calls=10,
    )


def test_just_dialled_ringing_calls_decide_as_the_old_model() -> None:
    for seed in range(5):
        s = _team_with_ringing((0.0,) * 8)
        timed = _trained_timing(seed).decide(s)
        assert timed == _trained_timing(seed, answer_timing=False).decide(s)


def test_calls_ringing_long_leave_room_for_more_dials() -> None:
    """Eight calls ringing: if they have rung 15 s they are almost surely no-answers, so the
    pacer dials more than when they were just dialled (and than the old model, which could
    not tell)."""
    fresh_ring = _trained_timing(2).decide(_team_with_ringing((0.0,) * 8))
    old_ring = _trained_timing(2).decide(_team_with_ringing((15.0,) * 8))
    untimed = _trained_timing(2, answer_timing=False).decide(_team_with_ringing((15.0,) * 8))
    assert old_ring > fresh_ring
    assert untimed == fresh_ring


def test_answer_timing_is_off_when_the_dialler_gives_no_ring_ages() -> None:
    """The runtime reports only a count of calls ringing: the pacer then counts each at p."""
    s = _team_with_ringing((15.0,) * 8)
    without_ages = snap(
        s.now,
        agents_logged_in=s.agents_logged_in,
        agents_ready=s.agents_ready,
        busy_elapsed=s.busy_elapsed,
        calls_ringing=8,
        live_calls=s.live_calls,
        abandoned_calls=s.abandoned_calls,
    )
    assert _trained_timing(3).decide(without_ages) == _trained_timing(3).decide(
        _team_with_ringing((0.0,) * 8)
    )


def test_with_ring_ages_decisions_between_refreshes_are_never_bolder() -> None:
    """Calls placed since the forecast count at p and calls resolved since stay counted, so a
    cached forecast never dials more than a fresh one at that moment."""
    import random

    rng = random.Random(7)
    overdialled = 0
    for case in range(100):
        agents = rng.choice([10, 20, 50])
        ready = rng.randint(0, 3)
        elapsed = [rng.uniform(5, 400) for _ in range(agents - ready)]
        ringing = [rng.uniform(0, 19) for _ in range(rng.randint(0, agents // 3))]
        first = snap(
            T0 + 900,
            agents_logged_in=agents,
            agents_ready=ready,
            busy_elapsed=tuple(elapsed),
            calls_ringing=len(ringing),
            ringing_elapsed=tuple(ringing),
            live_calls=1000,
            abandoned_calls=5,
        )
        cached = _trained_timing(case)
        cached.refresh_s = 2.0
        placed = cached.decide(first)  # forecast taken here
        overdialled += placed > max(0, ready - len(ringing))
        freed = rng.randint(0, 2)
        taken = rng.randint(0, min(2, ready + freed))
        resolved = rng.randint(0, len(ringing))
        later_ringing = ringing[resolved:] + [0.0] * placed
        later = snap(
            T0 + 900,
            agents_logged_in=agents,
            agents_ready=ready + freed - taken,
            busy_elapsed=tuple(elapsed[freed:] + [0.0] * taken),
            calls_ringing=len(later_ringing),
            ringing_elapsed=tuple(later_ringing),
            live_calls=1000,
            abandoned_calls=5,
        )
        fresh = _trained_timing(case)
        fresh.decide(first)
        assert cached.decide(later) <= fresh.decide(later), case
    assert overdialled > 20


def test_the_simulator_gives_the_pacer_one_ring_age_per_ringing_call() -> None:
    from pathlib import Path

    from gatehouse.telephony.simulated.des import Simulation
    from gatehouse.telephony.simulated.scenario import Scenario

    root = Path(__file__).resolve().parents[3]
    sc = Scenario.load(root / "scenarios" / "agents-20.yaml")
    sim = Simulation(sc.model_copy(update={"duration": 900.0}), "predictive", 1)
    seen: list[tuple[int, list[float]]] = []
    decide = sim.pacer.decide

    def recording(s: PacingSnapshot) -> int:
        seen.append((s.calls_ringing, list(s.ringing_elapsed)))
        return decide(s)

    sim.pacer.decide = recording  # type: ignore[method-assign]
    sim.run()
    ringing = [ages for count, ages in seen if count]
    assert len(ringing) > 100
    assert all(len(ages) == count for count, ages in seen)
    timeout = sc.rules.ring_timeout_s
    assert all(0.0 <= a <= timeout for ages in ringing for a in ages)
    assert any(a > 10.0 for ages in ringing for a in ages)
    # a pacer that does not model answer timing is not given (or charged for) the ages
    plain = Simulation(sc.model_copy(update={"duration": 60.0}), "progressive", 1)
    assert not plain._ring_ages


def test_a_dialler_bound_caps_the_decision_and_only_placed_calls_are_booked() -> None:
    """Decision 0045: a dialler that places at most ``max_new_calls`` says so; the pacer
    returns no more and books for calibration only the extra calls it returned (the runtime
    used to cap after the decision, so every tick booked calls never placed and kappa fell
    to its floor)."""
    free = _trained(0.0, 2)
    wanted = free.decide(_busy_team())
    assert wanted >= 3
    capped = _trained(0.0, 2)
    team = _busy_team()
    bound = PacingSnapshot(**{**{f: getattr(team, f) for f in team.__slots__}, "max_new_calls": 1})
    assert capped.decide(bound) == 1
    assert sum(pred for _, pred in capped._pending) < sum(pred for _, pred in free._pending)
    zero = PacingSnapshot(**{**{f: getattr(team, f) for f in team.__slots__}, "max_new_calls": 0})
    pending = len(capped._pending)
    assert capped.decide(zero) == 0
    assert len(capped._pending) == pending
