"""Quality scoring of a call against a rubric (C6 supervision; the scores feed C9's work record).

A rubric is declarative: weighted criteria, each scored on ``0..scale_max``, and *critical*
criteria, each a yes/no check (``scale_max`` 1: 1 met, 0 failed) that fails the whole call
when failed whatever the other scores are ("stayed on the approved script", "no personal
information exchanged"). Critical criteria carry no weight: the total is the weighted share
of the non-critical points, as a percentage rounded to one decimal place. A call passes when
no critical criterion failed and the total reaches the rubric's pass mark.

Pure functions and frozen values only; loading a rubric from YAML lives in
``gatehouse.services.quality``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gatehouse.domain.errors import ValidationFailed

MAX_SCALE = 10
MAX_CRITERIA = 40


@dataclass(frozen=True, slots=True)
class Criterion:
    criterion_id: str
    label: str
    scale_max: int = 4
    weight: float = 1.0
    critical: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class Rubric:
    rubric_id: str
    version: int
    name: str
    criteria: tuple[Criterion, ...]
    pass_mark: float = 75.0  # percent of the weighted points

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.criterion_id == criterion_id:
                return c
        raise ValidationFailed(f"the rubric has no criterion {criterion_id!r}")

    @property
    def weighted(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if not c.critical)

    @property
    def critical(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.critical)


@dataclass(frozen=True, slots=True)
class QualityResult:
    scores: tuple[tuple[str, int], ...]  # (criterion id, score) in rubric order
    total: float  # percent, one decimal
    passed: bool
    failed_critical: tuple[str, ...]  # ids of the critical criteria that failed

    def as_dict(self) -> dict[str, int]:
        return dict(self.scores)


@dataclass(frozen=True, slots=True)
class QualitySummary:
    count: int
    mean_total: float | None  # None when nothing has been scored
    pass_rate: float | None  # 0..1

    @property
    def passed(self) -> int:
        return round((self.pass_rate or 0.0) * self.count)


def validate_rubric(rubric: Rubric) -> Rubric:
    """Refuse a rubric that cannot be scored meaningfully; returns it unchanged."""
    if not rubric.rubric_id.strip():
        raise ValidationFailed("a rubric needs an id")
    if rubric.version < 1:
        raise ValidationFailed("a rubric version starts at 1")
    if not rubric.criteria:
        raise ValidationFailed("a rubric needs at least one criterion")
    if len(rubric.criteria) > MAX_CRITERIA:
        raise ValidationFailed(f"a rubric has at most {MAX_CRITERIA} criteria")
    if not 0.0 <= rubric.pass_mark <= 100.0:
        raise ValidationFailed("the pass mark is a percentage between 0 and 100")
    seen: set[str] = set()
    for c in rubric.criteria:
        if not c.criterion_id.strip() or not c.label.strip():
            raise ValidationFailed("every criterion needs an id and a label")
        if c.criterion_id in seen:
            raise ValidationFailed(f"criterion {c.criterion_id!r} appears twice")
        seen.add(c.criterion_id)
        if c.critical:
            if c.scale_max != 1:
                raise ValidationFailed(
                    f"critical criterion {c.criterion_id!r} is a yes/no check (scale 1)"
                )
            if c.weight != 0.0:
                raise ValidationFailed(f"critical criterion {c.criterion_id!r} carries no weight")
        else:
            if not 1 <= c.scale_max <= MAX_SCALE:
                raise ValidationFailed(
                    f"criterion {c.criterion_id!r}: the scale is 0..N, N from 1 to {MAX_SCALE}"
                )
            if not c.weight > 0.0:
                raise ValidationFailed(f"criterion {c.criterion_id!r} needs a positive weight")
    if not rubric.weighted:
        raise ValidationFailed("a rubric needs at least one weighted (non-critical) criterion")
    return rubric


def score(rubric: Rubric, scores: Mapping[str, int]) -> QualityResult:
    """Score one call: every criterion must have a whole-number score within its scale."""
    unknown = sorted(set(scores) - {c.criterion_id for c in rubric.criteria})
    if unknown:
        raise ValidationFailed(f"not on this rubric: {', '.join(unknown)}")
    ordered: list[tuple[str, int]] = []
    for c in rubric.criteria:
        if c.criterion_id not in scores:
            raise ValidationFailed(f"score every criterion: {c.label!r} is missing")
        value = scores[c.criterion_id]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationFailed(f"{c.label!r}: a score is a whole number")
        if not 0 <= value <= c.scale_max:
            raise ValidationFailed(f"{c.label!r}: a score is between 0 and {c.scale_max}")
        ordered.append((c.criterion_id, value))
    got = dict(ordered)
    weight = sum(c.weight for c in rubric.weighted)
    points = sum(c.weight * got[c.criterion_id] / c.scale_max for c in rubric.weighted)
    total = round(100.0 * points / weight, 1)
    failed = tuple(c.criterion_id for c in rubric.critical if got[c.criterion_id] < 1)
    return QualityResult(
        scores=tuple(ordered),
        total=total,
        passed=not failed and total >= rubric.pass_mark,
        failed_critical=failed,
    )


def summarise(results: Iterable[tuple[float, bool]]) -> QualitySummary:
    """(total, passed) per scored call -> count, mean total (one decimal), pass rate."""
    items = list(results)
    if not items:
        return QualitySummary(0, None, None)
    mean = round(sum(t for t, _ in items) / len(items), 1)
    rate = sum(1 for _, ok in items if ok) / len(items)
    return QualitySummary(len(items), mean, rate)
