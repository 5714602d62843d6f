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


def test_predictive_stops_overdialling_when_the_budget_is_spent() -> None:
    pacer = PredictivePacer()
    s = snap(T0, agents_ready=3, live_calls=200, abandoned_calls=7)  # 3.5 %: no slack
    assert pacer.decide(s) == 3


def test_expected_excess_by_hand() -> None:
    # X in {0,1,2} uniform, Y = 1 surely: E[(X-Y)+] = (1/3)*1 = 1/3
    import numpy as np

    assert _expected_excess(np.array([1, 1, 1]) / 3, np.array([0.0, 1.0])) == pytest.approx(1 / 3)
