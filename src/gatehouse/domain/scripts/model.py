"""The script model: what a questionnaire may contain, validated with Pydantic.

A script is authored as YAML (see docs/scripts.md) and loaded with :func:`load_script`,
which names the path and line of every problem. Static checks at load time: unique ids,
routes only forward to existing elements (so no loops), expressions that parse and read only
earlier questions, piping only from earlier questions or ``contact.<field>``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gatehouse.domain.errors import ValidationFailed
from gatehouse.domain.scripts import expressions, yamlsafe

# Standard codes for special answers. Negative, so they never collide with a real value
# (a numeric answer of 98 is a real age); declared as user-missing in SPSS exports.
SPECIAL_CODES: dict[str, int] = {"not_applicable": -7, "dont_know": -8, "refused": -9}
SPECIAL_LABELS: dict[str, str] = {
    "not_applicable": "Not applicable",
    "dont_know": "Don't know",
    "refused": "Refused",
}
SpecialName = Literal["not_applicable", "dont_know", "refused"]

ID_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
PIPE_PATTERN = re.compile(r"\{(contact\.)?([a-z_][a-z0-9_]{0,63})\}")
MAX_ELEMENTS = 500
MAX_OPTIONS = 100


class InterviewOutcome(StrEnum):
    COMPLETE = "complete"
    SCREENED_OUT = "screened_out"
    QUOTA_FULL = "quota_full"
    BREAK_OFF = "break_off"
    REFUSED = "refused"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Option(_Strict):
    code: int = Field(ge=0, le=99_999)
    label: str = Field(min_length=1, max_length=300)
    other_specify: bool = False  # asks for a short typed answer, screened for PII
    exclusive: bool = False  # in a multiple choice, must be chosen alone ("none of these")
    fixed: bool = False  # keeps its place when options are randomised


class Route(_Strict):
    when: str = Field(alias="if", max_length=expressions.MAX_EXPRESSION_LENGTH)
    goto: str | None = None
    terminate: Literal["screened_out", "complete"] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Route:
        if (self.goto is None) == (self.terminate is None):
            raise ValueError("a route needs exactly one of 'goto' or 'terminate'")
        return self


class _Element(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    text: str = Field(min_length=1, max_length=4000)
    filter: str | None = Field(default=None, max_length=expressions.MAX_EXPRESSION_LENGTH)
    routes: list[Route] = Field(default_factory=list, max_length=50)
    allow: list[SpecialName] = Field(default_factory=list)
    note: str | None = Field(default=None, max_length=1000)  # interviewer instruction


class TextElement(_Element):
    type: Literal["text"]


class SingleChoice(_Element):
    type: Literal["single"]
    options: list[Option] = Field(min_length=2, max_length=MAX_OPTIONS)
    randomise: bool = False


class MultiChoice(_Element):
    type: Literal["multi"]
    options: list[Option] = Field(min_length=2, max_length=MAX_OPTIONS)
    randomise: bool = False
    min_choices: int = Field(default=1, ge=1)
    max_choices: int | None = Field(default=None, ge=1)


class Numeric(_Element):
    type: Literal["numeric"]
    min: float
    max: float
    integer: bool = True

    @model_validator(mode="after")
    def _range(self) -> Numeric:
        if self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class Rating(_Element):
    type: Literal["rating"]
    min: int = 1
    max: int = Field(default=5, le=11)
    low_label: str = "Very poor"
    high_label: str = "Very good"

    @model_validator(mode="after")
    def _range(self) -> Rating:
        if self.min >= self.max:
            raise ValueError("min must be below max")
        return self


class GridItem(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    text: str = Field(min_length=1, max_length=300)


class Grid(_Element):
    type: Literal["grid"]
    items: list[GridItem] = Field(min_length=1, max_length=50)
    scale: list[Option] = Field(min_length=2, max_length=20)
    randomise: bool = False  # item order


class OpenText(_Element):
    type: Literal["open"]
    purpose: str | None = Field(default=None, max_length=500)  # lint requires it
    max_length: int = Field(default=300, ge=1, le=2000)


class YesNo(_Element):
    type: Literal["yesno"]


Element = Annotated[
    TextElement | SingleChoice | MultiChoice | Numeric | Rating | Grid | OpenText | YesNo,
    Field(discriminator="type"),
]
QUESTION_TYPES = (SingleChoice, MultiChoice, Numeric, Rating, Grid, OpenText, YesNo)
YES_NO_OPTIONS = (Option(code=1, label="Yes"), Option(code=2, label="No"))


class QuotaCell(_Strict):
    match: dict[str, int]
    target: int = Field(ge=0)

    def key(self, variables: list[str]) -> str:
        return ",".join(str(self.match[v]) for v in variables)


class Quota(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    variables: list[str] = Field(min_length=1, max_length=4)
    cells: list[QuotaCell] = Field(min_length=1, max_length=500)


class Script(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    title: str = Field(min_length=1, max_length=200)
    agency: str = Field(min_length=1, max_length=200)
    purpose: str = Field(min_length=1, max_length=500)
    language: str = "en-GB"
    elements: list[Element] = Field(min_length=1, max_length=MAX_ELEMENTS)
    rotate_blocks: list[list[str]] = Field(default_factory=list, max_length=20)
    quotas: list[Quota] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _static_checks(self) -> Script:
        position: dict[str, int] = {}
        for i, element in enumerate(self.elements):
            if element.id in position:
                raise ValueError(f"duplicate element id {element.id!r}")
            position[element.id] = i
            if isinstance(element, Grid):
                item_ids = [item.id for item in element.items]
                if len(set(item_ids)) != len(item_ids):
                    raise ValueError(f"{element.id}: duplicate grid item ids")
            if isinstance(element, SingleChoice | MultiChoice | Grid):
                opts = element.scale if isinstance(element, Grid) else element.options
                codes = [o.code for o in opts]
                if len(set(codes)) != len(codes):
                    raise ValueError(f"{element.id}: duplicate option codes")
        for i, element in enumerate(self.elements):
            self._check_element(i, element, position)
        self._check_blocks(position)
        self._check_quotas(position)
        return self

    def _check_element(self, i: int, element: Any, position: dict[str, int]) -> None:
        earlier = {e.id for e in self.elements[:i]}
        sources: list[tuple[str, str]] = []
        if element.filter:
            sources.append(("filter", element.filter))
        for route in element.routes:
            # A route is evaluated after this element is answered, so it may read it too.
            sources.append(("route", route.when))
            if route.goto is not None:
                if route.goto not in position:
                    raise ValueError(f"{element.id}: route goes to missing element {route.goto!r}")
                if position[route.goto] <= i:
                    raise ValueError(
                        f"{element.id}: route goes backwards to {route.goto!r} (loops are not "
                        "allowed; routes only skip forward)"
                    )
        for kind, source in sources:
            try:
                parsed = expressions.parse(source)
            except expressions.ExpressionError as exc:
                raise ValueError(f"{element.id}: {kind}: {exc.message}") from None
            visible = earlier | ({element.id} if kind == "route" else set())
            unknown = parsed.question_refs - visible
            if unknown:
                raise ValueError(
                    f"{element.id}: {kind} reads {sorted(unknown)}, which are not earlier questions"
                )
        for text in _texts(element):
            for match in PIPE_PATTERN.finditer(text):
                if not match.group(1) and match.group(2) not in earlier:
                    raise ValueError(
                        f"{element.id}: pipes {{{match.group(2)}}}, not an earlier question"
                    )

    def _check_blocks(self, position: dict[str, int]) -> None:
        seen: set[str] = set()
        for block in self.rotate_blocks:
            for element_id in block:
                if element_id not in position:
                    raise ValueError(f"rotate_blocks names missing element {element_id!r}")
                if element_id in seen:
                    raise ValueError(f"rotate_blocks names {element_id!r} twice")
                seen.add(element_id)
            indexes = sorted(position[e] for e in block)
            if indexes != list(range(indexes[0], indexes[0] + len(indexes))):
                raise ValueError(f"block {block} is not a contiguous run of elements")
        # Blocks rotate among themselves: they must be adjacent to each other.
        if self.rotate_blocks:
            spans = sorted(
                (min(position[e] for e in b), max(position[e] for e in b))
                for b in self.rotate_blocks
            )
            for (_, end), (start, _) in itertools.pairwise(spans):
                if start != end + 1:
                    raise ValueError("rotated blocks must follow one another directly")
            for block in self.rotate_blocks:
                for element_id in block:
                    for route in self.elements[position[element_id]].routes:
                        if route.goto is not None:
                            raise ValueError(
                                f"{element_id}: elements in rotated blocks cannot route"
                            )

    def _check_quotas(self, position: dict[str, int]) -> None:
        for quota in self.quotas:
            for var in quota.variables:
                element = self.elements[position[var]] if var in position else None
                if not isinstance(element, SingleChoice | YesNo):
                    raise ValueError(f"quota {quota.id}: {var!r} is not a single-choice question")
            keys = set()
            for cell in quota.cells:
                if set(cell.match) != set(quota.variables):
                    raise ValueError(f"quota {quota.id}: a cell must match {quota.variables}")
                key = cell.key(quota.variables)
                if key in keys:
                    raise ValueError(f"quota {quota.id}: cell {key} appears twice")
                keys.add(key)

    # -- queries -------------------------------------------------------------------------
    def element(self, element_id: str) -> Any:
        for element in self.elements:
            if element.id == element_id:
                return element
        raise KeyError(element_id)

    def questions(self) -> Iterator[Any]:
        return (e for e in self.elements if isinstance(e, QUESTION_TYPES))

    def contact_fields_used(self) -> frozenset[str]:
        used: set[str] = set()
        for element in self.elements:
            for text in _texts(element):
                used.update(m.group(2) for m in PIPE_PATTERN.finditer(text) if m.group(1))
            sources = [element.filter] if element.filter else []
            sources += [r.when for r in element.routes]
            for source in sources:
                used |= expressions.parse(source).contact_refs
        return frozenset(used)


def _texts(element: Any) -> list[str]:
    texts = [element.text]
    if isinstance(element, SingleChoice | MultiChoice):
        texts += [o.label for o in element.options]
    if isinstance(element, Grid):
        texts += [i.text for i in element.items] + [o.label for o in element.scale]
    return texts


def options_of(element: Any) -> tuple[Option, ...]:
    if isinstance(element, YesNo):
        return YES_NO_OPTIONS
    if isinstance(element, SingleChoice | MultiChoice):
        return tuple(element.options)
    if isinstance(element, Grid):
        return tuple(element.scale)
    return ()


class ScriptIssue(BaseModel):
    model_config = ConfigDict(frozen=True)
    path: str
    line: int | None
    message: str


class ScriptInvalid(ValidationFailed):
    error_id = "script-invalid"

    def __init__(self, issues: list[ScriptIssue]) -> None:
        summary = "; ".join(
            f"{i.path or 'script'} (line {i.line}): {i.message}" if i.line else i.message
            for i in issues[:10]
        )
        super().__init__(
            f"the script is not valid: {summary}", issues=[i.model_dump() for i in issues]
        )
        self.issues = issues


def load_script(text: str) -> Script:
    """Parse and validate YAML text; raises ScriptSyntaxError or ScriptInvalid with lines."""
    data, lines = yamlsafe.load(text)
    if not isinstance(data, dict):
        raise ScriptInvalid([ScriptIssue(path="", line=1, message="a script must be a mapping")])
    try:
        return Script.model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            # Drop the discriminator tag Pydantic puts after elements.N (not a real path part).
            if len(loc) > 2 and loc[0] == "elements" and loc[2] in _TAGS:
                loc = loc[:2] + loc[3:]
            path = ".".join(str(p) for p in loc)
            message = error["msg"].removeprefix("Value error, ")
            issues.append(
                ScriptIssue(path=path, line=yamlsafe.line_of(lines, loc), message=message)
            )
        raise ScriptInvalid(issues) from None


_TAGS = {"text", "single", "multi", "numeric", "rating", "grid", "open", "yesno"}
