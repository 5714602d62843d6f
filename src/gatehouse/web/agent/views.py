"""What the agent desktop may show, and the port it calls.

Contract (invariant 1): everything an agent's browser receives is built from these frozen
view objects. They carry the campaign name, the display fields the campaign approved (already
filtered by the vault into an ``AgentContactView``), the current script question and the
agent's own state. There is no field for a number, an address or any other contact data, and
the adapter that fills them lives outside ``gatehouse.web.agent`` so this package cannot import
the vault (import-linter contract). The canary crawl proves the bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class DeskState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


STATE_LABELS = {
    DeskState.LOGGED_OUT: "Signed off",
    DeskState.READY: "Ready",
    DeskState.RESERVED: "Call coming",
    DeskState.ON_CALL: "On a call",
    DeskState.WRAP_UP: "Wrap-up",
    DeskState.PAUSED: "Paused",
}


@dataclass(frozen=True, slots=True)
class OptionView:
    code: str
    label: str
    key: str = ""  # keyboard shortcut shown on the button ("1".."9", "0")
    special: bool = False  # don't know / refused / not applicable
    other: bool = False  # "other, please specify": the answer needs a typed text


@dataclass(frozen=True, slots=True)
class QuestionView:
    question_id: str
    kind: str  # readout | single | multi | numeric | text | grid | yesno | rating
    text: str
    options: tuple[OptionView, ...] = ()
    items: tuple[tuple[str, str], ...] = ()  # grid rows: (item id, label)
    minimum: float | None = None
    maximum: float | None = None
    position: int = 0
    total: int = 0
    can_back: bool = False
    help_text: str = ""


@dataclass(frozen=True, slots=True)
class CallView:
    call_ref: str  # opaque reference the desk posts back; not a number, not a contact id
    campaign_name: str
    agency_line: str  # who we say we are, from the approved script
    display_fields: tuple[tuple[str, str], ...]  # (label, value) the campaign approved
    connected_at: float
    question: QuestionView | None
    finished: bool  # the interview reached its end; pick an outcome
    outcomes: tuple[OptionView, ...]
    callback_slots: tuple[OptionView, ...] = ()
    training: bool = False
    message: str = ""  # last refusal from the runner or the screening ("no numbers in answers")
    suggested_outcome: str = ""  # what the interview's own ending implies (e.g. not_eligible)


@dataclass(frozen=True, slots=True)
class DeskView:
    agent_name: str
    state: DeskState
    state_since: float
    version: int
    server_now: float
    pause_reason: str = ""
    pause_reasons: tuple[str, ...] = ()
    call: CallView | None = None
    wrap_until: float | None = None
    training_available: bool = False
    notice: str = ""  # e.g. the score of the last training call
    campaigns: tuple[str, ...] = field(default_factory=tuple)

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


class AgentDeskPort(Protocol):
    """The agent-actions API of the dialler runtime, as the desk needs it.

    Every method acts for the signed-in agent only; ``agent_id`` comes from the session,
    never from the request body.
    """

    def view(self, agent_id: str) -> DeskView: ...

    def sign_on(self, agent_id: str) -> None: ...

    def ready(self, agent_id: str) -> None: ...

    def pause(self, agent_id: str, reason: str) -> None: ...

    def sign_off(self, agent_id: str) -> None: ...

    def answer(
        self,
        agent_id: str,
        call_ref: str,
        question_id: str,
        values: Sequence[str],
        other_text: str = "",
    ) -> None:
        """Record an answer (``other_text`` for an "other, specify" option); raises
        ``ValidationFailed`` with a message the agent can act on."""
        ...

    def back(self, agent_id: str, call_ref: str) -> None: ...

    def finish(
        self, agent_id: str, call_ref: str, outcome: str, callback_slot: str | None
    ) -> None: ...

    def start_training(self, agent_id: str) -> None: ...

    async def wait_for_change(self, agent_id: str, after_version: int, timeout: float) -> int:
        """Return the desk version once it is newer than ``after_version`` (or on timeout)."""
        ...
