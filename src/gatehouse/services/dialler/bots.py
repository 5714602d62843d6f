"""Simulated agents (bots) for virtual-time runs, tests and the demo.

A bot takes the call it is given, talks for a seeded time (the simulated respondent),
picks a disposition from a seeded mix, sits out its wrap-up and goes ready again. It drives
the same runtime methods the agent desktop does (``finish_call``, ``ready``), so a bot run
exercises exactly the production path.

With AMD off, answering machines reach agents too. A person hears the greeting, records
"answering machine" after ``machine_handle_s`` and is ready again at once (nothing to write
up); a bot does the same when the network tells it what it hears (``hears_machine``: the
simulated network does; an engine that cannot leaves the bot treating every call as a
person). ``gatehouse simulate`` models an agent's time on a machine the same way
(``machine_handle_s``, no wrap-up), decision 0044.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gatehouse.adapters.storage.db import transaction
from gatehouse.domain.dialler.config import CallOutcome
from gatehouse.services.dialler.runtime import CallCtx, DiallerRuntime

DEFAULT_MIX: tuple[tuple[CallOutcome, float], ...] = (
    (CallOutcome.COMPLETE, 0.45),
    (CallOutcome.REFUSED, 0.25),
    (CallOutcome.CALLBACK, 0.10),
    (CallOutcome.PARTIAL, 0.08),
    (CallOutcome.OPT_OUT, 0.04),
    (CallOutcome.NOT_ELIGIBLE, 0.08),
)
#: a bot's talk time is lognormal: ``talk_median_s`` × e^(N(0, TALK_SIGMA))
TALK_SIGMA = 0.6
#: an agent's time on an answering machine (AMD off): as ``gatehouse simulate``'s default
MACHINE_HANDLE_S = 10.0


@dataclass
class BotHandler:
    seed: int = 7
    talk_median_s: float = 90.0
    wrap_s: float = 10.0
    #: call id -> whether the agent hears a machine (None: every call is a person)
    hears_machine: Callable[[str], bool] | None = None
    machine_handle_s: float = MACHINE_HANDLE_S
    mix: tuple[tuple[CallOutcome, float], ...] = DEFAULT_MIX
    #: a ``domain.scripts.model.Script``: when set, every call runs it through the runner
    script: Any = None
    #: an approved script version stored by W1-C's service: interviews are persisted there
    #: at every step (start_interview / save_interview), as the agent desk does
    version_id: str | None = None
    refuse_at_intro: float = 0.25
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def connected(self, runtime: DiallerRuntime, agent_id: str, ctx: CallCtx) -> None:
        runtime._spawn(self._talk(runtime, agent_id, ctx))

    def _pick(self) -> CallOutcome:
        u = self.rng.random()
        acc = 0.0
        for outcome, weight in self.mix:
            acc += weight
            if u < acc:
                return outcome
        return self.mix[-1][0]

    def _interview(self, ctx: CallCtx) -> CallOutcome:
        """Run the script with a simulated respondent (seeded by the attempt)."""
        from gatehouse.services.dialler.respondent import disposition_for, run_interview

        if self.rng.random() < self.refuse_at_intro:
            return CallOutcome.REFUSED
        seed = int(ctx.attempt_id[:8], 16)
        interview = run_interview(
            self.script,
            seed=seed,
            contact={"first_name": "—"},
            reluctant=self.rng.random() < 0.3,
        )
        ctx.interview = interview
        if interview.outcome is None:  # run_interview always finishes; be explicit anyway
            return CallOutcome.PARTIAL
        return disposition_for(interview.outcome)

    async def _stored_interview(
        self, runtime: DiallerRuntime, agent_id: str, ctx: CallCtx, talk: float
    ) -> CallOutcome:
        """The approved version through the runner, saved after every answer."""
        from gatehouse.domain.scripts.persona import COOPERATIVE, RELUCTANT, respond
        from gatehouse.domain.scripts.runner import AnswerRefused
        from gatehouse.services import scripts as script_service
        from gatehouse.services.dialler.respondent import disposition_for

        assert self.version_id is not None
        factory = runtime.store.session_factory
        if self.rng.random() < self.refuse_at_intro:
            return CallOutcome.REFUSED
        with transaction(factory) as s:
            stored = script_service.start_interview(
                s,
                version_id=self.version_id,
                campaign_id=runtime.campaign_id,
                contact_ref=ctx.contact_ref,
                display={"first_name": "-"},
                attempt_id=ctx.attempt_id,
                agent_id=agent_id,
            )
        ctx.interview = stored.interview
        persona = RELUCTANT if self.rng.random() < 0.3 else COOPERATIVE
        rng = random.Random(int(ctx.attempt_id[:8], 16))
        interview = stored.interview
        per_step = talk / max(1, len(interview.script.elements))
        steps = 0
        while not interview.finished:
            view = interview.current()
            if view is None:
                break
            await runtime.clock.sleep(per_step)
            if ctx.remote_gone or (steps > 1 and rng.random() < persona.break_off):
                interview.break_off()
            else:
                value, other = respond(view, persona, rng)
                try:
                    interview.answer(value, other_text=other)
                except AnswerRefused:
                    if view.specials:
                        interview.answer(view.specials[0].code)
                    else:
                        interview.break_off()
            steps += 1
            with transaction(factory) as s:  # answers saved at every step
                script_service.save_interview(s, stored)
        if interview.outcome is None:
            return CallOutcome.PARTIAL
        return disposition_for(interview.outcome)

    async def _machine(self, runtime: DiallerRuntime, agent_id: str) -> None:
        """A greeting, not a person: record it as a machine and take the next call."""
        await runtime.clock.sleep(self.machine_handle_s)
        await runtime.finish_call(agent_id, CallOutcome.MACHINE)
        runtime.ready(agent_id)

    async def _talk(self, runtime: DiallerRuntime, agent_id: str, ctx: CallCtx) -> None:
        if (
            self.hears_machine is not None
            and ctx.call_id is not None
            and self.hears_machine(ctx.call_id)
        ):
            await self._machine(runtime, agent_id)
            return
        talk = self.rng.lognormvariate(0.0, TALK_SIGMA) * self.talk_median_s
        if self.version_id is None:
            await runtime.clock.sleep(talk)
        if self.version_id is not None:
            outcome = await self._stored_interview(runtime, agent_id, ctx, talk)
            if outcome == CallOutcome.COMPLETE and self.rng.random() < 0.1:
                outcome = CallOutcome.CALLBACK  # "call me back to finish"
        elif self.script is not None:
            outcome = self._interview(ctx)
            if outcome == CallOutcome.COMPLETE and self.rng.random() < 0.1:
                outcome = CallOutcome.CALLBACK  # "call me back to finish"
        else:
            outcome = self._pick()
        callback_at = None
        if outcome == CallOutcome.CALLBACK:
            slots = runtime.callback_slots(agent_id)
            if slots:
                callback_at = slots[self.rng.randrange(len(slots))]
            else:
                outcome = CallOutcome.REFUSED
        if ctx.remote_gone and outcome == CallOutcome.COMPLETE:
            outcome = CallOutcome.PARTIAL
        await runtime.finish_call(agent_id, outcome, callback_at=callback_at)
        await runtime.clock.sleep(self.wrap_s)
        runtime.ready(agent_id)
