"""Script loading: valid scripts load; hostile or broken YAML gets a precise error, fast."""

from __future__ import annotations

import time

import pytest

from gatehouse.domain.scripts.model import Script, ScriptInvalid, load_script
from gatehouse.domain.scripts.yamlsafe import ScriptSyntaxError

HEAD = """id: s1
title: T
agency: Northfield Research
purpose: a survey
elements:
  - id: intro
    type: text
    text: Hello from Northfield Research, a survey. You do not have to take part.
"""


def test_example_loads(example: Script) -> None:
    assert example.id == "insurance-attitudes-2026"
    assert {q.type for q in example.questions()} >= {"single", "multi", "grid", "open", "rating"}
    assert example.contact_fields_used() == {"first_name"}


def _load(extra: str) -> Script:
    return load_script(HEAD + extra)


def test_error_names_path_and_line() -> None:
    with pytest.raises(ScriptInvalid) as info:
        _load("  - id: q1\n    type: numeric\n    text: How many?\n    min: 5\n    max: 1\n")
    issue = info.value.issues[0]
    assert issue.path == "elements.1"
    assert issue.line == 9
    assert "min is greater than max" in issue.message


def test_unknown_element_type_is_named() -> None:
    with pytest.raises(ScriptInvalid) as info:
        _load("  - id: q1\n    type: python\n    text: x\n")
    assert "python" in str(info.value) or "type" in str(info.value)
    assert info.value.issues[0].line == 9


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (
            "  - id: q1\n    type: yesno\n    text: a\n"
            "    routes: [{if: 'q1 == 1', goto: nowhere}]\n",
            "missing element",
        ),
        (
            "  - id: q1\n    type: yesno\n    text: a\n"
            "    routes: [{if: 'q1 == 1', goto: intro}]\n",
            "backwards",
        ),
        (
            "  - id: q1\n    type: yesno\n    text: a\n    filter: q2 == 1\n"
            "  - id: q2\n    type: yesno\n    text: b\n",
            "not earlier",
        ),
        ("  - id: q1\n    type: yesno\n    text: a {q9}\n", "not an earlier question"),
        ("  - id: q1\n    type: yesno\n    text: a\n    filter: q1.__class__\n", "cannot parse"),
        ("  - id: q1\n    type: yesno\n    text: a\n    filter: system(1)\n", "unknown function"),
        ("  - id: intro\n    type: yesno\n    text: a\n", "duplicate element id"),
        ("  - id: q1\n    type: yesno\n    text: a\n    surprise: 1\n", "Extra inputs"),
        ("  - id: Q-1\n    type: yesno\n    text: a\n", "pattern"),
    ],
)
def test_static_checks(extra: str, fragment: str) -> None:
    with pytest.raises(ScriptInvalid) as info:
        _load(extra)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: &a [1,2]\nb: *a\n", "anchors"),
        ("a: !!python/object/apply:os.system ['id']\n", "not allowed"),
        ("x: " + "[" * 60 + "]" * 60 + "\n", "nested deeper"),
        ("a: '" + "x" * 30_000 + "'\n", "longer than"),
        ("a: 1\na: 2\n", "duplicate key"),
        ("", "empty"),
        ("\tbad: [\n", "not valid YAML"),
        ("\x1fid: x\n", "not valid YAML"),  # control characters (found by fuzzing)
    ],
)
def test_hostile_yaml_is_refused(text: str, fragment: str) -> None:
    with pytest.raises(ScriptSyntaxError) as info:
        load_script(text)
    assert fragment in str(info.value)


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    started = time.perf_counter()
    with pytest.raises(ScriptSyntaxError):
        load_script("\n".join(lines))
    assert time.perf_counter() - started < 1.0


def test_huge_script_is_refused() -> None:
    with pytest.raises(ScriptSyntaxError, match="larger than"):
        load_script("a: '" + "x" * 600_000 + "'")


def test_non_mapping_is_refused() -> None:
    with pytest.raises(ScriptInvalid):
        load_script("- just\n- a list\n")
