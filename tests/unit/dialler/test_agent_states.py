"""Agent state machine: the transition table, pause reasons, accumulated durations."""

from __future__ import annotations

import itertools

import pytest

from gatehouse.domain.dialler.agents import (
    TRANSITIONS,
    AgentMachine,
    AgentState,
    IllegalTransition,
)


def test_normal_call_cycle_accumulates_durations() -> None:
    m = AgentMachine("a1", since=0.0)
    m.move(AgentState.READY, 10.0)
    m.move(AgentState.RESERVED, 70.0)
    m.move(AgentState.ON_CALL, 71.0)
    m.move(AgentState.WRAP_UP, 251.0, wrap_s=20.0)
    assert m.wrap_until == 271.0
    m.move(AgentState.READY, 271.0)
    m.move(AgentState.PAUSED, 300.0, reason="comfort break")
    assert m.pause_reason == "comfort break"
    m.move(AgentState.LOGGED_OUT, 600.0)
    assert m.durations[AgentState.READY] == pytest.approx(60.0 + 29.0)
    assert m.durations[AgentState.ON_CALL] == pytest.approx(180.0)
    assert m.durations[AgentState.WRAP_UP] == pytest.approx(20.0)
    assert m.durations[AgentState.PAUSED] == pytest.approx(300.0)
    assert m.worked_seconds(1000.0) == pytest.approx(590.0)


def test_every_pair_outside_the_table_is_refused() -> None:
    for a, b in itertools.product(AgentState, AgentState):
        m = AgentMachine("a", state=a)
        if b in TRANSITIONS[a]:
            m.move(b, 1.0, reason="r")
            assert m.state == b
        else:
            with pytest.raises(IllegalTransition):
                m.move(b, 1.0, reason="r")


def test_on_call_cannot_log_out_and_pause_needs_reason() -> None:
    m = AgentMachine("a", state=AgentState.ON_CALL)
    assert not m.can(AgentState.LOGGED_OUT)
    r = AgentMachine("b", state=AgentState.READY)
    with pytest.raises(IllegalTransition, match="reason"):
        r.move(AgentState.PAUSED, 1.0)
