"""Lint at submission: hostile scripts are rejected with the element and the reason."""

from __future__ import annotations

import pytest

from gatehouse.domain.errors import ValidationFailed
from gatehouse.domain.scripts.lint import RuleSet, lint, merge_rules, parse_rules
from gatehouse.domain.scripts.model import Script, load_script

INTRO = (
    "  - id: intro\n    type: text\n    text: Hello, I am calling from Northfield Research with"
    " a short survey about insurance. You do not have to take part.\n"
)
HEAD = "id: s1\ntitle: T\nagency: Northfield Research\npurpose: a survey\nelements:\n"


def _script(*elements: str, intro: str = INTRO) -> Script:
    return load_script(HEAD + intro + "".join(elements))


def _q(qid: str, text: str) -> str:
    return f'  - id: {qid}\n    type: yesno\n    text: "{text}"\n'


def test_example_is_clean(example: Script, default_rules: RuleSet) -> None:
    assert lint(example, default_rules) == []


HOSTILE = [
    ("value-of-possessions", "Roughly what is the value of your jewellery?"),
    (
        "value-of-possessions",
        "How much are the contents of your home worth in total? Is it over 10k?",
    ),
    ("bank-or-card", "Which bank do you use for your current account?"),
    ("bank-or-card", "Could you read me the long card number?"),
    ("address", "Can you confirm your address for our records?"),
    ("address", "What is your postcode?"),
    ("date-of-birth", "What is your date of birth?"),
    ("credentials", "What PIN do you use for your phone?"),
    ("email", "Could I take your email address?"),
    ("id-numbers", "What is your National Insurance number?"),
    ("home-empty", "Is your home empty during the day?"),
    ("home-empty", "Are you going on holiday this summer?"),
    ("phone-number", "Is there a mobile number we can call?"),
    ("selling", "We have a special offer on cover this month, interested?"),
]


@pytest.mark.parametrize(("rule", "text"), HOSTILE)
def test_hostile_question_is_rejected(default_rules: RuleSet, rule: str, text: str) -> None:
    findings = lint(_script(_q("q1", text)), default_rules)
    assert any(f.rule == rule and f.element == "q1" for f in findings), findings


def test_forbidden_content_in_an_option_is_found(default_rules: RuleSet) -> None:
    element = (
        "  - id: q1\n    type: single\n    text: Which applies?\n    options:\n"
        "      - {code: 1, label: 'I will give my sort code'}\n      - {code: 2, label: 'No'}\n"
    )
    findings = lint(_script(element), default_rules)
    assert [(f.element, f.rule) for f in findings] == [("q1", "bank-or-card")]


def test_open_text_needs_a_purpose(default_rules: RuleSet) -> None:
    element = "  - id: q1\n    type: open\n    text: Anything else?\n"
    findings = lint(_script(element), default_rules)
    assert [(f.element, f.rule) for f in findings] == [("q1", "open-text-purpose")]


@pytest.mark.parametrize(
    ("intro", "missing"),
    [
        (
            "Hello, this is a short survey about insurance. You do not have to take part.",
            "intro-agency",
        ),
        ("Hello from Northfield Research. You do not have to take part.", "intro-purpose"),
        ("Hello from Northfield Research with a short survey about insurance.", "intro-decline"),
    ],
)
def test_intro_must_follow_the_mrs_code(default_rules: RuleSet, intro: str, missing: str) -> None:
    script = _script(_q("q1", "Ok?"), intro=f"  - id: intro\n    type: text\n    text: {intro}\n")
    assert [f.rule for f in lint(script, default_rules)] == [missing]


def test_script_must_open_with_an_introduction(default_rules: RuleSet) -> None:
    script = load_script(HEAD + _q("q1", "Ok?"))
    assert [f.rule for f in lint(script, default_rules)] == ["intro-first"]


def test_tenant_rules_add_but_never_remove_defaults(default_rules: RuleSet) -> None:
    tenant = parse_rules(
        "forbidden:\n"
        "  - id: bank-or-card\n    reason: tenant tries to replace the default\n"
        "    patterns: ['zzzz-never-matches']\n"
        "  - id: pets\n    reason: this client forbids questions about pets\n"
        "    patterns: ['\\bpets?\\b']\n"
    )
    merged = merge_rules(default_rules, tenant)
    script = _script(_q("q1", "Which bank do you use?"), _q("q2", "Do you have a pet?"))
    rules = {f.rule for f in lint(script, merged)}
    assert {"bank-or-card", "pets"} <= rules


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\w+\s?)+$", r"(x|y*)*", r"(a)\1"])
def test_tenant_rules_cannot_backtrack_catastrophically(pattern: str) -> None:
    text = f"forbidden:\n  - id: slow\n    reason: r\n    patterns: ['{pattern}']\n"
    with pytest.raises(ValidationFailed, match="backtrack"):
        parse_rules(text)
