"""The agent desk and the wallboard over the dialler runtime (W1-D), the interview runner
(W1-C) and the vault's display view (W1-A).

Contract:
- This module lives outside ``gatehouse.web.agent`` because it touches the vault's display
  view; what it hands to agent pages is only ``DeskView`` (frozen, allow-listed fields), and
  the display fields come only from the vault's ``AgentContactView`` for that campaign.
- The runtime is asyncio code owned by one event loop (the server's). Web handlers run in a
  thread pool, so every runtime call is marshalled onto that loop and awaited; nothing here
  touches runtime state from another thread.
- The desk version is the runtime's per-agent state version plus this adapter's own
  counter (bumped on every interview step), so SSE subscribers wake on either.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import structlog

from gatehouse.domain.clearance import NotCleared
from gatehouse.domain.dialler.agents import AgentState
from gatehouse.domain.dialler.config import CallOutcome
from gatehouse.domain.errors import Conflict, NotFound, ValidationFailed
from gatehouse.services.dialler.runtime import LATE_OUTCOMES, CallCtx, DiallerRuntime
from gatehouse.web.agent.views import (
    CallView,
    DeskState,
    DeskView,
    OptionView,
    QuestionView,
)
from gatehouse.web.pages.supervisor import (
    AgentRow,
    CampaignRow,
    Intervention,
    WallboardView,
)

T = TypeVar("T")

TRAINING_NAMES = ("Sam", "Priya", "Jo", "Tariq", "Eilidh", "Dafydd", "Grace", "Olu")
PAUSE_REASONS = ("break", "lunch", "toilet", "training", "team meeting", "technical problem")

OUTCOME_LABELS: dict[CallOutcome, str] = {
    CallOutcome.COMPLETE: "Complete",
    CallOutcome.PARTIAL: "Stopped part-way",
    CallOutcome.REFUSED: "Refused",
    CallOutcome.CALLBACK: "Callback",
    CallOutcome.OPT_OUT: "Do not call again",
    CallOutcome.NOT_ELIGIBLE: "Not eligible",
    CallOutcome.QUOTA_FULL: "Quota full",
    CallOutcome.MACHINE: "Answering machine",
}


class InterviewSession(Protocol):
    """One interview on one call, driven by the agent (the W1-C runner behind it)."""

    def question(self) -> QuestionView | None: ...

    def answer(self, question_id: str, values: Sequence[str], other_text: str = "") -> None: ...

    def back(self) -> None: ...

    @property
    def finished(self) -> bool: ...

    @property
    def outcome(self) -> str | None: ...

    @property
    def agency_line(self) -> str: ...

    def persona_answer(self, rng: Any) -> tuple[list[str], str, str]:
        """Training: what a simulated respondent says to the current question, as desk
        values, any "other" text, and as words for the screen."""
        ...


class InterviewFactory(Protocol):
    def __call__(
        self,
        *,
        version_id: str | None,
        campaign_id: str,
        contact_ref: str,
        attempt_id: str,
        agent_id: str,
        display: dict[str, str],
        training: bool = False,
    ) -> InterviewSession | None:
        """Start (or resume, for the same attempt) the interview for this call."""
        ...


log = structlog.get_logger("gatehouse.web.desk")

#: how often ready agents' clearances are re-read (a suspension takes effect within this)
CLEARANCE_SWEEP_S = 10.0

ClearanceCheck = Callable[[str, str], None]
"""(agent_id, campaign_id) -> None, or raises ``NotCleared`` with a message for the agent's
own screen (``services.clearance.check_can_work``). Asked every time an agent goes ready."""

DisplayFields = Callable[[str, str], dict[str, str]]
"""(campaign_id, contact_ref) -> {field: value} for the fields the campaign approved for
agents (the vault's ``AgentContactView``)."""

#: What an interview's own ending suggests as the call outcome.
SUGGESTED_OUTCOME = {
    "complete": CallOutcome.COMPLETE,
    "screened_out": CallOutcome.NOT_ELIGIBLE,
    "quota_full": CallOutcome.QUOTA_FULL,
    "break_off": CallOutcome.PARTIAL,
    "refused": CallOutcome.REFUSED,
}


def field_label(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


@dataclass
class _AgentExtra:
    version: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    attempt_id: str | None = None
    interview: InterviewSession | None = None
    display: tuple[tuple[str, str], ...] = ()
    connected_at: float = 0.0
    message: str = ""
    training: bool = False
    training_rng: Any = None
    persona_values: list[str] = field(default_factory=list)
    persona_other: str = ""
    persona_words: str = ""
    persona_question: str = ""
    training_asked: int = 0
    training_matched: int = 0
    training_result: str = ""


class RuntimeDesk:
    """``AgentDeskPort`` and ``WallboardPort`` over one or more in-process dialler runtimes."""

    def __init__(
        self,
        runtimes: Sequence[DiallerRuntime],
        *,
        display_fields: DisplayFields,
        interviews: InterviewFactory | None,
        clearance: ClearanceCheck,
        names: Callable[[str], str] | None = None,
        audit: Callable[[str, str, str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.runtimes = list(runtimes)
        self._clearance = clearance
        self._display_fields = display_fields
        self._interviews = interviews
        self._names = names
        # (actor, action, target, details) -> one audit entry in its own transaction
        self._audit = audit or (lambda *_args: None)
        self._extra: dict[str, _AgentExtra] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.interventions: dict[str, str] = {}  # agent id -> mode (listen/whisper/barge)
        self.training_scores: dict[str, list[tuple[int, int]]] = {}  # agent -> (matched, asked)

    # ------------------------------------------------------------------ plumbing
    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def _on_loop(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the runtime's loop (we may be in a web worker thread)."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=30)

    def _await_on_loop(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        loop = self._loop
        if loop is None:
            raise Conflict("the dialler runtime is not running")
        return asyncio.run_coroutine_threadsafe(make(), loop).result(timeout=30)

    def _runtime(self, agent_id: str) -> DiallerRuntime:
        for runtime in self.runtimes:
            if agent_id in runtime.agents:
                return runtime
        raise NotFound("this account is not on any running campaign's roster")

    def _x(self, agent_id: str) -> _AgentExtra:
        extra = self._extra.get(agent_id)
        if extra is None:
            extra = self._extra[agent_id] = _AgentExtra()
        return extra

    def _bump(self, agent_id: str) -> None:
        extra = self._x(agent_id)
        extra.version += 1
        event, extra.changed = extra.changed, asyncio.Event()
        event.set()

    # ------------------------------------------------------------------ call hook
    def connected(self, runtime: DiallerRuntime, agent_id: str, ctx: CallCtx) -> None:
        """``CallHandler`` hook: a live call was bridged to ``agent_id``; start the script."""
        self._open_record(runtime, agent_id, ctx.attempt_id, ctx.contact_ref, message="")
        self._bump(agent_id)

    def _open_record(
        self, runtime: DiallerRuntime, agent_id: str, attempt_id: str, contact_ref: str, *,
        message: str,
    ) -> None:  # fmt: skip
        """Put a call's approved display fields and its interview (started, or resumed for
        the same attempt) on the agent's desk."""
        extra = self._x(agent_id)
        display = self._display_fields(runtime.campaign_id, contact_ref)
        extra.attempt_id = attempt_id
        extra.display = tuple((field_label(k), v) for k, v in display.items())
        extra.connected_at = runtime.clock.now()
        extra.message = message
        extra.interview = (
            self._interviews(
                version_id=runtime.campaign.script_version_id,
                campaign_id=runtime.campaign_id,
                contact_ref=contact_ref,
                attempt_id=attempt_id,
                agent_id=agent_id,
                display=display,
            )
            if self._interviews is not None
            else None
        )

    # ------------------------------------------------------------------ AgentDeskPort
    def view(self, agent_id: str) -> DeskView:
        return self._on_loop(lambda: self._view(agent_id))

    def _view(self, agent_id: str) -> DeskView:
        runtime = self._runtime(agent_id)
        slot = runtime.agent(agent_id)
        extra = self._x(agent_id)
        state = DeskState(slot.machine.state.value)
        call = None
        ctx = runtime.current_call(agent_id)
        if extra.training:
            call = self._training_view(runtime, extra)
        elif ctx is not None and extra.attempt_id == ctx.attempt_id:
            call = self._call_view(runtime, agent_id, ctx, extra)
        elif ctx is None and slot.recovered is not None:
            call = self._recovered_view(runtime, agent_id, slot.recovered, extra)
        notice = extra.training_result
        if slot.preview is not None:  # preview pacing: the record before the call is placed
            contact, dial_at = slot.preview
            fields = self._display_fields(runtime.campaign_id, contact.contact_ref)
            shown = "; ".join(f"{field_label(k)}: {v}" for k, v in fields.items())
            wait = max(0, round(dial_at - runtime.clock.now()))
            notice = f"Next call, placed for you in {wait} s. {shown}".strip()
        return DeskView(
            agent_name=slot.name,
            state=state,
            state_since=slot.machine.since,
            version=slot.version + extra.version,
            server_now=runtime.clock.now(),
            pause_reason=slot.machine.pause_reason,
            notice=notice,
            pause_reasons=PAUSE_REASONS,
            call=call,
            wrap_until=slot.machine.wrap_until,
            training_available=self._interviews is not None
            and runtime.campaign.script_version_id is not None
            and not extra.training,
            campaigns=(runtime.campaign.name,),
        )

    def _training_view(self, runtime: DiallerRuntime, extra: _AgentExtra) -> CallView:
        interview = extra.interview
        assert interview is not None
        question = interview.question()
        if question is not None and question.question_id != extra.persona_question:
            extra.persona_values, extra.persona_other, extra.persona_words = (
                interview.persona_answer(extra.training_rng)
            )
            extra.persona_question = question.question_id
        says = f"Respondent says: {extra.persona_words}" if question and extra.persona_words else ""
        return CallView(
            call_ref=extra.attempt_id or "",
            campaign_name=f"Training: {runtime.campaign.name}",
            agency_line=interview.agency_line,
            display_fields=extra.display,
            connected_at=extra.connected_at,
            question=question,
            finished=interview.finished,
            outcomes=tuple(
                OptionView(o.value, label)
                for o, label in OUTCOME_LABELS.items()
                if o not in (CallOutcome.CALLBACK, CallOutcome.MACHINE)
            ),
            training=True,
            message=extra.message or says,
            suggested_outcome=(
                SUGGESTED_OUTCOME[interview.outcome].value
                if interview.outcome in SUGGESTED_OUTCOME
                else ""
            ),
        )

    def _recovered_view(
        self,
        runtime: DiallerRuntime,
        agent_id: str,
        recovered: tuple[str, str],
        extra: _AgentExtra,
    ) -> CallView:
        """A call a restart cut off: the saved interview comes back so the agent can finish
        the record and give the outcome (the call itself is gone)."""
        attempt_id, contact_ref = recovered
        if extra.attempt_id != attempt_id:
            self._open_record(
                runtime,
                agent_id,
                attempt_id,
                contact_ref,
                message=(
                    "This call was cut off when the system restarted. The answers given so "
                    "far are saved: finish the record from what you heard, then set the outcome."
                ),
            )
        interview = extra.interview
        return CallView(
            call_ref=attempt_id,
            campaign_name=runtime.campaign.name,
            agency_line=interview.agency_line if interview is not None else "",
            display_fields=extra.display,
            connected_at=extra.connected_at,
            question=interview.question() if interview is not None else None,
            finished=interview.finished if interview is not None else True,
            outcomes=tuple(
                OptionView(o.value, label)
                for o, label in OUTCOME_LABELS.items()
                if o in LATE_OUTCOMES
            ),
            message=extra.message,
            suggested_outcome=(
                SUGGESTED_OUTCOME[interview.outcome].value
                if interview is not None and interview.outcome in SUGGESTED_OUTCOME
                else ""
            ),
        )

    def _call_view(
        self, runtime: DiallerRuntime, agent_id: str, ctx: CallCtx, extra: _AgentExtra
    ) -> CallView:
        interview = extra.interview
        question = interview.question() if interview is not None else None
        finished = interview.finished if interview is not None else True
        tz = ZoneInfo(ctx.state.tz or "Europe/London")
        slots = tuple(
            OptionView(
                str(int(t)),
                datetime.fromtimestamp(t, tz=UTC).astimezone(tz).strftime("%a %d %b, %H:%M"),
            )
            for t in runtime.callback_slots(agent_id)
        )
        return CallView(
            call_ref=ctx.attempt_id,
            campaign_name=runtime.campaign.name,
            agency_line=interview.agency_line if interview is not None else "",
            display_fields=extra.display,
            connected_at=extra.connected_at,
            question=question,
            finished=finished,
            outcomes=tuple(OptionView(o.value, label) for o, label in OUTCOME_LABELS.items()),
            callback_slots=slots,
            message=extra.message,
            suggested_outcome=(
                SUGGESTED_OUTCOME[interview.outcome].value
                if interview is not None and interview.outcome in SUGGESTED_OUTCOME
                else ""
            ),
        )

    def sign_on(self, agent_id: str) -> None:
        self._on_loop(lambda: self._runtime(agent_id).login(agent_id))

    def ready(self, agent_id: str) -> None:
        def go() -> None:
            runtime = self._runtime(agent_id)
            self._clearance(agent_id, runtime.campaign_id)  # no live calls without vetting
            if runtime.agent(agent_id).machine.state == AgentState.LOGGED_OUT:
                runtime.login(agent_id)
            runtime.ready(agent_id)

        self._on_loop(go)

    def enforce_clearance(self) -> list[str]:
        """Pause every ready human agent whose clearance has lapsed or been suspended since
        they went ready (the check at "ready" alone would let them keep taking calls).
        An agent on a call finishes it; the next "ready" is refused with the reason."""
        paused: list[str] = []
        for runtime in self.runtimes:
            for agent_id, slot in list(runtime.agents.items()):
                if slot.bot or slot.machine.state != AgentState.READY:
                    continue
                try:
                    self._clearance(agent_id, runtime.campaign_id)
                except NotCleared as exc:
                    runtime.pause(agent_id, "clearance")
                    self._x(agent_id).message = exc.message
                    self._bump(agent_id)
                    paused.append(agent_id)
        return paused

    async def watch_clearance(self, every_s: float = CLEARANCE_SWEEP_S) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                for agent_id in self.enforce_clearance():
                    self._audit(
                        "system",
                        "agent.paused_uncleared",
                        f"agent:{agent_id}",
                        {"reason": "clearance no longer valid"},
                    )
            except Exception as exc:  # the sweep must outlive one bad read
                log.error("clearance_sweep_failed", error=repr(exc))

    def pause(self, agent_id: str, reason: str) -> None:
        if reason not in PAUSE_REASONS:
            raise ValidationFailed("choose a pause reason from the list")
        self._on_loop(lambda: self._runtime(agent_id).pause(agent_id, reason))

    def sign_off(self, agent_id: str) -> None:
        self._on_loop(lambda: self._runtime(agent_id).logout(agent_id))

    def _interview_for(self, agent_id: str, call_ref: str) -> InterviewSession:
        extra = self._x(agent_id)
        if extra.attempt_id != call_ref or extra.interview is None:
            raise Conflict("that call is no longer on your desk")
        return extra.interview

    def answer(
        self,
        agent_id: str,
        call_ref: str,
        question_id: str,
        values: Sequence[str],
        other_text: str = "",
    ) -> None:
        # On the runtime's loop: on SQLite every write must be serialised with the runtime's
        # own (a second writer thread upgrading a read transaction gets "database is locked").
        def go() -> None:
            interview = self._interview_for(agent_id, call_ref)
            extra = self._x(agent_id)
            try:
                interview.answer(question_id, values, other_text)
                if extra.training and question_id == extra.persona_question:
                    extra.training_asked += 1
                    extra.training_matched += sorted(values) == sorted(extra.persona_values)
                    extra.persona_words = ""
                extra.message = ""
            except ValidationFailed as refused:
                extra.message = refused.message
                raise
            finally:
                self._bump(agent_id)

        self._on_loop(go)

    def back(self, agent_id: str, call_ref: str) -> None:
        def go() -> None:
            self._interview_for(agent_id, call_ref).back()
            self._bump(agent_id)

        self._on_loop(go)

    def finish(self, agent_id: str, call_ref: str, outcome: str, callback_slot: str | None) -> None:
        try:
            chosen = CallOutcome(outcome)
        except ValueError as bad:
            raise ValidationFailed(f"unknown outcome {outcome!r}") from bad
        if chosen not in OUTCOME_LABELS:
            raise ValidationFailed(f"{outcome!r} is not an agent outcome")
        extra = self._x(agent_id)
        if extra.attempt_id != call_ref:
            raise Conflict("that call is no longer on your desk")
        if extra.training:
            self._on_loop(lambda: self._end_training(agent_id, chosen))
            return
        interview = extra.interview
        if (
            chosen == CallOutcome.COMPLETE
            and interview is not None
            and (not interview.finished or interview.outcome != "complete")
        ):
            raise ValidationFailed("the script did not complete; choose another outcome")
        callback_at = None
        if chosen == CallOutcome.CALLBACK:
            if not callback_slot:
                raise ValidationFailed("pick a callback time from the list first")
            try:
                callback_at = float(callback_slot)
            except ValueError as bad:
                raise ValidationFailed("pick a callback time from the list") from bad
        runtime = self._runtime(agent_id)
        recovered = runtime.agent(agent_id).recovered
        if recovered is not None and recovered[0] == call_ref:

            def late() -> None:
                runtime.finish_recovered(agent_id, chosen)
                self._audit(
                    agent_id,
                    "attempt.late_outcome",
                    f"attempt:{call_ref}",
                    {"outcome": chosen.value, "why": "call cut off by a restart"},
                )
                extra.attempt_id = None
                extra.interview = None
                extra.display = ()
                extra.message = ""
                self._bump(agent_id)

            self._on_loop(late)
            return

        async def go() -> None:
            await runtime.finish_call(agent_id, chosen, callback_at=callback_at)
            extra.attempt_id = None
            extra.interview = None
            extra.display = ()
            self._bump(agent_id)

        self._await_on_loop(go)

    def start_training(self, agent_id: str) -> None:
        """A practice call against a simulated respondent (W1-C persona), clearly marked,
        scored on how faithfully the agent records what the respondent says, and stored as
        a training interview (never exported, counted separately in the work record)."""
        import random
        import uuid

        def go() -> None:
            runtime = self._runtime(agent_id)
            slot = runtime.agent(agent_id)
            extra = self._x(agent_id)
            if self._interviews is None or runtime.campaign.script_version_id is None:
                raise Conflict("there is no approved script to practise on")
            if slot.machine.state in (AgentState.ON_CALL, AgentState.RESERVED):
                raise Conflict("finish the live call first")
            if slot.machine.state == AgentState.LOGGED_OUT:
                runtime.login(agent_id)  # signs on paused
            if slot.machine.state in (AgentState.READY, AgentState.WRAP_UP):
                runtime.pause(agent_id, "training")  # no live calls while practising
            rng = random.Random(uuid.uuid4().int)
            first = rng.choice(TRAINING_NAMES)
            attempt = f"training-{uuid.uuid4().hex[:16]}"
            extra.training = True
            extra.training_rng = rng
            extra.training_asked = extra.training_matched = 0
            extra.persona_question = extra.persona_words = extra.training_result = ""
            extra.attempt_id = attempt
            extra.display = (("First name", first),)
            extra.connected_at = runtime.clock.now()
            extra.message = ""
            extra.interview = self._interviews(
                version_id=runtime.campaign.script_version_id,
                campaign_id=runtime.campaign_id,
                contact_ref=attempt,
                attempt_id=attempt,
                agent_id=agent_id,
                display={"first_name": first},
                training=True,
            )
            self._bump(agent_id)

        self._on_loop(go)

    def _end_training(self, agent_id: str, outcome: CallOutcome) -> None:
        extra = self._x(agent_id)
        asked, matched = extra.training_asked, extra.training_matched
        extra.training_result = (
            f"Training call scored {matched} of {asked} answers recorded as the respondent gave "
            f"them ({outcome.value.replace('_', ' ')})."
            if asked
            else "Training call ended before any answer was recorded."
        )
        extra.training = False
        extra.interview = None
        extra.attempt_id = None
        extra.display = ()
        self.training_scores.setdefault(agent_id, []).append((matched, asked))
        self._bump(agent_id)

    async def wait_for_change(self, agent_id: str, after_version: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            runtime = self._runtime(agent_id)
            slot = runtime.agent(agent_id)
            extra = self._x(agent_id)
            version = slot.version + extra.version
            remaining = deadline - time.monotonic()
            if version != after_version or remaining <= 0:
                return version
            waiters = {
                asyncio.ensure_future(slot.changed.wait()),
                asyncio.ensure_future(extra.changed.wait()),
            }
            _, pending = await asyncio.wait(
                waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    # ------------------------------------------------------------------ WallboardPort
    def snapshot(self) -> WallboardView:
        return self._on_loop(self._snapshot)

    def _snapshot(self) -> WallboardView:
        agents: list[AgentRow] = []
        campaigns: list[CampaignRow] = []
        in_progress = 0
        dialling = 0
        for runtime in self.runtimes:
            now = runtime.clock.now()
            for agent_id, slot in runtime.agents.items():
                state = slot.machine.state
                on_call = state == AgentState.ON_CALL
                in_progress += 1 if on_call else 0
                agents.append(
                    AgentRow(
                        agent_id=agent_id,
                        name=slot.name + (" (sim)" if slot.bot else ""),
                        state=state.value,
                        state_since=slot.machine.since,
                        campaign=runtime.campaign.name if state != AgentState.LOGGED_OUT else "",
                        on_call=on_call,
                        supervised_by=self.interventions.get(agent_id, "") if on_call else "",
                    )
                )
            lines = runtime.lines_dialling()
            dialling += lines
            counts = runtime.store.counts(runtime.campaign_id, since=now - 86400.0)
            ready = sum(1 for s in runtime.agents.values() if s.machine.state == AgentState.READY)
            busy = sum(
                1
                for s in runtime.agents.values()
                if s.machine.state in (AgentState.ON_CALL, AgentState.RESERVED)
            )
            campaigns.append(
                CampaignRow(
                    campaign_id=runtime.campaign_id,
                    name=runtime.campaign.name,
                    status=runtime.campaign.status.value,
                    attempts_24h=counts.attempts,
                    # calls on agents now count at once, not only when they close
                    connects_24h=counts.live + counts.connected_open,
                    abandoned_24h=counts.abandoned,
                    dial_level=lines / max(1, ready + busy) if lines else 0.0,
                    queue=len(runtime.hopper),
                    lines_in_use=lines + busy,
                )
            )
        agents.sort(key=lambda a: (a.state == "logged_out", a.name))
        return WallboardView(
            at=time.time(),
            agents=tuple(agents),
            campaigns=tuple(campaigns),
            calls_in_progress=in_progress,
            lines_dialling=dialling,
        )

    def intervene(
        self, supervisor_id: str, action: Intervention, agent_id: str, reason: str
    ) -> None:
        runtime = self._runtime(agent_id)

        async def go() -> None:
            slot = runtime.agent(agent_id)
            ctx = runtime.current_call(agent_id)
            if action in (Intervention.LISTEN, Intervention.WHISPER, Intervention.BARGE):
                if ctx is None or ctx.call_id is None:
                    raise Conflict("that agent is not on a call")
                await runtime.engine.supervise(f"sup-{supervisor_id}", ctx.call_id, _mode(action))
                self.interventions[agent_id] = action.value
            elif action == Intervention.END_CALL:
                if ctx is None:
                    raise Conflict("that agent is not on a call")
                await runtime.finish_call(agent_id, CallOutcome.PARTIAL)
                self.interventions.pop(agent_id, None)
                self._x(agent_id).attempt_id = None
                self._bump(agent_id)
            elif action == Intervention.PAUSE_AGENT:
                if slot.machine.state == AgentState.ON_CALL:
                    raise Conflict("end the call first, then pause the agent")
                runtime.pause(agent_id, "paused by supervisor")
            elif action == Intervention.LOGOUT_AGENT:
                if slot.machine.state == AgentState.ON_CALL:
                    raise Conflict("end the call first, then sign the agent off")
                runtime.logout(agent_id)
            self._audit(
                supervisor_id,
                f"supervise.{action.value}",
                f"agent:{agent_id}",
                {"reason": reason, "call": ctx.attempt_id if ctx is not None else ""},
            )

        self._await_on_loop(go)


def _mode(action: Intervention) -> Any:
    from gatehouse.telephony.port import SuperviseMode

    return SuperviseMode(action.value)


class RoutingHandler:
    """The runtime's one ``CallHandler``: simulated agents (bots) talk by themselves, people
    get the call on their desk."""

    def __init__(self, desk: RuntimeDesk, bots: Any) -> None:
        self.desk = desk
        self.bots = bots

    def connected(self, runtime: DiallerRuntime, agent_id: str, ctx: CallCtx) -> None:
        if runtime.agent(agent_id).bot and self.bots is not None:
            self.bots.connected(runtime, agent_id, ctx)
        else:
            self.desk.connected(runtime, agent_id, ctx)


class RuntimeHost:
    """Runs the dialler runtimes on the web server's event loop (a ``BackgroundService``)."""

    def __init__(self, desk: RuntimeDesk) -> None:
        self.desk = desk
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.desk.bind_loop(asyncio.get_running_loop())
        for runtime in self.desk.runtimes:
            runtime.start_worker()
            self._tasks.append(asyncio.ensure_future(runtime.run()))
        self._tasks.append(asyncio.ensure_future(self.desk.watch_clearance()))

    async def stop(self) -> None:
        for runtime in self.desk.runtimes:
            runtime.stop()
        for task in self._tasks[len(self.desk.runtimes) :]:
            task.cancel()  # the clearance sweep
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        self._tasks.clear()
