"""The agent state machine (C5) and the time spent in each state (for the work record, C9).

States: logged out → ready ⇄ paused(reason); ready → reserved (a call is being routed to
the agent) → on call → wrap-up (timed) → ready. Any state except on call may log out; a
supervisor may force paused or logged out at any time (the call, if any, is ended first by
the runtime). ``TRANSITIONS`` is the whole table; anything else raises ``IllegalTransition``.
Durations accumulate per state from the clock times the runtime passes in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gatehouse.domain.errors import Conflict


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


_S = AgentState
TRANSITIONS: dict[AgentState, frozenset[AgentState]] = {
    _S.LOGGED_OUT: frozenset({_S.READY, _S.PAUSED}),
    _S.READY: frozenset({_S.RESERVED, _S.PAUSED, _S.LOGGED_OUT}),
    # reserved: the call may connect, or the caller hung up before the bridge
    _S.RESERVED: frozenset({_S.ON_CALL, _S.READY, _S.PAUSED, _S.LOGGED_OUT}),
    _S.ON_CALL: frozenset({_S.WRAP_UP}),
    _S.WRAP_UP: frozenset({_S.READY, _S.PAUSED, _S.LOGGED_OUT}),
    _S.PAUSED: frozenset({_S.READY, _S.LOGGED_OUT}),
}
#: States that count as paid working time (logged in).
WORKING_STATES = frozenset({_S.READY, _S.RESERVED, _S.ON_CALL, _S.WRAP_UP, _S.PAUSED})


class IllegalTransition(Conflict):
    error_id = "agent-illegal-transition"


@dataclass(frozen=True, slots=True)
class StateChange:
    agent_id: str
    from_state: AgentState
    to_state: AgentState
    at: float
    reason: str = ""


@dataclass(slots=True)
class AgentMachine:
    """One agent's current state, since when, and the seconds spent in each state."""

    agent_id: str
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    pause_reason: str = ""
    wrap_until: float | None = None
    durations: dict[AgentState, float] = field(default_factory=dict)

    def can(self, to: AgentState) -> bool:
        return to in TRANSITIONS[self.state]

    def move(
        self, to: AgentState, at: float, *, reason: str = "", wrap_s: float | None = None
    ) -> StateChange:
        if to not in TRANSITIONS[self.state]:
            raise IllegalTransition(
                f"an agent who is {self.state.value} cannot go {to.value}",
                agent_id=self.agent_id,
            )
        if to == AgentState.PAUSED and not reason.strip():
            raise IllegalTransition("a pause needs a reason", agent_id=self.agent_id)
        change = StateChange(self.agent_id, self.state, to, at, reason)
        spent = max(0.0, at - self.since)
        self.durations[self.state] = self.durations.get(self.state, 0.0) + spent
        self.state = to
        self.since = at
        self.pause_reason = reason if to == AgentState.PAUSED else ""
        self.wrap_until = at + wrap_s if to == AgentState.WRAP_UP and wrap_s is not None else None
        return change

    def worked_seconds(self, now: float) -> float:
        """Logged-in time so far, including the current state."""
        total = sum(v for k, v in self.durations.items() if k in WORKING_STATES)
        if self.state in WORKING_STATES:
            total += max(0.0, now - self.since)
        return total

    def idle_since(self) -> float:
        """For longest-idle routing: when the agent became ready."""
        return self.since
