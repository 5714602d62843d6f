"""Simulated respondents: answers from a persona, through the one interview runner.

Training mode, the simulator and the benchmarks use this so a simulated interview takes the
same path a real one would: ``Interview.start`` → ``current()`` → ``answer(...)``. A
:class:`Persona` says how cooperative the person is; all randomness comes from a
``random.Random`` seeded by the caller, so a run is reproducible.

The respondent only ever sees the render-ready :class:`QuestionView` (no PII beyond the
approved display fields), exactly like an agent's screen.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gatehouse.domain.scripts.model import Script
from gatehouse.domain.scripts.runner import AnswerRefused, Interview, QuestionView, QuotaIsFull


@dataclass(frozen=True, slots=True)
class Persona:
    name: str = "cooperative"
    agree: float = 0.9  # chance of "yes" to a yes/no (consent, screeners)
    dont_know: float = 0.05  # chance of a special answer where one is offered
    break_off: float = 0.01  # chance, per question after the first two, of hanging up
    verbatims: tuple[str, ...] = field(
        default=(
            "Clearer wording on the policy.",
            "Cheaper premiums.",
            "Less jargon and fewer add-ons.",
            "Faster claims.",
        )
    )
    other_texts: tuple[str, ...] = ("Travel cover", "Gadget cover", "Life cover")


COOPERATIVE = Persona()
RELUCTANT = Persona("reluctant", agree=0.4, dont_know=0.3, break_off=0.08)
PERSONAS: dict[str, Persona] = {p.name: p for p in (COOPERATIVE, RELUCTANT)}


def respond(view: QuestionView, persona: Persona, rng: random.Random) -> tuple[Any, str | None]:
    """An answer in the shape the runner validates, and any "other, specify" text."""
    if view.type == "text":
        return None, None
    if view.type == "grid":  # specials are chosen per row in a grid
        choices = (
            [*view.options, *view.specials] if rng.random() < persona.dont_know else [*view.options]
        )
        return {item_id: rng.choice(choices).code for item_id, _ in view.items}, None
    if view.specials and rng.random() < persona.dont_know:
        return rng.choice(view.specials).code, None
    if view.type == "yesno":
        return (1 if rng.random() < persona.agree else 2), None
    if view.type == "single":
        option = rng.choice(view.options)
        return option.code, (rng.choice(persona.other_texts) if option.other_specify else None)
    if view.type == "multi":
        exclusive = [o for o in view.options if o.exclusive]
        plain = [o for o in view.options if not o.exclusive]
        if exclusive and rng.random() < 0.1:
            return [rng.choice(exclusive).code], None
        low = view.min_choices or 1
        high = min(view.max_choices or len(plain), len(plain))
        chosen = rng.sample(plain, rng.randint(low, max(low, high)))
        other = rng.choice(persona.other_texts) if any(o.other_specify for o in chosen) else None
        return sorted(o.code for o in chosen), other
    if view.type in ("numeric", "rating"):
        low = int(view.min if view.min is not None else 0)
        high = int(view.max if view.max is not None else 10)
        return rng.randint(low, high), None
    if view.type == "open":
        return rng.choice(persona.verbatims), None
    return None, None


def simulate(
    script: Script,
    *,
    seed: int,
    persona: Persona = COOPERATIVE,
    contact: Mapping[str, str] | None = None,
    quota_is_full: QuotaIsFull | None = None,
    max_steps: int = 1000,
) -> Interview:
    """Run one whole interview with ``persona``; returns the finished interview."""
    rng = random.Random(seed)
    interview = Interview.start(script, seed=seed, contact=contact, quota_is_full=quota_is_full)
    steps = 0
    while not interview.finished and steps < max_steps:
        view = interview.current()
        if view is None:
            break
        if steps > 1 and rng.random() < persona.break_off:
            interview.break_off()
            break
        value, other = respond(view, persona, rng)
        try:
            interview.answer(value, other_text=other)
        except AnswerRefused:
            # The persona misread the question: say "don't know" if allowed, else hang up.
            if view.specials:
                interview.answer(view.specials[0].code)
            else:
                interview.break_off()
        steps += 1
    if not interview.finished:
        interview.break_off()
    return interview
