"""Agent desktop: the page, its live fragment, the SSE stream, and the JSON API twin.

Every route requires ``Action.AGENT_WORK`` (training: ``AGENT_TRAIN``) and acts only for the
signed-in agent. Route functions translate HTTP to one port call; decisions live in the
dialler runtime and the interview runner behind ``AgentDeskPort``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse

from gatehouse.domain.clearance import NotCleared
from gatehouse.domain.errors import ValidationFailed
from gatehouse.domain.permissions import Action
from gatehouse.web.agent.views import AgentDeskPort, DeskView
from gatehouse.web.auth import WebPrincipal, require
from gatehouse.web.errors import ServiceUnavailable
from gatehouse.web.templating import render

pages = APIRouter(prefix="/agent", include_in_schema=False)
api = APIRouter(prefix="/api/v1/agent", tags=["agent"])

Agent = Annotated[WebPrincipal, Depends(require(Action.AGENT_WORK))]
Trainee = Annotated[WebPrincipal, Depends(require(Action.AGENT_TRAIN))]

SSE_WAIT_S = 15.0


def desk_port(request: Request) -> AgentDeskPort:
    port: AgentDeskPort | None = getattr(request.app.state.services, "desk", None)
    if port is None:
        raise ServiceUnavailable("The dialler runtime is not running on this server.")
    return port


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _desk_fragment(request: Request, view: DeskView, message: str = "") -> Response:
    return render(request, "agent/_desk.html", {"desk": view, "flash": message})


def _after_action(request: Request, agent: WebPrincipal, message: str = "") -> Response:
    if _is_htmx(request):
        return _desk_fragment(request, desk_port(request).view(agent.user_id), message)
    return RedirectResponse("/agent", status_code=303)


def _values(answer: str, value: str, form: dict[str, Any]) -> list[str]:
    items = sorted((k[5:], str(v)) for k, v in form.items() if k.startswith("item:") and v)
    if items:
        return [f"{item}={code}" for item, code in items]
    if answer:
        return [a for a in answer.split(",") if a]
    return [value] if value != "" else []


# ---------------------------------------------------------------- pages


@pages.get("")
def desk_page(request: Request, agent: Agent) -> Response:
    view = desk_port(request).view(agent.user_id)
    return render(request, "agent/desk.html", {"desk": view, "flash": ""}, section="agent")


@pages.get("/desk")
def desk_fragment(request: Request, agent: Agent) -> Response:
    return _desk_fragment(request, desk_port(request).view(agent.user_id))


@pages.get("/events")
async def desk_events(
    request: Request, agent: Agent, since: Annotated[int | None, Query(ge=0)] = None
) -> EventSourceResponse:
    """``since`` is the desk version the page rendered: a change that lands between the
    render and this stream connecting (a call ringing in on a slow network) is sent at once
    instead of being lost until the next change."""
    port = desk_port(request)

    async def stream() -> AsyncIterator[dict[str, str]]:
        version = port.view(agent.user_id).version if since is None else since
        while not await request.is_disconnected():
            newer = await port.wait_for_change(agent.user_id, version, SSE_WAIT_S)
            if newer != version:
                version = newer
                # The frame says only "your desk changed"; content travels by a normal GET.
                yield {"event": "desk", "data": str(version)}

    return EventSourceResponse(stream(), ping=10)


@pages.post("/sign-on")
def sign_on(request: Request, agent: Agent) -> Response:
    desk_port(request).sign_on(agent.user_id)
    return _after_action(request, agent)


@pages.post("/ready")
def ready(request: Request, agent: Agent) -> Response:
    try:
        desk_port(request).ready(agent.user_id)
    except NotCleared as refused:
        if not _is_htmx(request):
            raise
        return _desk_fragment(request, desk_port(request).view(agent.user_id), refused.message)
    return _after_action(request, agent)


@pages.post("/pause")
def pause(
    request: Request, agent: Agent, reason: Annotated[str, Form(max_length=60)] = "break"
) -> Response:
    desk_port(request).pause(agent.user_id, reason)
    return _after_action(request, agent)


@pages.post("/sign-off")
def sign_off(request: Request, agent: Agent) -> Response:
    desk_port(request).sign_off(agent.user_id)
    return _after_action(request, agent)


@pages.post("/answer")
async def answer(request: Request, agent: Agent) -> Response:
    form = dict((await request.form()).items())
    call_ref = str(form.get("call_ref", ""))
    question_id = str(form.get("question_id", ""))
    values = _values(str(form.get("answer", "")), str(form.get("value", "")), form)
    try:
        other = str(form.get("other_text", ""))[:200]
        desk_port(request).answer(agent.user_id, call_ref, question_id, values, other)
    except ValidationFailed as refused:
        return _after_action(request, agent, refused.message)
    return _after_action(request, agent)


@pages.post("/back")
def back(
    request: Request, agent: Agent, call_ref: Annotated[str, Form(max_length=100)]
) -> Response:
    desk_port(request).back(agent.user_id, call_ref)
    return _after_action(request, agent)


@pages.post("/finish")
def finish(
    request: Request,
    agent: Agent,
    call_ref: Annotated[str, Form(max_length=100)],
    outcome: Annotated[str, Form(max_length=60)],
    callback_slot: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    try:
        desk_port(request).finish(agent.user_id, call_ref, outcome, callback_slot or None)
    except ValidationFailed as refused:
        return _after_action(request, agent, refused.message)
    return _after_action(request, agent)


@pages.post("/training")
def training(request: Request, agent: Trainee) -> Response:
    desk_port(request).start_training(agent.user_id)
    return _after_action(request, agent)


# ---------------------------------------------------------------- JSON API


class PauseBody(BaseModel):
    reason: str = Field(default="break", max_length=60)


class AnswerBody(BaseModel):
    call_ref: str = Field(max_length=100)
    question_id: str = Field(max_length=100)
    values: list[str] = Field(default_factory=list, max_length=50)
    other_text: str = Field(default="", max_length=200)


class FinishBody(BaseModel):
    call_ref: str = Field(max_length=100)
    outcome: str = Field(max_length=60)
    callback_slot: str | None = Field(default=None, max_length=60)


def _json(view: DeskView) -> dict[str, Any]:
    data = asdict(view)
    data["state_label"] = view.state_label
    return data


@api.get("/desk", summary="The agent's desk: state, current call, question")
def api_desk(request: Request, agent: Agent) -> dict[str, Any]:
    return _json(desk_port(request).view(agent.user_id))


@api.get("/desk/wait", summary="Long-poll: returns when the desk version passes `after`")
async def api_wait(request: Request, agent: Agent, after: int = 0) -> dict[str, Any]:
    port = desk_port(request)
    await port.wait_for_change(agent.user_id, after, SSE_WAIT_S)
    return _json(port.view(agent.user_id))


@api.post("/sign-on", summary="Sign on to the desk (state: paused until ready)")
def api_sign_on(request: Request, agent: Agent) -> dict[str, Any]:
    desk_port(request).sign_on(agent.user_id)
    return _json(desk_port(request).view(agent.user_id))


@api.post("/ready", summary="Go ready for calls")
def api_ready(request: Request, agent: Agent) -> dict[str, Any]:
    desk_port(request).ready(agent.user_id)
    return _json(desk_port(request).view(agent.user_id))


@api.post("/pause", summary="Pause with a reason")
def api_pause(request: Request, agent: Agent, body: PauseBody) -> dict[str, Any]:
    desk_port(request).pause(agent.user_id, body.reason)
    return _json(desk_port(request).view(agent.user_id))


@api.post("/sign-off", summary="Sign off the desk")
def api_sign_off(request: Request, agent: Agent) -> dict[str, Any]:
    desk_port(request).sign_off(agent.user_id)
    return _json(desk_port(request).view(agent.user_id))


@api.post("/answer", summary="Answer the current script question")
def api_answer(request: Request, agent: Agent, body: AnswerBody) -> dict[str, Any]:
    desk_port(request).answer(
        agent.user_id, body.call_ref, body.question_id, body.values, body.other_text
    )
    return _json(desk_port(request).view(agent.user_id))


@api.post("/finish", summary="Set the call outcome (and book a callback slot if chosen)")
def api_finish(request: Request, agent: Agent, body: FinishBody) -> dict[str, Any]:
    desk_port(request).finish(agent.user_id, body.call_ref, body.outcome, body.callback_slot)
    return _json(desk_port(request).view(agent.user_id))
