"""The telephony engine port: what every engine (simulated, SIP) implements.

Contract:
- The engine never receives a phone number from above. ``DialRequest`` carries an opaque
  ``contact_ref``; the engine resolves the destination itself through a
  ``DestinationResolver`` handed to it at construction (the vault's dial-time view).
- Call state changes only when the engine reports an event; callers do not assume that a
  method call has taken effect until the matching ``CallEvent`` arrives.
- Events are delivered, in order per call, to every subscribed listener on the event loop
  that owns the engine. Listeners are plain sync callables and must not block.
- Times in events are ``Clock.now()`` seconds of the engine's clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

MIN_RING_TIMEOUT_S = 15.0  # Ofcom: unanswered calls ring at least 15 s
DTMF_DIGITS = "0123456789ABCD*#"


class CallEventKind(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"  # invalid number, network failure, rejected
    HUNG_UP = "hung_up"  # an established call ended (either side)
    PROMPT_FINISHED = "prompt_finished"
    DTMF = "dtmf"


class AnsweredBy(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    UNKNOWN = "unknown"  # AMD off or undecided


class HangupParty(StrEnum):
    REMOTE = "remote"
    LOCAL = "local"


class SuperviseMode(StrEnum):
    LISTEN = "listen"  # supervisor hears both sides
    WHISPER = "whisper"  # agent hears supervisor, callee does not
    BARGE = "barge"  # three-way


@dataclass(frozen=True, slots=True)
class DialRequest:
    attempt_id: str  # idempotency key; an engine never places two calls for one attempt_id
    campaign_id: str
    contact_ref: str  # opaque; resolved to a destination inside the engine
    caller_id: str  # presented CLI (E.164), must be callable back
    ring_timeout_s: float = 30.0
    amd: bool = False
    record: bool = True  # False only for legally privileged in-cell calls

    def __post_init__(self) -> None:
        if self.ring_timeout_s < MIN_RING_TIMEOUT_S:
            raise ValueError(f"ring timeout {self.ring_timeout_s}s is below the 15 s minimum")


@dataclass(frozen=True, slots=True)
class CallEvent:
    call_id: str
    attempt_id: str
    kind: CallEventKind
    at: float  # ANSWERED: when the far end answered (AMD may decide later, below)
    answered_by: AnsweredBy | None = None
    detection_finished_at: float | None = None  # when AMD reached its verdict (ANSWERED)
    hangup_party: HangupParty | None = None
    sip_status: int | None = None
    reason: str = ""
    digit: str = ""
    extra: dict[str, str] = field(default_factory=dict)


CallEventListener = Callable[[CallEvent], None]


def dtmf_digits(digits: str) -> str:
    """``digits`` as an engine sends them (upper case), or ValueError if any is not a key."""
    keys = digits.upper()
    if not keys or any(key not in DTMF_DIGITS for key in keys):
        raise ValueError(f"DTMF digits must be one or more of {DTMF_DIGITS}")
    return keys


class DestinationResolver(Protocol):
    def __call__(self, contact_ref: str) -> str:
        """Return the E.164 destination for ``contact_ref`` (dial time only)."""
        ...


class TelephonyEngine(Protocol):
    """An engine places calls, reports events and moves media between legs."""

    def subscribe(self, listener: CallEventListener) -> None: ...

    def unsubscribe(self, listener: CallEventListener) -> None: ...

    async def place_call(self, request: DialRequest) -> str:
        """Start an outbound call; returns the engine's call id. Idempotent per attempt_id."""
        ...

    async def hangup(self, call_id: str) -> None: ...

    async def open_agent_leg(self, agent_id: str) -> str:
        """Nail up the agent's phone leg for the whole session; returns the leg id."""
        ...

    async def close_agent_leg(self, leg_id: str) -> None: ...

    async def bridge(self, call_id: str, leg_id: str) -> None:
        """Connect an answered call to an agent leg (a media bridge, not a new call)."""
        ...

    async def unbridge(self, call_id: str) -> None: ...

    async def play_prompt(self, call_id: str, prompt_id: str) -> None:
        """Play a prepared prompt; PROMPT_FINISHED follows."""
        ...

    async def send_dtmf(self, call_id: str, digits: str) -> None:
        """Send DTMF keys (``dtmf_digits``) on an answered call, in order. Digits the far
        end sends arrive as DTMF events (``CallEvent.digit``)."""
        ...

    async def start_recording(self, call_id: str, recording_id: str) -> None: ...

    async def stop_recording(self, call_id: str) -> None: ...

    async def supervise(
        self, supervisor_leg_id: str, call_id: str, mode: SuperviseMode
    ) -> None: ...

    async def end_supervision(self, supervisor_leg_id: str) -> None: ...

    async def close(self) -> None: ...
