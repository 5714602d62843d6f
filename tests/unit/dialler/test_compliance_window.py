"""The rolling-24 h abandon rate agrees with a brute-force recount."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gatehouse.services.dialler.compliance import DAY, worst_rolling_24h


def brute(events: list[tuple[float, int]]) -> float:
    times = [t for t, _ in events]
    if not times:
        return 0.0
    if times[-1] - times[0] < DAY:
        return sum(ab for _, ab in events) / len(events)
    worst = 0.0
    for t_end, _ in events:
        if t_end - times[0] < DAY:
            continue
        window = [ab for t, ab in events if t_end - DAY < t <= t_end]
        worst = max(worst, sum(window) / len(window))
    return worst


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=4 * DAY), st.integers(min_value=0, max_value=1)),
        max_size=60,
    )
)
def test_rolling_matches_brute_force(raw: list[tuple[float, int]]) -> None:
    events = sorted(raw, key=lambda e: e[0])  # time order only, ties in any order
    assert abs(worst_rolling_24h(events) - brute(events)) < 1e-12


def test_short_record_is_one_window() -> None:
    assert worst_rolling_24h([(0.0, 0), (10.0, 1), (20.0, 0), (30.0, 0)]) == 0.25
