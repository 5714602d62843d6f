"""Lint at submission: forbidden content and the MRS introduction, with rules in data.

The default rule set ships as ``gatehouse/data/lint_rules.yaml`` (loaded by the service
layer and passed in as text). A tenant may add rules; :func:`merge_rules` keeps every default
whatever the tenant file says, so defaults cannot be removed or weakened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gatehouse.domain.errors import ValidationFailed
from gatehouse.domain.scripts import yamlsafe
from gatehouse.domain.scripts.model import (
    Grid,
    MultiChoice,
    OpenText,
    Script,
    SingleChoice,
    TextElement,
)

_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,)")
_BACKREF = re.compile(r"\\[1-9]|\(\?P=")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9-]{1,64}$")
    reason: str = Field(min_length=1, max_length=300)


class ForbiddenRule(_Rule):
    patterns: list[str] = Field(min_length=1, max_length=50)

    @field_validator("patterns")
    @classmethod
    def _compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if len(pattern) > 500:
                raise ValueError("pattern too long")
            re.compile(pattern)
            # Python's re has no timeout: refuse the shapes that backtrack catastrophically
            # (a repeated group that itself repeats, and back-references), so a tenant's
            # rule cannot hang submission.
            if _NESTED_QUANTIFIER.search(pattern) or _BACKREF.search(pattern):
                raise ValueError(f"pattern {pattern!r} could backtrack catastrophically")
        return patterns


class IntroRule(_Rule):
    any_of: list[str] = Field(min_length=1, max_length=50)


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    forbidden: list[ForbiddenRule] = Field(default_factory=list)
    intro: list[IntroRule] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LintFinding:
    element: str  # element id (or "script")
    rule: str
    reason: str
    excerpt: str


class LintFailed(ValidationFailed):
    error_id = "script-lint-failed"

    def __init__(self, findings: list[LintFinding]) -> None:
        text = "; ".join(f"{f.element}: {f.reason} ({f.excerpt!r})" for f in findings[:10])
        super().__init__(
            f"the script breaks {len(findings)} rule(s): {text}",
            findings=[_as_dict(f) for f in findings],
        )
        self.findings = findings


def _as_dict(finding: LintFinding) -> dict[str, str]:
    return {
        "element": finding.element,
        "rule": finding.rule,
        "reason": finding.reason,
        "excerpt": finding.excerpt,
    }


def parse_rules(text: str) -> RuleSet:
    """Parse a rules file (the shipped defaults or a tenant's additions)."""
    data, lines = yamlsafe.load(text)
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])} "
            f"(line {yamlsafe.line_of(lines, tuple(e['loc']))}): "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()[:10]
        )
        raise ValidationFailed(f"the lint rules are not valid: {problems}") from None


def merge_rules(defaults: RuleSet, tenant: RuleSet | None) -> RuleSet:
    """Defaults always apply; a tenant rule with a default's id is added under a new id."""
    if tenant is None:
        return defaults
    default_ids = {r.id for r in defaults.forbidden} | {r.id for r in defaults.intro}
    extra_forbidden = [
        r if r.id not in default_ids else r.model_copy(update={"id": f"tenant-{r.id}"})
        for r in tenant.forbidden
    ]
    extra_intro = [
        r if r.id not in default_ids else r.model_copy(update={"id": f"tenant-{r.id}"})
        for r in tenant.intro
    ]
    return RuleSet(
        forbidden=[*defaults.forbidden, *extra_forbidden], intro=[*defaults.intro, *extra_intro]
    )


def _read_out_texts(element: Any) -> list[str]:
    texts = [element.text]
    if isinstance(element, SingleChoice | MultiChoice):
        texts += [o.label for o in element.options]
    if isinstance(element, Grid):
        texts += [i.text for i in element.items] + [o.label for o in element.scale]
    return texts


def lint(script: Script, rules: RuleSet) -> list[LintFinding]:
    findings: list[LintFinding] = []
    compiled = [
        (rule, [re.compile(p, re.IGNORECASE | re.DOTALL) for p in rule.patterns])
        for rule in rules.forbidden
    ]
    for element in script.elements:
        for text in _read_out_texts(element):
            flat = " ".join(text.split())
            for rule, patterns in compiled:
                for pattern in patterns:
                    match = pattern.search(flat)
                    if match:
                        findings.append(
                            LintFinding(element.id, rule.id, rule.reason, match.group())
                        )
                        break
        if isinstance(element, OpenText) and not (element.purpose and element.purpose.strip()):
            findings.append(
                LintFinding(
                    element.id,
                    "open-text-purpose",
                    "An open-text question must state why the answer is needed (purpose).",
                    element.text[:60],
                )
            )
    findings += _lint_intro(script, rules)
    return findings


def _lint_intro(script: Script, rules: RuleSet) -> list[LintFinding]:
    first = script.elements[0]
    if not isinstance(first, TextElement):
        return [
            LintFinding(
                first.id,
                "intro-first",
                "The script must open with a read-out introduction.",
                first.text[:60],
            )
        ]
    text = " ".join(first.text.split())
    # Other rules look at the text without the agency's name: "Northfield Research" names
    # the agency; it does not state that the call is research.
    without_agency = re.sub(re.escape(script.agency), " ", text, flags=re.IGNORECASE)
    findings = []
    for rule in rules.intro:
        names_agency = any("{agency}" in p for p in rule.any_of)
        patterns = [p.replace("{agency}", re.escape(script.agency)) for p in rule.any_of]
        subject = text if names_agency else without_agency
        if not any(re.search(p, subject, re.IGNORECASE) for p in patterns):
            findings.append(LintFinding(first.id, rule.id, rule.reason, text[:60]))
    return findings
