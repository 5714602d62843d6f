"""Supervisor console: quality scoring of finished calls against the rubric (C6), each agent's
quality summary (the work record's QA feed, C9), and their /api/v1 twins.

Every route requires ``Action.QUALITY_SCORE``. Pages show calls by attempt id, campaign,
outcome and time only: nothing about the person called. Saving a score is one port call that
the service audits in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from gatehouse.domain.errors import ValidationFailed
from gatehouse.domain.permissions import Action
from gatehouse.web.auth import WebPrincipal, require
from gatehouse.web.errors import ServiceUnavailable
from gatehouse.web.templating import render

pages = APIRouter(prefix="/supervisor/quality", include_in_schema=False)
api = APIRouter(prefix="/api/v1/supervisor/quality", tags=["supervisor"])

Scorer = Annotated[WebPrincipal, Depends(require(Action.QUALITY_SCORE))]

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True, slots=True)
class CriterionView:
    criterion_id: str
    label: str
    scale_max: int
    weight: float
    critical: bool
    description: str = ""


@dataclass(frozen=True, slots=True)
class RubricView:
    rubric_id: str
    version: int
    name: str
    pass_mark: float
    criteria: tuple[CriterionView, ...]


@dataclass(frozen=True, slots=True)
class AgentQualityView:
    """One agent's quality summary: the work record's QA line."""

    agent_id: str
    name: str
    count: int
    mean_total: float | None
    pass_rate: float | None


@dataclass(frozen=True, slots=True)
class CallToScore:
    attempt_id: str
    agent_id: str
    agent_name: str
    campaign: str
    outcome: str
    connected: str  # local time, for people
    duration_s: int | None
    scored_total: float | None = None
    scored_passed: bool | None = None


@dataclass(frozen=True, slots=True)
class ScoreView:
    attempt_id: str
    agent_id: str
    scorer: str
    total: float
    passed: bool
    failed_critical: tuple[str, ...]
    scores: dict[str, int] = field(default_factory=dict)
    comment: str = ""
    scored: str = ""


class QualityPort(Protocol):
    def rubric(self) -> RubricView: ...

    def agents(self) -> list[AgentQualityView]: ...

    def summary(self, agent_id: str) -> AgentQualityView: ...

    def calls(self, agent_id: str) -> list[CallToScore]: ...

    def call(self, attempt_id: str) -> tuple[CallToScore, list[ScoreView]]: ...

    def score(
        self,
        actor: WebPrincipal,
        attempt_id: str,
        agent_id: str,
        scores: dict[str, int],
        comment: str,
    ) -> ScoreView: ...


def quality_port(request: Request) -> QualityPort:
    port: QualityPort | None = getattr(request.app.state.services, "quality", None)
    if port is None:
        raise ServiceUnavailable("Quality scoring is not configured on this server.")
    return port


def _checked_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise ValidationFailed(f"that is not a valid {what}")
    return value


def parse_scores(rubric: RubricView, form: dict[str, Any]) -> dict[str, int]:
    """``score:<criterion>`` form fields -> {criterion: int}; a missing one is left out (the
    service names it), a non-number is refused here."""
    scores: dict[str, int] = {}
    for c in rubric.criteria:
        raw = str(form.get(f"score:{c.criterion_id}", "")).strip()
        if raw == "":
            continue
        if not raw.isdigit() or len(raw) > 3:
            raise ValidationFailed(f"{c.label}: choose a score from the list")
        scores[c.criterion_id] = int(raw)
    return scores


# ---------------------------------------------------------------- pages


@pages.get("")
def overview(request: Request, who: Scorer, agent: str = "") -> Response:
    port = quality_port(request)
    agents = port.agents()
    chosen = _checked_id(agent, "agent") if agent else (agents[0].agent_id if agents else "")
    calls = port.calls(chosen) if chosen else []
    ctx = {"agents": agents, "chosen": chosen, "calls": calls, "rubric": port.rubric()}
    return render(request, "supervisor/quality.html", ctx, section="quality")


def _call_page(
    request: Request,
    attempt_id: str,
    *,
    result: ScoreView | None = None,
    error: str = "",
    entered: dict[str, int] | None = None,
    comment: str = "",
    status_code: int = 200,
) -> Response:
    port = quality_port(request)
    call, scores = port.call(_checked_id(attempt_id, "call id"))
    ctx = {
        "call": call,
        "scores": scores,
        "rubric": port.rubric(),
        "summary": port.summary(call.agent_id),
        "result": result,
        "error": error,
        "entered": entered or {},
        "comment": comment,
    }
    return render(
        request, "supervisor/quality_call.html", ctx, section="quality", status_code=status_code
    )


@pages.get("/calls/{attempt_id}")
def call_form(request: Request, who: Scorer, attempt_id: str) -> Response:
    return _call_page(request, attempt_id)


@pages.post("/calls/{attempt_id}")
async def save_score(request: Request, who: Scorer, attempt_id: str) -> Response:
    form = dict((await request.form()).items())
    port = quality_port(request)
    comment = str(form.get("comment", ""))[:2000]
    entered: dict[str, int] = {}
    try:
        entered = parse_scores(port.rubric(), form)
        agent_id = _checked_id(str(form.get("agent_id", "")), "agent")
        result = port.score(who, attempt_id, agent_id, entered, comment)
    except ValidationFailed as refused:
        return _call_page(
            request,
            attempt_id,
            error=refused.message,
            entered=entered,
            comment=comment,
            status_code=422,
        )
    return _call_page(request, attempt_id, result=result)


# ---------------------------------------------------------------- /api/v1


class ScoreBody(BaseModel):
    agent_id: str = Field(min_length=1, max_length=64)
    scores: dict[str, int]
    comment: str = Field(default="", max_length=2000)


@api.get("/rubric", summary="The rubric calls are scored against")
def api_rubric(request: Request, who: Scorer) -> dict[str, Any]:
    return asdict(quality_port(request).rubric())


@api.get("/agents", summary="Every agent's quality summary (count, mean total, pass rate)")
def api_agents(request: Request, who: Scorer) -> list[dict[str, Any]]:
    return [asdict(a) for a in quality_port(request).agents()]


@api.get("/agents/{agent_id}", summary="One agent's quality summary and recent finished calls")
def api_agent(request: Request, who: Scorer, agent_id: str) -> dict[str, Any]:
    port = quality_port(request)
    agent_id = _checked_id(agent_id, "agent")
    return {
        "summary": asdict(port.summary(agent_id)),
        "calls": [asdict(c) for c in port.calls(agent_id)],
    }


@api.post("/calls/{attempt_id}", summary="Score a finished call against the rubric")
def api_score(request: Request, who: Scorer, attempt_id: str, body: ScoreBody) -> dict[str, Any]:
    result = quality_port(request).score(
        who,
        _checked_id(attempt_id, "call id"),
        _checked_id(body.agent_id, "agent"),
        body.scores,
        body.comment,
    )
    return asdict(result)
