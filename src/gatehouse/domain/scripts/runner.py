"""The interview runner: one pure state machine every front end drives.

``Interview.start(script, seed=..., contact=...)`` begins; ``current()`` gives a render-ready,
PII-free :class:`QuestionView`; ``answer(value)`` validates, screens typed text, applies routes,
filters and quotas and moves on; ``back()`` steps back; ``state`` is a JSON-able dict saved at
every step; ``Interview.resume(script, state, contact=...)`` rebuilds the same interview and
checks the saved path by replaying it. Randomised orders depend only on (script id, seed,
element), so a resumed or replayed interview shows the same order.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gatehouse.domain.errors import ValidationFailed
from gatehouse.domain.scripts import expressions
from gatehouse.domain.scripts.model import (
    PIPE_PATTERN,
    SPECIAL_CODES,
    SPECIAL_LABELS,
    Grid,
    InterviewOutcome,
    MultiChoice,
    Numeric,
    OpenText,
    Option,
    Rating,
    Script,
    SingleChoice,
    TextElement,
    YesNo,
    options_of,
)
from gatehouse.domain.scripts.screening import screen_text

QuotaIsFull = Callable[[str, str], bool]  # (quota id, cell key) -> full?


class AnswerRefused(ValidationFailed):
    """The answer is not acceptable; the message is for the agent. Nothing was stored."""

    error_id = "answer-refused"


class InterviewFinished(ValidationFailed):
    error_id = "interview-finished"


@dataclass(frozen=True, slots=True)
class OptionView:
    key: str  # what the agent presses: "1".."9", then "0", then letters
    code: int
    label: str
    other_specify: bool = False
    exclusive: bool = False


@dataclass(frozen=True, slots=True)
class QuestionView:
    """Everything a screen needs to show the current element, and nothing else."""

    id: str
    type: str
    text: str
    note: str | None
    options: tuple[OptionView, ...]
    specials: tuple[OptionView, ...]
    items: tuple[tuple[str, str], ...]  # grid rows (id, text)
    min: float | None
    max: float | None
    integer: bool
    max_length: int | None
    min_choices: int | None
    max_choices: int | None
    position: int  # how many elements were shown before this one
    can_go_back: bool
    previous_answer: Any = None


_KEYS = [*"123456789", "0", *"abcdefghijklmnopqrstuvwxyz"]


class Interview:
    def __init__(
        self,
        script: Script,
        *,
        seed: int,
        contact: Mapping[str, str] | None = None,
        quota_is_full: QuotaIsFull | None = None,
        region: str = "GB",
    ) -> None:
        self.script = script
        self.seed = seed
        self.contact = dict(contact or {})
        self.quota_is_full = quota_is_full or (lambda _q, _c: False)
        self.region = region
        self.order = _element_order(script, seed)
        self.answers: dict[str, Any] = {}
        self.history: list[str] = []
        self.current_id: str | None = None
        self.outcome: InterviewOutcome | None = None
        self.quota_cells: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        script: Script,
        *,
        seed: int,
        contact: Mapping[str, str] | None = None,
        quota_is_full: QuotaIsFull | None = None,
    ) -> Interview:
        interview = cls(script, seed=seed, contact=contact, quota_is_full=quota_is_full)
        interview.current_id = interview._next_shown(-1)
        if interview.current_id is None:
            interview.outcome = InterviewOutcome.COMPLETE
        return interview

    @classmethod
    def resume(
        cls,
        script: Script,
        state: Mapping[str, Any],
        *,
        contact: Mapping[str, str] | None = None,
        quota_is_full: QuotaIsFull | None = None,
    ) -> Interview:
        """Rebuild from a saved state, replaying its path to prove it is consistent."""
        if state.get("script") != script.id:
            raise ValidationFailed("saved interview belongs to another script")
        seed = int(state["seed"])
        saved_answers: dict[str, Any] = dict(state["answers"])
        replay = cls.start(script, seed=seed, contact=contact)
        for element_id in state["history"]:
            if replay.current_id != element_id:
                raise ValidationFailed(f"saved interview does not replay at {element_id!r}")
            replay._record_and_advance(saved_answers.get(element_id), saved_answers, screen=False)
        outcome = state.get("outcome")
        if outcome is not None:
            replay.outcome = InterviewOutcome(outcome)
            replay.current_id = None
        elif replay.current_id != state.get("current"):
            raise ValidationFailed("saved interview does not replay to the same question")
        replay.quota_cells = dict(state.get("quota_cells", {}))
        replay.quota_is_full = quota_is_full or (lambda _q, _c: False)
        return replay

    @property
    def state(self) -> dict[str, Any]:
        return {
            "script": self.script.id,
            "seed": self.seed,
            "answers": dict(self.answers),
            "history": list(self.history),
            "current": self.current_id,
            "outcome": self.outcome.value if self.outcome else None,
            "quota_cells": dict(self.quota_cells),
        }

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def break_off(self, refused: bool = False) -> None:
        """The respondent stopped (or refused at the start); keep what was answered."""
        if self.outcome is None:
            self.outcome = (
                InterviewOutcome.REFUSED
                if refused or not self.answers
                else InterviewOutcome.BREAK_OFF
            )
            self.current_id = None

    # -- the screen --------------------------------------------------------------------
    def current(self) -> QuestionView | None:
        if self.current_id is None:
            return None
        element = self.script.element(self.current_id)
        options = self._ordered_options(element)
        views = tuple(
            OptionView(_KEYS[i], o.code, self._pipe(o.label), o.other_specify, o.exclusive)
            for i, o in enumerate(options)
        )
        specials = tuple(
            OptionView(key, SPECIAL_CODES[name], SPECIAL_LABELS[name])
            for key, name in zip(("d", "r", "n"), _ordered_specials(element.allow), strict=False)
        )
        items: tuple[tuple[str, str], ...] = ()
        if isinstance(element, Grid):
            grid_items = list(element.items)
            if element.randomise:
                _rng(self.script.id, self.seed, element.id + ":items").shuffle(grid_items)
            items = tuple((i.id, self._pipe(i.text)) for i in grid_items)
        return QuestionView(
            id=element.id,
            type=element.type,
            text=self._pipe(element.text),
            note=element.note,
            options=views,
            specials=specials,
            items=items,
            min=getattr(element, "min", None) if isinstance(element, Numeric | Rating) else None,
            max=getattr(element, "max", None) if isinstance(element, Numeric | Rating) else None,
            integer=isinstance(element, Rating)
            or (isinstance(element, Numeric) and element.integer),
            max_length=element.max_length if isinstance(element, OpenText) else None,
            min_choices=element.min_choices if isinstance(element, MultiChoice) else None,
            max_choices=element.max_choices if isinstance(element, MultiChoice) else None,
            position=len(self.history),
            can_go_back=bool(self.history),
            previous_answer=self.answers.get(element.id),
        )

    # -- moving ------------------------------------------------------------------------
    def answer(self, value: Any = None, *, other_text: str | None = None) -> None:
        """Validate and record the answer to the current element, then move on."""
        if self.current_id is None:
            raise InterviewFinished("the interview has finished")
        element = self.script.element(self.current_id)
        normalised = self._validate(element, value)
        extra: dict[str, Any] = {}
        other = self._other_option_chosen(element, normalised)
        if other:
            text = (other_text or "").strip()
            if not text:
                raise AnswerRefused("Please type the 'other' answer.")
            self._screen(text)
            extra[f"{element.id}_other"] = text[:200]
        self._record_and_advance(normalised, extra, screen=True)

    def back(self) -> None:
        if not self.history:
            raise AnswerRefused("This is the first question.")
        if self.outcome is not None:
            raise InterviewFinished("the interview has finished")
        previous = self.history.pop()
        for key in (self.current_id, previous):
            if key is not None:
                self.answers.pop(key, None)
                self.answers.pop(f"{key}_other", None)
        self.quota_cells = {
            q: c for q, c in self.quota_cells.items() if q not in self._quotas_using(previous)
        }
        self.current_id = previous

    def _record_and_advance(self, value: Any, extra: Mapping[str, Any], *, screen: bool) -> None:
        assert self.current_id is not None
        element = self.script.element(self.current_id)
        if not isinstance(element, TextElement):
            self.answers[element.id] = value
            other_key = f"{element.id}_other"
            if other_key in extra:
                self.answers[other_key] = extra[other_key]
        self.history.append(element.id)
        if screen and self._check_quotas(element.id):
            self.outcome = InterviewOutcome.QUOTA_FULL
            self.current_id = None
            return
        target = self._route(element)
        if target == "screened_out":
            self.outcome, self.current_id = InterviewOutcome.SCREENED_OUT, None
            return
        if target == "complete":
            self.outcome, self.current_id = InterviewOutcome.COMPLETE, None
            return
        start = self.order.index(target) - 1 if target else self.order.index(element.id)
        self.current_id = self._next_shown(start)
        if self.current_id is None:
            self.outcome = InterviewOutcome.COMPLETE

    def _route(self, element: Any) -> str | None:
        env = self._env()
        for route in element.routes:
            if expressions.parse(route.when).evaluate(env):
                target: str | None = route.terminate or route.goto
                return target
        return None

    def _next_shown(self, after_index: int) -> str | None:
        env = self._env()
        for element_id in self.order[after_index + 1 :]:
            element = self.script.element(element_id)
            if element.filter and not expressions.parse(element.filter).evaluate(env):
                continue
            return element_id
        return None

    def _check_quotas(self, answered_id: str) -> bool:
        for quota in self.script.quotas:
            if answered_id not in quota.variables:
                continue
            if not all(v in self.answers for v in quota.variables):
                continue
            key = ",".join(str(self.answers[v]) for v in quota.variables)
            cell = next((c for c in quota.cells if c.key(quota.variables) == key), None)
            if cell is None:
                continue  # answers outside every cell are not quota-controlled
            self.quota_cells[quota.id] = key
            if cell.target == 0 or self.quota_is_full(quota.id, key):
                return True
        return False

    def _quotas_using(self, element_id: str) -> set[str]:
        return {q.id for q in self.script.quotas if element_id in q.variables}

    # -- validation --------------------------------------------------------------------
    def _validate(self, element: Any, value: Any) -> Any:
        if isinstance(element, TextElement):
            return None
        allowed_special = {SPECIAL_CODES[name] for name in element.allow}
        if _is_int(value) and value in allowed_special and not isinstance(element, Grid):
            return value
        if isinstance(element, SingleChoice | YesNo):
            codes = {o.code for o in options_of(element)}
            if not _is_int(value) or value not in codes:
                raise AnswerRefused("Choose one of the options.")
            return value
        if isinstance(element, MultiChoice):
            if not isinstance(value, list | tuple) or not all(_is_int(v) for v in value):
                raise AnswerRefused("Choose one or more of the options.")
            chosen = sorted(set(value))
            by_code = {o.code: o for o in element.options}
            if any(c not in by_code for c in chosen):
                raise AnswerRefused("Choose only from the options shown.")
            if len(chosen) < element.min_choices:
                raise AnswerRefused(f"Choose at least {element.min_choices}.")
            if element.max_choices is not None and len(chosen) > element.max_choices:
                raise AnswerRefused(f"Choose at most {element.max_choices}.")
            if len(chosen) > 1 and any(by_code[c].exclusive for c in chosen):
                raise AnswerRefused("That option must be chosen on its own.")
            return chosen
        if isinstance(element, Numeric | Rating):
            number = _to_number(value)
            integer = isinstance(element, Rating) or element.integer
            if number is None or (integer and number != int(number)):
                raise AnswerRefused("Enter a whole number." if integer else "Enter a number.")
            if not element.min <= number <= element.max:
                raise AnswerRefused(f"Enter a number from {element.min:g} to {element.max:g}.")
            return int(number) if integer else number
        if isinstance(element, Grid):
            if not isinstance(value, Mapping):
                raise AnswerRefused("Answer every row.")
            scale = {o.code for o in element.scale} | allowed_special
            out: dict[str, int] = {}
            for item in element.items:
                code = value.get(item.id)
                if not _is_int(code) or code not in scale:
                    raise AnswerRefused(f"Answer the row '{item.text}'.")
                out[item.id] = code
            extra = set(value) - {i.id for i in element.items}
            if extra:
                raise AnswerRefused("Unknown rows in the answer.")
            return out
        if isinstance(element, OpenText):
            if not isinstance(value, str) or not value.strip():
                raise AnswerRefused("Type the answer, or use don't know / refused.")
            text = value.strip()
            if len(text) > element.max_length:
                raise AnswerRefused(f"Keep it under {element.max_length} characters.")
            self._screen(text)
            return text
        raise AnswerRefused("This element takes no answer.")

    def _screen(self, text: str) -> None:
        hits = screen_text(text, self.region)
        if hits:
            raise AnswerRefused(hits[0].message, kinds=[h.kind for h in hits])

    def _other_option_chosen(self, element: Any, value: Any) -> bool:
        if not isinstance(element, SingleChoice | MultiChoice):
            return False
        chosen = value if isinstance(value, list) else [value]
        return any(o.other_specify and o.code in chosen for o in element.options)

    # -- helpers -----------------------------------------------------------------------
    def _env(self) -> expressions.EvalEnv:
        return expressions.EvalEnv(self.answers, self.contact, SPECIAL_CODES)

    def _ordered_options(self, element: Any) -> list[Option]:
        options = list(options_of(element))
        if getattr(element, "randomise", False) and not isinstance(element, Grid):
            movable = [o for o in options if not o.fixed]
            _rng(self.script.id, self.seed, element.id).shuffle(movable)
            it = iter(movable)
            options = [o if o.fixed else next(it) for o in options]
        return options

    def _pipe(self, text: str) -> str:
        def replace(match: Any) -> str:
            if match.group(1):
                return str(self.contact.get(match.group(2), ""))
            return self._answer_label(match.group(2))

        return PIPE_PATTERN.sub(replace, text)

    def _answer_label(self, element_id: str) -> str:
        value = self.answers.get(element_id)
        if value is None:
            return ""
        element = self.script.element(element_id)
        labels = {o.code: o.label for o in options_of(element)}
        labels.update({code: SPECIAL_LABELS[name] for name, code in SPECIAL_CODES.items()})
        if isinstance(value, list):
            return ", ".join(labels.get(v, str(v)) for v in value)
        if isinstance(value, dict):
            return ""
        return labels.get(value, str(value)) if _is_int(value) else str(value)


def _element_order(script: Script, seed: int) -> list[str]:
    order = [e.id for e in script.elements]
    if not script.rotate_blocks:
        return order
    blocks = [list(b) for b in script.rotate_blocks]
    first = min(order.index(b[0]) for b in blocks)
    blocks.sort(key=lambda b: order.index(b[0]))
    span = sum(len(b) for b in blocks)
    rotated = list(blocks)
    _rng(script.id, seed, "blocks").shuffle(rotated)
    return order[:first] + [e for b in rotated for e in b] + order[first + span :]


def _rng(script_id: str, seed: int, salt: str) -> random.Random:
    return random.Random(f"{script_id}|{seed}|{salt}")  # str seeds hash with SHA-512: stable


def _ordered_specials(allow: Sequence[str]) -> list[str]:
    return [name for name in ("dont_know", "refused", "not_applicable") if name in allow]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _to_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and len(value) <= 30:
        try:
            number = float(value.strip())
        except ValueError:
            return None
    # NaN and infinities are not answers (and would crash int()).
    return number if number is not None and math.isfinite(number) else None
