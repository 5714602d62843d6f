"""Quality scoring against a rubric (C6): weighted total, critical criteria, edge cases."""

from __future__ import annotations

import pytest

from gatehouse.domain.errors import ValidationFailed
from gatehouse.domain.quality import Criterion, Rubric, score, summarise, validate_rubric

RUBRIC = validate_rubric(
    Rubric(
        "r1",
        1,
        "Test rubric",
        (
            Criterion("opening", "Opening", scale_max=4, weight=1.0),
            Criterion("questions", "Questions", scale_max=4, weight=3.0),
            Criterion("on_script", "On script", scale_max=1, weight=0.0, critical=True),
        ),
        pass_mark=75.0,
    )
)


def test_weighted_total_as_percentage() -> None:
    result = score(RUBRIC, {"opening": 2, "questions": 4, "on_script": 1})
    # (1 * 2/4 + 3 * 4/4) / 4 = 3.5 / 4
    assert result.total == 87.5
    assert result.passed and result.failed_critical == ()
    assert result.as_dict() == {"opening": 2, "questions": 4, "on_script": 1}


def test_full_marks_and_zero() -> None:
    assert score(RUBRIC, {"opening": 4, "questions": 4, "on_script": 1}).total == 100.0
    zero = score(RUBRIC, {"opening": 0, "questions": 0, "on_script": 1})
    assert zero.total == 0.0 and not zero.passed and zero.failed_critical == ()


def test_failed_critical_fails_a_perfect_call() -> None:
    result = score(RUBRIC, {"opening": 4, "questions": 4, "on_script": 0})
    assert result.total == 100.0
    assert not result.passed
    assert result.failed_critical == ("on_script",)


def test_pass_mark_is_inclusive() -> None:
    # (1 * 0 + 3 * 4/4) / 4 = 75 %
    assert score(RUBRIC, {"opening": 0, "questions": 4, "on_script": 1}).passed
    # (1 * 4/4 + 3 * 3/4) / 4 = 81.25 -> 81.2 (one decimal, banker's rounding)
    assert score(RUBRIC, {"opening": 4, "questions": 3, "on_script": 1}).total == 81.2
    exact = score(RUBRIC, {"opening": 3, "questions": 3, "on_script": 1})
    assert exact.total == 75.0 and exact.passed  # 3/4 everywhere is exactly the mark
    assert not score(RUBRIC, {"opening": 2, "questions": 3, "on_script": 1}).passed


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({"opening": 4, "questions": 4}, "missing"),
        ({"opening": 4, "questions": 4, "on_script": 1, "extra": 1}, "not on this rubric"),
        ({"opening": 5, "questions": 4, "on_script": 1}, "between 0 and 4"),
        ({"opening": -1, "questions": 4, "on_script": 1}, "between 0 and 4"),
        ({"opening": 4, "questions": 4, "on_script": 2}, "between 0 and 1"),
        ({"opening": True, "questions": 4, "on_script": 1}, "whole number"),
        ({"opening": 2.5, "questions": 4, "on_script": 1}, "whole number"),
    ],
)
def test_bad_scores_are_refused(scores: dict[str, int], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        score(RUBRIC, scores)


def _rubric(*criteria: Criterion, pass_mark: float = 75.0, version: int = 1) -> Rubric:
    return Rubric("r", version, "R", criteria, pass_mark=pass_mark)


@pytest.mark.parametrize(
    ("rubric", "message"),
    [
        (_rubric(), "at least one criterion"),
        (_rubric(Criterion("a", "A"), Criterion("a", "A again")), "twice"),
        (_rubric(Criterion("a", "A", weight=0.0)), "positive weight"),
        (_rubric(Criterion("a", "A", scale_max=0)), "scale"),
        (_rubric(Criterion("a", "A", scale_max=11)), "scale"),
        (_rubric(Criterion("c", "C", scale_max=1, weight=0.0, critical=True)), "weighted"),
        (
            _rubric(Criterion("a", "A"), Criterion("c", "C", scale_max=4, weight=0, critical=True)),
            "yes/no",
        ),
        (
            _rubric(Criterion("a", "A"), Criterion("c", "C", scale_max=1, weight=2, critical=True)),
            "no weight",
        ),
        (_rubric(Criterion("a", "A"), pass_mark=101.0), "pass mark"),
        (_rubric(Criterion("a", "A"), version=0), "version"),
        (_rubric(Criterion("", "A")), "id and a label"),
    ],
)
def test_bad_rubrics_are_refused(rubric: Rubric, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        validate_rubric(rubric)


def test_unknown_criterion_lookup() -> None:
    assert RUBRIC.criterion("opening").label == "Opening"
    with pytest.raises(ValidationFailed):
        RUBRIC.criterion("nope")


def test_summary() -> None:
    empty = summarise([])
    assert (empty.count, empty.mean_total, empty.pass_rate) == (0, None, None)
    summary = summarise([(80.0, True), (60.0, False), (90.5, True)])
    assert summary.count == 3
    assert summary.mean_total == 76.8
    assert summary.pass_rate == pytest.approx(2 / 3)
    assert summary.passed == 2
