"""Ofcom accounting agrees with a brute-force recount on random event streams."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gatehouse.domain.compliance import (
    DAY_S,
    ComplianceLedger,
    abandon_rate,
    amd_gate,
    fp_estimate,
)

START = 1_772_470_800.0  # 2026-03-02 17:00 UTC


def _brute_rate(calls: list[tuple[float, bool]], h: float) -> float:
    ab = sum(1 for _, a in calls if a)
    con = len(calls) - ab
    fp = h * (con + ab) / (1 - h) if h else 0.0
    return (ab + fp) / (con + ab + fp) if calls else 0.0


calls_strategy = st.lists(
    st.tuples(st.floats(0, 3 * DAY_S, allow_nan=False), st.booleans()), min_size=0, max_size=80
)


@settings(max_examples=150, deadline=None)
@given(calls_strategy, st.sampled_from([0.0, 0.01, 0.025]))
def test_rolling_and_daily_rates_match_a_brute_force_recount(
    calls: list[tuple[float, bool]], h: float
) -> None:
    ledger = ComplianceLedger(human_as_machine=h)
    for offset, abandoned in calls:
        ledger.answered_live("c", START + offset, abandoned=abandoned)
    end = START + 3 * DAY_S
    # brute force: every complete window starting on a 60 s grid and at every call
    starts = {START + k * 60.0 for k in range(int((end - START - DAY_S) / 60) + 1)}
    starts |= {START + o for o, _ in calls if o + DAY_S <= 3 * DAY_S}
    brute = max(
        (_brute_rate([(o, a) for o, a in calls if s <= START + o <= s + DAY_S], h) for s in starts),
        default=0.0,
    )
    assert ledger.max_rolling_24h_rate(START, end) >= brute - 1e-12
    # and never above the worst window over the exact candidate set
    exact = {START + o + 1e-6 for o, _ in calls} | {START + o - DAY_S for o, _ in calls} | {START}
    exact_worst = max(
        (
            _brute_rate([(o, a) for o, a in calls if s <= START + o <= s + DAY_S], h)
            for s in exact
            if START <= s <= end - DAY_S
        ),
        default=0.0,
    )
    assert abs(ledger.max_rolling_24h_rate(START, end) - exact_worst) < 1e-12
    by_day: dict[str, list[tuple[float, bool]]] = {}
    for o, a in calls:
        by_day.setdefault(ledger.local_day(START + o), []).append((o, a))
    assert (
        abs(
            ledger.max_calendar_day_rate()
            - max((_brute_rate(v, h) for v in by_day.values()), default=0.0)
        )
        < 1e-12
    )


def test_short_run_has_one_window_the_whole_run() -> None:
    ledger = ComplianceLedger()
    for i in range(100):
        ledger.answered_live(str(i), START + i * 60, abandoned=i < 2)
    assert ledger.max_rolling_24h_rate(START, START + 4 * 3600) == 0.02


def test_amd_false_positives_count_as_abandoned() -> None:
    assert (
        fp_estimate(970, 0, 0.03) == 30.000000000000004
        or abs(fp_estimate(970, 0, 0.03) - 30) < 1e-9
    )
    assert abs(abandon_rate(970, 0, 0.03) - 0.03) < 1e-12
    ok, why = amd_gate(0.03, 0.02)
    assert not ok and "refused" in why
    assert amd_gate(0.005, 0.02)[0]


def test_redials_and_start_up_are_reported() -> None:
    ledger = ComplianceLedger()
    ledger.answered_live("a", START, abandoned=True, message_latency=0.8)
    ledger.dialled("a", START + 3600)  # inside 72 h
    ledger.dialled("a", START + 3600, agent_reserved=True)  # allowed with an agent reserved
    ledger.machine_verdict("m", START)
    ledger.dialled("m", START + 600)  # same day after a machine verdict
    for i in range(60):
        ledger.answered_live(str(i), START + 10 + i, abandoned=False)
    report = ledger.report(START, START + 7200)
    assert report["redials_within_72h_of_abandon"] == 1
    assert ledger.same_day_machine_redials == 1
    assert report["compliant"] is False
    assert report["max_message_latency_s"] == 0.8
