"""Fuzzing: any text is either a script or a clear GatehouseError; same for expressions.

Mutations of the example script (insert, delete, replace anywhere) and random expression
sources must never raise anything but the domain's own errors: no YAML library exception,
no Python error, no hang. (This found control characters escaping as ``yaml.ReaderError``.)
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatehouse.domain.errors import GatehouseError
from gatehouse.domain.scripts import expressions
from gatehouse.domain.scripts.model import SPECIAL_CODES, load_script

BASE = (Path(__file__).resolve().parents[3] / "examples" / "insurance-survey.yaml").read_text(
    encoding="utf-8"
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, len(BASE)), st.integers(0, 40), st.text(max_size=20))
def test_mutated_scripts_load_or_fail_clearly(pos: int, cut: int, insert: str) -> None:
    with contextlib.suppress(GatehouseError):
        load_script(BASE[:pos] + insert + BASE[pos + cut :])


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="abcq1_ ()[]'=<>!.,+-*/0123456789andornotincontact", max_size=60))
def test_random_expressions_parse_and_evaluate_or_fail_clearly(source: str) -> None:
    env = expressions.EvalEnv({"q1": 1, "a": [1, 2], "b": "x"}, {"c": "y"}, SPECIAL_CODES)
    with contextlib.suppress(GatehouseError):
        expressions.parse(source).evaluate(env)
