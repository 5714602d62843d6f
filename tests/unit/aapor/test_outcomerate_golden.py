"""Golden values from an independent implementation: rOpenSci ``outcomerate`` (R).

Source: github.com/ropensci/outcomerate, ``tests/testthat/test-rate.R`` (a 16-case vector
with every class, e = 0.5, exact fractions) and ``README.md`` (a tabulated example with
e = eligibility_rate = 0.9, printed to three decimals). Both implement the AAPOR Standard
Definitions (9th edition) formulas; we must agree with them exactly. LOC1/LOC2 are not AAPOR
rates and are not computed here.
"""

from __future__ import annotations

import pytest

from gatehouse.domain.aapor import Counts, outcome_rates

X1 = ["I", "P", "I", "NC", "UH", "I", "R", "UO", "I", "O", "P", "I", "R", "O", "P", "NE"]
RES1 = {
    "RR1": 1 / 3, "RR2": 8 / 15, "RR3": 5 / 14, "RR4": 4 / 7, "RR5": 5 / 13, "RR6": 8 / 13,
    "COOP1": 5 / 12, "COOP2": 2 / 3, "COOP3": 1 / 2, "COOP4": 4 / 5,
    "REF1": 2 / 15, "REF2": 1 / 7, "REF3": 2 / 13,
    "CON1": 4 / 5, "CON2": 6 / 7, "CON3": 12 / 13,
}  # fmt: skip
README = {
    "RR1": 0.364, "RR2": 0.545, "RR3": 0.370, "RR4": 0.556, "RR5": 0.444, "RR6": 0.667,
    "COOP1": 0.500, "COOP2": 0.750, "COOP3": 0.571, "COOP4": 0.857,
    "REF1": 0.091, "REF2": 0.093, "REF3": 0.111,
    "CON1": 0.727, "CON2": 0.741, "CON3": 0.889,
}  # fmt: skip


def _counts(classes: list[str]) -> Counts:
    return Counts(**{c: classes.count(c) for c in ("I", "P", "R", "NC", "O", "UH", "UO", "NE")})


@pytest.mark.parametrize("name", sorted(RES1))
def test_matches_outcomerate_exact_fractions(name: str) -> None:
    assert outcome_rates(_counts(X1), e=0.5)[name] == pytest.approx(RES1[name])


@pytest.mark.parametrize("name", sorted(README))
def test_matches_outcomerate_readme_with_estimated_e(name: str) -> None:
    counts = Counts(I=4, P=2, R=1, NC=1, O=1, UH=1, UO=1, NE=1)
    rates = outcome_rates(counts)  # e estimated: (I+P+R+NC+O)/(... + NE) = 9/10
    assert rates.e == pytest.approx(0.9)
    assert round(rates[name] or 0.0, 3) == pytest.approx(README[name])
