"""The interview runner: routing, validation, randomisation, quotas, back, resume."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatehouse.domain.scripts.model import SPECIAL_CODES, InterviewOutcome, Script
from gatehouse.domain.scripts.runner import AnswerRefused, Interview, InterviewFinished

CONTACT = {"first_name": "Ann"}


def _through_screener(i: Interview) -> None:
    i.answer()  # intro
    i.answer(1)  # consent
    i.answer(1)  # decision maker


def test_pipes_approved_display_fields(example: Script) -> None:
    i = Interview.start(example, seed=1, contact=CONTACT)
    view = i.current()
    assert view is not None and view.id == "intro"
    assert "Ann" in view.text and "{" not in view.text


def test_screen_out_terminates(example: Script) -> None:
    i = Interview.start(example, seed=1, contact=CONTACT)
    i.answer()
    i.answer(2)  # does not consent
    assert i.outcome is InterviewOutcome.SCREENED_OUT
    with pytest.raises(InterviewFinished):
        i.answer(1)


def test_route_skips_forward(example: Script) -> None:
    i = Interview.start(example, seed=1, contact=CONTACT)
    _through_screener(i)
    i.answer(1)
    i.answer(1)
    i.answer([6])  # none of these -> skip to recommend
    view = i.current()
    assert view is not None and view.id == "recommend"


def test_exclusive_option_must_be_alone(example: Script) -> None:
    i = Interview.start(example, seed=1, contact=CONTACT)
    _through_screener(i)
    i.answer(1)
    i.answer(1)
    with pytest.raises(AnswerRefused, match="on its own"):
        i.answer([1, 6])


def test_other_specify_is_screened_and_never_stored(example: Script) -> None:
    i = Interview.start(example, seed=1, contact=CONTACT)
    _through_screener(i)
    i.answer(1)
    i.answer(1)
    with pytest.raises(AnswerRefused, match="phone number"):
        i.answer([5], other_text="ring me on 07700 900 123")
    assert "products" not in i.answers and "products_other" not in i.answers
    i.answer([5], other_text="travel")
    assert i.answers["products_other"] == "travel"


def test_open_text_with_pii_is_refused(example: Script) -> None:
    i = Interview.start(example, seed=3, contact=CONTACT)
    _through_screener(i)
    i.answer(1)
    i.answer(1)
    i.answer([6])
    i.answer(3)
    for text in ["my postcode is SW1A 1AA", "email me at a@b.co.uk", "card 4111111111111111"]:
        with pytest.raises(AnswerRefused):
            i.answer(text)
    assert "improve" not in i.answers
    i.answer("Simpler forms")
    i.answer()
    assert i.outcome is InterviewOutcome.COMPLETE


def test_numeric_range_and_specials(example: Script) -> None:
    i = Interview.start(example, seed=3, contact=CONTACT)
    _through_screener(i)
    i.answer(1)
    i.answer(1)
    i.answer([6])
    for bad in [-1, 51, 2.5, "many", True, None]:
        with pytest.raises(AnswerRefused):
            i.answer(bad)
    i.answer(SPECIAL_CODES["dont_know"])
    assert i.answers["recommend"] == -8


def test_quota_full_ends_interview(example: Script) -> None:
    i = Interview.start(
        example, seed=1, contact=CONTACT, quota_is_full=lambda q, cell: cell == "1,1"
    )
    _through_screener(i)
    i.answer(1)
    i.answer(1)
    assert i.outcome is InterviewOutcome.QUOTA_FULL
    assert i.state["quota_cells"] == {"age_nation": "1,1"}


def test_randomisation_is_stable_per_contact_and_varies_between(example: Script) -> None:
    def order(seed: int) -> list[int]:
        i = Interview.start(example, seed=seed, contact=CONTACT)
        _through_screener(i)
        i.answer(1)
        i.answer(1)
        view = i.current()
        assert view is not None
        return [o.code for o in view.options]

    assert order(11) == order(11)
    orders = {tuple(order(s)) for s in range(20)}
    assert len(orders) > 3
    assert all(o[-2:] == (5, 6) for o in orders)  # fixed options keep their place


def test_back_clears_the_answer(example: Script) -> None:
    i = Interview.start(example, seed=1, contact=CONTACT)
    _through_screener(i)
    i.back()
    view = i.current()
    assert view is not None and view.id == "decision_maker"
    assert "decision_maker" not in i.answers
    i.answer(3)
    assert i.outcome is InterviewOutcome.SCREENED_OUT


def test_break_off_and_refusal(example: Script) -> None:
    refused = Interview.start(example, seed=1, contact=CONTACT)
    refused.break_off()
    assert refused.outcome is InterviewOutcome.REFUSED
    partial = Interview.start(example, seed=1, contact=CONTACT)
    _through_screener(partial)
    partial.break_off()
    assert partial.outcome is InterviewOutcome.BREAK_OFF
    assert partial.answers == {"consent": 1, "decision_maker": 1}


def _answer_for(view: Any, draw: Any) -> Any:
    specials = [o.code for o in view.specials]
    if view.type == "text":
        return None
    if view.type in ("single", "yesno"):
        return draw(st.sampled_from([o.code for o in view.options] + specials + [999, "x"]))
    if view.type == "multi":
        codes = [o.code for o in view.options]
        return draw(
            st.one_of(
                st.lists(st.sampled_from(codes), max_size=4), st.sampled_from(specials or [0])
            )
        )
    if view.type in ("numeric", "rating"):
        return draw(
            st.one_of(st.integers(-10, 60), st.sampled_from(specials or [0]), st.text(max_size=3))
        )
    if view.type == "grid":
        scale = [o.code for o in view.options] + specials
        return {item: draw(st.sampled_from(scale)) for item, _ in view.items}
    if view.type == "open":
        return draw(st.one_of(st.text(max_size=40), st.just("07700 900123"), st.just("fine")))
    return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(0, 10_000))
def test_any_answer_sequence_validates_or_is_refused_and_resume_reproduces_state(
    example: Script, data: st.DataObject, seed: int
) -> None:
    interview = Interview.start(example, seed=seed, contact=CONTACT)
    for _step in range(40):
        view = interview.current()
        if view is None:
            break
        before = interview.state
        if view.can_go_back and data.draw(st.integers(0, 9)) == 0:
            interview.back()
        else:
            value = _answer_for(view, data.draw)
            other = data.draw(st.sampled_from([None, "other thing"]))
            try:
                interview.answer(value, other_text=other)
            except AnswerRefused:
                assert interview.state == before  # a refused answer changes nothing
                continue
        resumed = Interview.resume(example, interview.state, contact=CONTACT)
        assert resumed.state == interview.state
        assert resumed.current() == interview.current()
    assert all(not isinstance(v, str) or "07700" not in v for v in interview.answers.values())


def test_resume_rejects_a_tampered_path(example: Script) -> None:
    i = Interview.start(example, seed=1, contact=CONTACT)
    _through_screener(i)
    state = i.state
    state["history"] = ["intro", "decision_maker"]
    with pytest.raises(Exception, match="replay"):
        Interview.resume(example, state, contact=CONTACT)
