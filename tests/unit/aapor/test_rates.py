"""AAPOR outcome rates: worked examples computed by hand from the published formulas."""

from __future__ import annotations

import pytest

from gatehouse.domain.aapor import (
    Counts,
    Disposition,
    final_disposition,
    outcome_rates,
    rate_class,
)

# A worked example: I=200, P=30, R=100, NC=50, O=20, UH=80, UO=20, NE=100.
# Known eligible = 400, unknown = 100; default e = 400 / (400 + 100) = 0.8.
C = Counts(I=200, P=30, R=100, NC=50, O=20, UH=80, UO=20, NE=100)
EXPECTED = {
    "RR1": 200 / 500,
    "RR2": 230 / 500,
    "RR3": 200 / 480,
    "RR4": 230 / 480,
    "RR5": 200 / 400,
    "RR6": 230 / 400,
    "COOP1": 200 / 350,
    "COOP2": 230 / 350,
    "COOP3": 200 / 330,
    "COOP4": 230 / 330,
    "REF1": 100 / 500,
    "REF2": 100 / 480,
    "REF3": 100 / 400,
    "CON1": 350 / 500,
    "CON2": 350 / 480,
    "CON3": 350 / 400,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_worked_example(name: str) -> None:
    rates = outcome_rates(C)
    assert rates.e == pytest.approx(0.8)
    assert rates[name] == pytest.approx(EXPECTED[name])


def test_e_is_overridable_and_bounds_the_rates() -> None:
    conservative = outcome_rates(C, e=1.0)
    assert conservative["RR3"] == pytest.approx(conservative["RR1"])
    zero = outcome_rates(C, e=0.0)
    assert zero["RR3"] == pytest.approx(zero["RR5"])
    with pytest.raises(ValueError):
        outcome_rates(C, e=1.5)


def test_refusal_non_contact_and_other_sum_to_non_response() -> None:
    # AAPOR: with e applied consistently, RR + refusal + non-contact + other shares = 1 (RR2/REF).
    rates = outcome_rates(C, e=1.0)
    denominator = 500
    assert rates["RR2"] + rates["REF1"] + (50 + 20 + 100) / denominator == pytest.approx(1.0)


def test_empty_counts_give_none_not_a_crash() -> None:
    assert outcome_rates(Counts())["RR1"] is None


def test_final_disposition_prefers_the_most_informative_attempt() -> None:
    assert final_disposition(["no_answer", "busy", "complete"]) is Disposition.COMPLETE
    assert final_disposition(["no_answer", "refused"]) is Disposition.REFUSAL
    assert final_disposition(["no_answer", "machine"]) is Disposition.MACHINE_UNKNOWN
    assert final_disposition(["break_off"], answered_share=0.7) is Disposition.PARTIAL
    assert final_disposition(["break_off"], answered_share=0.1) is Disposition.BREAK_OFF
    assert final_disposition([]) is Disposition.NOT_ATTEMPTED


def test_every_disposition_has_a_rate_class() -> None:
    classes = {rate_class(d).value for d in Disposition}
    assert classes == {"I", "P", "R", "NC", "O", "UH", "UO", "NE"}
    counts = Counts.from_dispositions([Disposition.COMPLETE, Disposition.NO_ANSWER])
    assert (counts.I, counts.UH) == (1, 1)
