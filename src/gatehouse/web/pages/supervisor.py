"""Supervisor console: the live wallboard (SSE) and interventions, plus their JSON API twin.

The wallboard is a read model from the dialler runtime (``WallboardPort.snapshot``); every
intervention is one port call that the runtime audits in the same transaction as its effect.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse

from gatehouse.domain.permissions import Action
from gatehouse.web.auth import WebPrincipal, optional_principal, require
from gatehouse.web.errors import ServiceUnavailable
from gatehouse.web.security import csrf_token_for
from gatehouse.web.templating import render, templates

pages = APIRouter(prefix="/supervisor", include_in_schema=False)
api = APIRouter(prefix="/api/v1/supervisor", tags=["supervisor"])

Viewer = Annotated[WebPrincipal, Depends(require(Action.SUPERVISE_VIEW))]
Intervener = Annotated[WebPrincipal, Depends(require(Action.SUPERVISE_INTERVENE))]

ABANDON_LIMIT = 0.03  # Ofcom: 3% of live calls per campaign per day (and rolling 24 h)
TICK_S = 1.0


class Intervention(StrEnum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"
    END_CALL = "end_call"
    PAUSE_AGENT = "pause_agent"
    LOGOUT_AGENT = "logout_agent"


INTERVENTION_LABELS = {
    Intervention.LISTEN: "Listen",
    Intervention.WHISPER: "Whisper",
    Intervention.BARGE: "Barge",
    Intervention.END_CALL: "End call",
    Intervention.PAUSE_AGENT: "Pause",
    Intervention.LOGOUT_AGENT: "Sign off",
}
CALL_ONLY = {Intervention.LISTEN, Intervention.WHISPER, Intervention.BARGE, Intervention.END_CALL}


@dataclass(frozen=True, slots=True)
class AgentRow:
    agent_id: str
    name: str
    state: str  # DeskState value
    state_since: float
    campaign: str = ""
    on_call: bool = False
    training: bool = False
    supervised_by: str = ""  # "listen" / "whisper" / "barge" when a supervisor is on the call


@dataclass(frozen=True, slots=True)
class CampaignRow:
    campaign_id: str
    name: str
    status: str
    attempts_24h: int
    connects_24h: int
    abandoned_24h: int
    dial_level: float
    queue: int  # contacts ready in the hopper
    lines_in_use: int

    @property
    def abandon_rate(self) -> float:
        return self.abandoned_24h / self.connects_24h if self.connects_24h else 0.0

    @property
    def abandon_class(self) -> str:
        rate = self.abandon_rate
        return "bad" if rate > ABANDON_LIMIT else "warn" if rate > 0.8 * ABANDON_LIMIT else "ok"


@dataclass(frozen=True, slots=True)
class WallboardView:
    at: float
    agents: tuple[AgentRow, ...]
    campaigns: tuple[CampaignRow, ...]
    calls_in_progress: int
    lines_dialling: int

    def count(self, state: str) -> int:
        return sum(1 for a in self.agents if a.state == state)


class WallboardPort(Protocol):
    def snapshot(self) -> WallboardView: ...

    def intervene(
        self, supervisor_id: str, action: Intervention, agent_id: str, reason: str
    ) -> None: ...


def wallboard_port(request: Request) -> WallboardPort:
    port: WallboardPort | None = getattr(request.app.state.services, "wallboard", None)
    if port is None:
        raise ServiceUnavailable("The dialler runtime is not running on this server.")
    return port


def _context(request: Request, view: WallboardView) -> dict[str, Any]:
    principal = optional_principal(request)
    return {
        "wb": view,
        "limit": ABANDON_LIMIT,
        "can_intervene": principal is not None and principal.can(Action.SUPERVISE_INTERVENE),
        "interventions": INTERVENTION_LABELS,
        "call_only": CALL_ONLY,
        "csrf_token": csrf_token_for(request),
        "principal": principal,
    }


def chart_point(view: WallboardView) -> dict[str, float]:
    connects = sum(c.connects_24h for c in view.campaigns)
    abandoned = sum(c.abandoned_24h for c in view.campaigns)
    return {
        "t": round(view.at, 1),
        "on_call": view.calls_in_progress,
        "dialling": view.lines_dialling,
        "abandon_pct": round(100.0 * abandoned / connects, 3) if connects else 0.0,
    }


@pages.get("")
def wallboard(request: Request, who: Viewer) -> Response:
    view = wallboard_port(request).snapshot()
    return render(
        request, "supervisor/wallboard.html", _context(request, view), section="supervisor"
    )


@pages.get("/board")
def board_fragment(request: Request, who: Viewer) -> Response:
    view = wallboard_port(request).snapshot()
    return render(request, "supervisor/_board.html", _context(request, view))


@pages.get("/events")
async def board_events(request: Request, who: Viewer) -> EventSourceResponse:
    port = wallboard_port(request)
    template = templates.get_template("supervisor/_board.html")

    async def stream() -> AsyncIterator[dict[str, str]]:
        while not await request.is_disconnected():
            view = port.snapshot()
            html = template.render(_context(request, view))
            yield {"event": "board", "data": html}
            yield {"event": "chart", "data": json.dumps(chart_point(view))}
            await asyncio.sleep(TICK_S)

    return EventSourceResponse(stream(), ping=10)


@pages.post("/intervene")
def intervene_form(
    request: Request,
    who: Intervener,
    action: Annotated[Intervention, Form()],
    agent_id: Annotated[str, Form(max_length=100)],
    reason: Annotated[str, Form(max_length=200)] = "supervision",
) -> Response:
    wallboard_port(request).intervene(who.user_id, action, agent_id, reason)
    if request.headers.get("hx-request") == "true":
        return board_fragment(request, who)
    return RedirectResponse("/supervisor", status_code=303)


class InterveneBody(BaseModel):
    action: Intervention
    agent_id: str = Field(max_length=100)
    reason: str = Field(default="supervision", max_length=200)


@api.get("/wallboard", summary="Wallboard snapshot: agents, campaigns, abandon rate, dial level")
def api_wallboard(request: Request, who: Viewer) -> dict[str, Any]:
    view = wallboard_port(request).snapshot()
    data = asdict(view)
    for row, campaign in zip(data["campaigns"], view.campaigns, strict=True):
        row["abandon_rate_24h"] = campaign.abandon_rate
    data["abandon_limit"] = ABANDON_LIMIT
    return data


@api.post("/intervene", summary="Listen, whisper, barge, end a call, pause or sign off an agent")
def api_intervene(request: Request, who: Intervener, body: InterveneBody) -> dict[str, str]:
    wallboard_port(request).intervene(who.user_id, body.action, body.agent_id, body.reason)
    return {"status": "ok"}
