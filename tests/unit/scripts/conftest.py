from __future__ import annotations

from pathlib import Path

import pytest

from gatehouse.domain.scripts.lint import RuleSet, parse_rules
from gatehouse.domain.scripts.model import Script, load_script

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def example_text() -> str:
    return (ROOT / "examples" / "insurance-survey.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def example(example_text: str) -> Script:
    return load_script(example_text)


@pytest.fixture(scope="session")
def default_rules() -> RuleSet:
    return parse_rules((ROOT / "src/gatehouse/data/lint_rules.yaml").read_text(encoding="utf-8"))
