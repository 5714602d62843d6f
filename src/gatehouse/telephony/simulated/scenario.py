"""Simulation scenarios: a YAML file, validated with Pydantic (schema in docs/scenarios.md).

Durations are written ``90s``, ``15m``, ``2h30m`` (or a number of seconds). Distributions:
``fixed`` (value), ``exponential`` (mean), ``lognormal`` (median, p95), ``gamma`` (mean, sd),
``empirical`` (values), ``mixture`` (components with weights). ``answer`` may be given per
hour of the day; ``phases`` override answer/ring/talk/wrap from a moment on; ``agents`` is a
number or a schedule.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$"
)


def parse_duration(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match and any(match.groups()):
            h, m, s = (float(g) if g else 0.0 for g in match.groups())
            return h * 3600 + m * 60 + s
    raise ValueError(f"not a duration: {value!r} (write e.g. 90s, 15m, 2h30m)")


Duration = Annotated[float, BeforeValidator(parse_duration)]
_Z95 = 1.6448536269514722


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dist(_M):
    dist: Literal["fixed", "exponential", "lognormal", "gamma", "empirical", "mixture"]
    value: float | None = None
    mean: float | None = None
    median: float | None = None
    p95: float | None = None
    sd: float | None = None
    values: list[float] | None = None
    components: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _check(self) -> Dist:
        need = {
            "fixed": ["value"],
            "exponential": ["mean"],
            "lognormal": ["median", "p95"],
            "gamma": ["mean", "sd"],
            "empirical": ["values"],
            "mixture": ["components"],
        }[self.dist]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{self.dist} needs {missing}")
        if self.dist == "lognormal" and not (0 < (self.median or 0) < (self.p95 or 0)):
            raise ValueError("lognormal needs 0 < median < p95")
        if self.dist == "mixture":
            for comp in self.components or []:
                Dist.model_validate({k: v for k, v in comp.items() if k != "weight"})
        return self

    def sampler(self) -> Any:
        return _sampler(self)


def _sampler(d: Dist) -> Any:
    if d.dist == "fixed":
        v = float(d.value or 0)
        return lambda rng: v
    if d.dist == "exponential":
        mean = float(d.mean or 1)
        return lambda rng: float(rng.exponential(mean))
    if d.dist == "lognormal":
        mu = math.log(float(d.median or 1))
        sigma = (math.log(float(d.p95 or 2)) - mu) / _Z95
        return lambda rng: float(rng.lognormal(mu, sigma))
    if d.dist == "gamma":
        mean, sd = float(d.mean or 1), float(d.sd or 1)
        shape, scale = (mean / sd) ** 2, sd**2 / mean
        return lambda rng: float(rng.gamma(shape, scale))
    if d.dist == "empirical":
        values = np.array(d.values or [0.0])
        return lambda rng: float(values[rng.integers(len(values))])
    comps = d.components or []
    weights = np.array([float(c.get("weight", 1.0)) for c in comps])
    weights = weights / weights.sum()
    subs = [
        _sampler(Dist.model_validate({k: v for k, v in c.items() if k != "weight"})) for c in comps
    ]
    return lambda rng: subs[int(rng.choice(len(subs), p=weights))](rng)


class AnswerMix(_M):
    human: float = Field(ge=0, le=1)
    machine: float = Field(default=0.0, ge=0, le=1)
    busy: float = Field(default=0.0, ge=0, le=1)
    invalid: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _sum(self) -> AnswerMix:
        if self.human + self.machine + self.busy + self.invalid > 1.0 + 1e-9:
            raise ValueError("answer shares add up to more than 1")
        return self


class Amd(_M):
    enabled: bool = False
    human_as_machine: float = Field(default=0.03, ge=0, lt=1)
    machine_as_human: float = Field(default=0.12, ge=0, le=1)
    decision_s: Dist = Dist(dist="fixed", value=2.5)


class Rules(_M):
    abandon_limit: float = Field(default=0.03, gt=0, le=1)
    operating_target: float = Field(default=0.02, gt=0, le=1)
    message_within_s: float = Field(default=2.0, gt=0)
    min_ring_s: float = Field(default=15.0, ge=15.0)
    ring_timeout_s: float = Field(default=20.0, ge=15.0)
    hold_for_agent_s: float = Field(
        default=1.0, ge=0
    )  # an answered call waits this long for an agent


class AgentStep(_M):
    at: Duration
    count: int = Field(ge=0, le=5000)


class Phase(_M):
    at: Duration
    answer: AnswerMix | None = None
    ring_to_answer_s: Dist | None = None
    talk_s: Dist | None = None
    wrap_s: Dist | None = None


class Scenario(_M):
    name: str
    start: datetime
    duration: Duration
    agents: int | list[AgentStep]
    contacts: int = Field(ge=1)
    answer: AnswerMix | dict[str, AnswerMix]
    ring_to_answer_s: Dist
    patience_s: Dist
    talk_s: Dist
    wrap_s: Dist
    machine_handle_s: Dist = Dist(dist="fixed", value=10.0)  # agent time on a machine (AMD off)
    amd: Amd = Amd()
    rules: Rules = Rules()
    phases: list[Phase] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if self.start.tzinfo is None:
            raise ValueError("start needs a time zone offset, e.g. 2026-03-02T17:00:00+00:00")
        if self.duration <= 0:
            raise ValueError("duration must be positive")
        return self

    @classmethod
    def load(cls, path: Path) -> Scenario:
        return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))

    def agent_schedule(self) -> list[tuple[float, int]]:
        if isinstance(self.agents, int):
            return [(0.0, self.agents)]
        return sorted((step.at, step.count) for step in self.agents)

    def max_agents(self) -> int:
        return max(count for _, count in self.agent_schedule())
