"""The export layout (codebook): which columns a script's results have, and their values.

One layout drives all three formats (CSV, SPSS ``.sav``, Triple-S), so they always agree.
Rules (also in docs/scripts.md, "Data files"):

* ``respid``: a pseudonymous respondent id (never a contact reference or number);
  ``outcome``: the interview outcome as a numeric code with labels (:data:`OUTCOME_CODES`).
* single choice, yes/no, rating, numeric: one numeric column named after the question;
  don't know / refused / not applicable carry the standard codes -8 / -9 / -7, which the
  ``.sav`` declares user-missing.
* multiple choice: one 0/1 dichotomy per option (``products_1``, ``products_2`` ...); a
  special answer (e.g. don't know) puts its code in every dichotomy.
* grid: one numeric column per row (``importance_price`` ...), on the grid's scale.
* "other, specify": a text column ``<question>_other``.
* open text: a text column ``<question>`` with the verbatim, and a numeric status column
  ``<question>_st`` (1 answered, or the special code), so text and codes never share a column.
* not asked (routed or filtered past): empty / system-missing everywhere.
* client-supplied fields the campaign approved for export follow, as text, named ``f_<field>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gatehouse.domain.scripts.model import (
    SPECIAL_CODES,
    SPECIAL_LABELS,
    Grid,
    InterviewOutcome,
    MultiChoice,
    Numeric,
    OpenText,
    Rating,
    Script,
    SingleChoice,
    YesNo,
    options_of,
)

OUTCOME_CODES: dict[str, int] = {
    InterviewOutcome.COMPLETE.value: 1,
    InterviewOutcome.SCREENED_OUT.value: 2,
    InterviewOutcome.QUOTA_FULL.value: 3,
    InterviewOutcome.BREAK_OFF.value: 4,
    InterviewOutcome.REFUSED.value: 5,
}
OUTCOME_LABELS: dict[int, str] = {
    1: "Complete",
    2: "Screened out",
    3: "Quota full",
    4: "Break-off",
    5: "Refused",
}
SPECIAL_VALUE_LABELS: dict[int, str] = {
    code: SPECIAL_LABELS[name] for name, code in SPECIAL_CODES.items()
}
MISSING_CODES: tuple[int, ...] = tuple(sorted(SPECIAL_CODES.values()))
ANSWERED = 1
FIELD_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

Kind = Literal["numeric", "text"]


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One interview as the exporters see it: ids, outcome, the runner's answers, fields."""

    respondent_id: str
    outcome: str
    answers: Mapping[str, Any]
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    label: str
    kind: Kind
    value_labels: dict[int, str] = field(default_factory=dict)
    decimals: int = 0  # numeric columns only
    width: int = 0  # text: maximum characters; numeric: characters incl. sign
    user_missing: bool = False  # declare -7/-8/-9 as user-missing
    measure: Literal["nominal", "ordinal", "scale"] = "nominal"
    value_range: tuple[float, float] | None = None  # rating / numeric: a quantity


@dataclass(frozen=True, slots=True)
class Layout:
    script: Script
    columns: tuple[Column, ...]
    fields: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def values(self, row: ExportRow) -> list[int | float | str | None]:
        """The row's values in column order; ``None`` is missing (not asked)."""
        out: dict[str, int | float | str | None] = {
            "respid": row.respondent_id,
            "outcome": OUTCOME_CODES[row.outcome],
        }
        answers = row.answers
        for element in self.script.questions():
            value = answers.get(element.id)
            if isinstance(element, MultiChoice):
                for option in element.options:
                    name = f"{element.id}_{option.code}"
                    if value is None:
                        out[name] = None
                    elif isinstance(value, int):
                        out[name] = value  # a special code fills every dichotomy
                    else:
                        out[name] = 1 if option.code in value else 0
            elif isinstance(element, Grid):
                for item in element.items:
                    name = _name(element.id, item.id)
                    if value is None:
                        out[name] = None
                    elif isinstance(value, int):
                        out[name] = value
                    else:
                        out[name] = int(value[item.id])
            elif isinstance(element, OpenText):
                if value is None:
                    out[element.id] = None
                    out[f"{element.id}_st"] = None
                elif isinstance(value, int):
                    out[element.id] = None
                    out[f"{element.id}_st"] = value
                else:
                    out[element.id] = str(value)
                    out[f"{element.id}_st"] = ANSWERED
            else:
                out[element.id] = value
            if _has_other(element):
                other = answers.get(f"{element.id}_other")
                out[f"{element.id}_other"] = None if other is None else str(other)
        for name in self.fields:
            out[f"f_{name}"] = row.fields.get(name)
        return [out[c.name] for c in self.columns]


def build_layout(script: Script, export_fields: Sequence[str] = ()) -> Layout:
    """The columns for ``script``; ``export_fields`` are the campaign's approved fields."""
    for name in export_fields:
        if not FIELD_PATTERN.match(name):
            raise ValueError(f"export field {name!r} is not a plain lower-case name")
    columns: list[Column] = [
        Column("respid", "Respondent (pseudonymous id)", "text", width=40),
        Column("outcome", "Interview outcome", "numeric", OUTCOME_LABELS, width=1),
    ]
    specials = SPECIAL_VALUE_LABELS
    for element in script.questions():
        label = _label(element.text)
        if isinstance(element, MultiChoice):
            for option in element.options:
                columns.append(
                    Column(
                        f"{element.id}_{option.code}",
                        _label(f"{label}: {option.label}"),
                        "numeric",
                        {0: "Not chosen", 1: "Chosen", **specials},
                        width=2,
                        user_missing=True,
                    )
                )
        elif isinstance(element, Grid):
            scale = {o.code: o.label for o in element.scale}
            for item in element.items:
                columns.append(
                    Column(
                        _name(element.id, item.id),
                        _label(f"{label}: {item.text}"),
                        "numeric",
                        {**scale, **specials},
                        width=_int_width(scale),
                        user_missing=True,
                        measure="ordinal",
                    )
                )
        elif isinstance(element, OpenText):
            columns.append(Column(element.id, label, "text", width=element.max_length))
            columns.append(
                Column(
                    f"{element.id}_st",
                    _label(f"{label} (status)"),
                    "numeric",
                    {ANSWERED: "Answered", **specials},
                    width=2,
                    user_missing=True,
                )
            )
        elif isinstance(element, SingleChoice | YesNo):
            codes = {o.code: o.label for o in options_of(element)}
            columns.append(
                Column(
                    element.id,
                    label,
                    "numeric",
                    {**codes, **specials},
                    width=_int_width(codes),
                    user_missing=True,
                )
            )
        elif isinstance(element, Rating):
            ends = {element.min: element.low_label, element.max: element.high_label}
            columns.append(
                Column(
                    element.id,
                    label,
                    "numeric",
                    {**ends, **specials},
                    width=_int_width({element.min: "", element.max: ""}),
                    user_missing=True,
                    measure="ordinal",
                    value_range=(element.min, element.max),
                )
            )
        elif isinstance(element, Numeric):
            decimals = 0 if element.integer else 2
            digits = len(str(int(max(abs(element.min), abs(element.max)))))
            width = max(2, digits + 1 + (decimals + 1 if decimals else 0))
            columns.append(
                Column(
                    element.id,
                    label,
                    "numeric",
                    dict(specials),
                    decimals=decimals,
                    width=width,
                    user_missing=True,
                    measure="scale",
                    value_range=(element.min, element.max),
                )
            )
        if _has_other(element):
            columns.append(
                Column(
                    f"{element.id}_other", _label(f"{label} (other, specify)"), "text", width=200
                )
            )
    for name in export_fields:
        columns.append(Column(f"f_{name}", f"Client field: {name}", "text", width=100))
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ValueError("two export columns would have the same name")
    return Layout(script, tuple(columns), tuple(export_fields))


def _has_other(element: Any) -> bool:
    return isinstance(element, SingleChoice | MultiChoice) and any(
        o.other_specify for o in element.options
    )


def _name(question_id: str, item_id: str) -> str:
    # SPSS names are at most 64 bytes; ids are at most 32 characters each, so this fits
    # except at the extreme, where the item part is shortened.
    name = f"{question_id}_{item_id}"
    return name[:64]


def _label(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 250 else flat[:247] + "..."


def _int_width(codes: Mapping[int, str]) -> int:
    widest = max(len(str(c)) for c in [*codes, *MISSING_CODES])
    return max(widest, 2)


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
