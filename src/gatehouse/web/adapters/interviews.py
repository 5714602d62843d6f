"""The desk's interview sessions over the script services (W1-C): the pure ``Interview``
runner drives the screen; its state is saved through ``services.scripts`` after every step
(one transaction each), so a crash loses no answer and exports read what agents recorded.

Answer values arrive from the desk as strings (codes, ``item=code`` pairs, typed text) and
are converted here to what the runner validates; refusals (``AnswerRefused``) carry the
runner's message for the agent, and nothing refused is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.db import transaction
from gatehouse.domain.errors import Conflict, ValidationFailed
from gatehouse.domain.scripts import persona
from gatehouse.domain.scripts.runner import OptionView as RunnerOption
from gatehouse.domain.scripts.runner import QuestionView as RunnerQuestion
from gatehouse.services import scripts as script_service
from gatehouse.web.agent.views import OptionView, QuestionView

KIND = {
    "text": "readout",
    "single": "single",
    "yesno": "yesno",
    "multi": "multi",
    "numeric": "numeric",
    "rating": "rating",
    "grid": "grid",
    "open": "text",
}


def _option(o: RunnerOption, special: bool = False) -> OptionView:
    return OptionView(str(o.code), o.label, o.key, special, o.other_specify)


def to_view(q: RunnerQuestion) -> QuestionView:
    kind = KIND.get(q.type, q.type)
    options = tuple(_option(o) for o in q.options)
    specials = tuple(_option(o, special=True) for o in q.specials)
    if kind == "rating" and not options and q.min is not None and q.max is not None:
        # a rating scale is a row of numbered buttons; keys are the numbers themselves
        low, high = int(q.min), int(q.max)
        options = tuple(
            OptionView(str(n), str(n), str(n) if 0 <= n <= 9 else "") for n in range(low, high + 1)
        )
    return QuestionView(
        question_id=q.id,
        kind=kind,
        text=q.text,
        options=options + specials,
        items=q.items,
        minimum=q.min,
        maximum=q.max,
        position=q.position + 1,
        total=0,
        can_back=q.can_go_back,
        help_text=q.note or "",
    )


def _code(value: str) -> int:
    try:
        return int(value)
    except ValueError as bad:
        raise ValidationFailed("Choose one of the options.") from bad


class StoredInterviewSession:
    """``InterviewSession`` over ``services.scripts.StoredInterview``."""

    def __init__(self, factory: sessionmaker[Session], stored: Any) -> None:
        self._factory = factory
        self._stored = stored
        script = stored.interview.script
        self._agency = f"{script.agency}: {script.purpose}"

    @property
    def agency_line(self) -> str:
        return self._agency

    @property
    def finished(self) -> bool:
        return bool(self._stored.interview.finished)

    @property
    def outcome(self) -> str | None:
        outcome = self._stored.interview.outcome
        return outcome.value if outcome is not None else None

    def question(self) -> QuestionView | None:
        current = self._stored.interview.current()
        return to_view(current) if current is not None else None

    def _convert(self, q: RunnerQuestion, values: Sequence[str]) -> Any:
        special_codes = {str(o.code) for o in q.specials}
        if len(values) == 1 and values[0] in special_codes and q.type != "grid":
            return int(values[0])
        if q.type == "text":
            return None
        if q.type in ("single", "yesno"):
            if len(values) != 1:
                raise ValidationFailed("Choose one of the options.")
            return _code(values[0])
        if q.type == "multi":
            return [_code(v) for v in values]
        if q.type in ("numeric", "rating"):
            if len(values) != 1:
                raise ValidationFailed("Enter a number.")
            return values[0]
        if q.type == "grid":
            pairs = dict(v.split("=", 1) for v in values if "=" in v)
            return {item: _code(code) for item, code in pairs.items()}
        if q.type == "open":
            return values[0] if values else ""
        raise ValidationFailed("This question cannot be answered from the desk.")

    def answer(self, question_id: str, values: Sequence[str], other_text: str = "") -> None:
        interview = self._stored.interview
        current = interview.current()
        if current is None or current.id != question_id:
            raise Conflict("the screen was out of date; here is the current question")
        value = self._convert(current, values)
        if current.type == "numeric" and isinstance(value, str):
            value = value.strip()
        interview.answer(value, other_text=other_text or None)
        self._save()

    def back(self) -> None:
        self._stored.interview.back()
        self._save()

    def persona_answer(self, rng: Any) -> tuple[list[str], str, str]:
        """Training: a cooperative persona's answer (W1-C) as desk values and as words."""
        current = self._stored.interview.current()
        if current is None:
            return [], "", ""
        value, other = persona.respond(current, persona.COOPERATIVE, rng)
        values, words = self._words(current, value)
        if other:
            words = f"{words} ({other})"
        return values, other or "", words

    @staticmethod
    def _words(current: RunnerQuestion, value: Any) -> tuple[list[str], str]:
        labels = {o.code: o.label for o in (*current.options, *current.specials)}
        if current.type == "text" or value is None:
            return [], ""
        if isinstance(value, dict):
            values = [f"{item}={code}" for item, code in value.items()]
            words = "; ".join(
                f"{text}: {labels.get(value[item], value[item])}" for item, text in current.items
            )
            return values, words
        if isinstance(value, list):
            return [str(v) for v in value], ", ".join(str(labels.get(v, v)) for v in value)
        if current.type in ("numeric", "rating"):
            return [str(value)], str(value)
        if current.type == "open":
            return [str(value)], f"\u201c{value}\u201d"
        return [str(value)], str(labels.get(value, value))

    def _save(self) -> None:
        with transaction(self._factory) as session:
            script_service.save_interview(session, self._stored)


class InterviewStarter:
    """``InterviewFactory``: starts (or resumes) the stored interview for a connected call."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

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
    ) -> StoredInterviewSession | None:
        if version_id is None:
            return None
        with transaction(self._factory) as session:
            stored = script_service.start_interview(
                session,
                version_id=version_id,
                campaign_id=campaign_id,
                contact_ref=contact_ref,
                display=display,
                attempt_id=attempt_id,
                agent_id=agent_id,
                training=training,
            )
        return StoredInterviewSession(self._factory, stored)
