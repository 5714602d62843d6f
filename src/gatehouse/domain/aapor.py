"""AAPOR final dispositions and outcome rates (Standard Definitions, 9th edition formulas).

Formulas as confirmed in three implementations (see ../shared/reference/cati.md §3.3):
RR1–RR6, COOP1–COOP4, REF1–REF3, CON1–CON3. ``e`` (the eligible share of unknown-eligibility
cases) defaults to the AAPOR calculator's estimate (I+P+R+NC+O) / (I+P+R+NC+O+NE).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Disposition(StrEnum):
    """Final disposition codes for telephone surveys (value = AAPOR code)."""

    COMPLETE = "1.1"
    PARTIAL = "1.2"
    REFUSAL = "2.11"
    BREAK_OFF = "2.12"
    NON_CONTACT = "2.20"
    RESPONDENT_NEVER_AVAILABLE = "2.21"
    MACHINE_HOUSEHOLD = "2.22"
    OTHER_ELIGIBLE = "2.30"
    LANGUAGE = "2.33"
    NOT_ATTEMPTED = "3.11"
    ALWAYS_BUSY = "3.12"
    NO_ANSWER = "3.13"
    MACHINE_UNKNOWN = "3.14"
    TECHNICAL = "3.16"
    UNKNOWN_OTHER = "3.90"
    NOT_WORKING = "4.30"
    DISCONNECTED = "4.32"
    BUSINESS = "4.51"
    NO_ELIGIBLE_RESPONDENT = "4.70"
    QUOTA_FILLED = "4.80"


class RateClass(StrEnum):
    I = "I"  # noqa: E741 - AAPOR's own symbol
    P = "P"
    R = "R"
    NC = "NC"
    O = "O"  # noqa: E741
    UH = "UH"
    UO = "UO"
    NE = "NE"


def rate_class(disposition: Disposition) -> RateClass:
    code = disposition.value
    if code == "1.1":
        return RateClass.I
    if code == "1.2":
        return RateClass.P
    if code.startswith("2.1"):
        return RateClass.R
    if code.startswith("2.2"):
        return RateClass.NC
    if code.startswith("2.3"):
        return RateClass.O
    if code.startswith("3.1"):
        return RateClass.UH
    if code.startswith("3."):
        return RateClass.UO
    return RateClass.NE


# How the most informative attempt wins when a contact had several (lower = stronger).
_PRIORITY = [
    Disposition.COMPLETE,
    Disposition.PARTIAL,
    Disposition.REFUSAL,
    Disposition.BREAK_OFF,
    Disposition.QUOTA_FILLED,
    Disposition.NO_ELIGIBLE_RESPONDENT,
    Disposition.DISCONNECTED,
    Disposition.NOT_WORKING,
    Disposition.BUSINESS,
    Disposition.LANGUAGE,
    Disposition.OTHER_ELIGIBLE,
    Disposition.RESPONDENT_NEVER_AVAILABLE,
    Disposition.MACHINE_HOUSEHOLD,
    Disposition.NON_CONTACT,
    Disposition.MACHINE_UNKNOWN,
    Disposition.UNKNOWN_OTHER,
    Disposition.NO_ANSWER,
    Disposition.ALWAYS_BUSY,
    Disposition.TECHNICAL,
    Disposition.NOT_ATTEMPTED,
]

# Attempt outcomes (dialler and interview vocabulary) to dispositions.
OUTCOME_DISPOSITIONS: dict[str, Disposition] = {
    "complete": Disposition.COMPLETE,
    "partial": Disposition.PARTIAL,
    "refused": Disposition.REFUSAL,
    "opted_out": Disposition.REFUSAL,
    "break_off": Disposition.BREAK_OFF,
    "screened_out": Disposition.NO_ELIGIBLE_RESPONDENT,
    "quota_full": Disposition.QUOTA_FILLED,
    "callback": Disposition.RESPONDENT_NEVER_AVAILABLE,
    "no_answer": Disposition.NO_ANSWER,
    "busy": Disposition.ALWAYS_BUSY,
    "machine": Disposition.MACHINE_UNKNOWN,
    "abandoned": Disposition.UNKNOWN_OTHER,
    "outcome_unknown": Disposition.UNKNOWN_OTHER,
    "failed": Disposition.TECHNICAL,
    "invalid": Disposition.DISCONNECTED,
    "business": Disposition.BUSINESS,
    "language": Disposition.LANGUAGE,
    "not_attempted": Disposition.NOT_ATTEMPTED,
}

PARTIAL_THRESHOLD = 0.5  # share of applicable questions answered for a break-off to be partial


def final_disposition(outcomes: Iterable[str], *, answered_share: float = 0.0) -> Disposition:
    """The final disposition of a contact from the outcomes of all its attempts."""
    dispositions = []
    for outcome in outcomes:
        disposition = OUTCOME_DISPOSITIONS.get(outcome, Disposition.UNKNOWN_OTHER)
        if disposition is Disposition.BREAK_OFF and answered_share >= PARTIAL_THRESHOLD:
            disposition = Disposition.PARTIAL
        dispositions.append(disposition)
    if not dispositions:
        return Disposition.NOT_ATTEMPTED
    return min(dispositions, key=_PRIORITY.index)


@dataclass(frozen=True, slots=True)
class Counts:
    I: int = 0  # noqa: E741
    P: int = 0
    R: int = 0
    NC: int = 0
    O: int = 0  # noqa: E741
    UH: int = 0
    UO: int = 0
    NE: int = 0

    @classmethod
    def from_dispositions(cls, dispositions: Iterable[Disposition]) -> Counts:
        tally: dict[str, int] = {c.value: 0 for c in RateClass}
        for d in dispositions:
            tally[rate_class(d).value] += 1
        return cls(**tally)

    def default_e(self) -> float:
        known = self.I + self.P + self.R + self.NC + self.O
        denominator = known + self.NE
        return known / denominator if denominator else 1.0


@dataclass(frozen=True, slots=True)
class Rates:
    e: float
    values: Mapping[str, float | None]

    def __getitem__(self, name: str) -> float | None:
        return self.values[name]


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def outcome_rates(counts: Counts, e: float | None = None) -> Rates:
    c = counts
    e_value = c.default_e() if e is None else e
    if not 0.0 <= e_value <= 1.0:
        raise ValueError("e must be between 0 and 1")
    ip = c.I + c.P
    eligible_known = ip + c.R + c.NC + c.O
    unknown = c.UH + c.UO
    contacted = ip + c.R + c.O
    values = {
        "RR1": _ratio(c.I, eligible_known + unknown),
        "RR2": _ratio(ip, eligible_known + unknown),
        "RR3": _ratio(c.I, eligible_known + e_value * unknown),
        "RR4": _ratio(ip, eligible_known + e_value * unknown),
        "RR5": _ratio(c.I, eligible_known),
        "RR6": _ratio(ip, eligible_known),
        "COOP1": _ratio(c.I, ip + c.R + c.O),
        "COOP2": _ratio(ip, ip + c.R + c.O),
        "COOP3": _ratio(c.I, ip + c.R),
        "COOP4": _ratio(ip, ip + c.R),
        "REF1": _ratio(c.R, eligible_known + unknown),
        "REF2": _ratio(c.R, eligible_known + e_value * unknown),
        "REF3": _ratio(c.R, eligible_known),
        "CON1": _ratio(contacted, eligible_known + unknown),
        "CON2": _ratio(contacted, eligible_known + e_value * unknown),
        "CON3": _ratio(contacted, eligible_known),
    }
    return Rates(e=e_value, values=values)


RATE_NAMES = [
    "RR1",
    "RR2",
    "RR3",
    "RR4",
    "RR5",
    "RR6",
    "COOP1",
    "COOP2",
    "COOP3",
    "COOP4",
    "REF1",
    "REF2",
    "REF3",
    "CON1",
    "CON2",
    "CON3",
]
