"""Security officer pages: script approval with a side-by-side diff, agent clearances, the
audit trail with its chain status; plus their /api/v1 twins."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from gatehouse.domain.permissions import Action
from gatehouse.web.auth import WebPrincipal, require
from gatehouse.web.diffview import side_by_side, summary
from gatehouse.web.errors import ServiceUnavailable
from gatehouse.web.pages.manager import scripts_port
from gatehouse.web.pages.ports import ClearanceChange, SecurityPort
from gatehouse.web.templating import render

pages = APIRouter(prefix="/security", include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["security"])

Approver = Annotated[WebPrincipal, Depends(require(Action.SCRIPT_APPROVE))]
Vetter = Annotated[WebPrincipal, Depends(require(Action.AGENT_VET))]
AuditReader = Annotated[WebPrincipal, Depends(require(Action.AUDIT_VIEW))]
AuditVerifier = Annotated[WebPrincipal, Depends(require(Action.AUDIT_VERIFY))]
AgentId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]

PAGE = 50


def security_port(request: Request) -> SecurityPort:
    port: SecurityPort | None = getattr(request.app.state.services, "security", None)
    if port is None:
        raise ServiceUnavailable("Security services are not configured on this server.")
    return port


@pages.get("/scripts")
def approvals(request: Request, who: Approver) -> Response:
    pending = scripts_port(request).pending()
    return render(request, "security/approvals.html", {"pending": pending}, section="approvals")


@pages.get("/scripts/{version_id}")
def approval(request: Request, who: Approver, version_id: str) -> Response:
    view = scripts_port(request).approval(version_id)
    rows = side_by_side(view.previous.source if view.previous else "", view.version.source)
    ctx = {"a": view, "rows": rows, "counts": summary(rows)}
    return render(request, "security/approval.html", ctx, section="approvals")


@pages.post("/scripts/{version_id}/decision")
def decide(
    request: Request,
    who: Approver,
    version_id: str,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    note: Annotated[str, Form(min_length=3, max_length=2000)],
) -> Response:
    scripts_port(request).decide(who, version_id, decision == "approve", note)
    return RedirectResponse("/security/scripts", status_code=303)


@pages.get("/agents")
def agents(request: Request, who: Vetter, saved: str = "") -> Response:
    port = security_port(request)
    ctx = {"agents": port.clearances(), "choices": port.campaign_choices(), "saved": saved[:64]}
    return render(request, "security/agents.html", ctx, section="agents")


@pages.post("/agents/{agent_id}/clearance")
def set_clearance(
    request: Request,
    who: Vetter,
    agent_id: AgentId,
    status: Annotated[str, Form(pattern="^(cleared|suspended)$")],
    cleared_until: Annotated[str, Form(max_length=10)] = "",
    campaigns: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    change = ClearanceChange(agent_id, status, cleared_until, tuple(campaigns or ()), note)
    security_port(request).set_clearance(who, change)
    return RedirectResponse(f"/security/agents?saved={agent_id}", status_code=303)


@pages.get("/audit")
def audit(request: Request, who: AuditReader, before: int | None = None) -> Response:
    port = security_port(request)
    rows = port.audit_page(before, PAGE)
    status = port.verify_chain() if who.can(Action.AUDIT_VERIFY) else None
    ctx = {"rows": rows, "status": status, "older": rows[-1].seq if len(rows) == PAGE else None}
    return render(request, "security/audit.html", ctx, section="audit")


@api.get("/audit", summary="Audit entries, newest first (page with `before`)")
def api_audit(
    request: Request, who: AuditReader, before: int | None = None
) -> list[dict[str, Any]]:
    return [asdict(r) for r in security_port(request).audit_page(before, PAGE)]


@api.get("/audit/verify", summary="Walk the hash chain; names the first bad entry")
def api_verify(request: Request, who: AuditVerifier) -> dict[str, Any]:
    return asdict(security_port(request).verify_chain())


class ClearanceBody(BaseModel):
    status: str = Field(pattern="^(cleared|suspended)$")
    cleared_until: str = Field(default="", max_length=10)
    campaigns: list[str] = Field(default_factory=list, max_length=100)
    note: str = Field(default="", max_length=500)


@api.get("/agents/clearances", summary="Every agent's clearance, with expiry warnings")
def api_clearances(request: Request, who: Vetter) -> list[dict[str, Any]]:
    return [asdict(c) for c in security_port(request).clearances()]


@api.put("/agents/{agent_id}/clearance", summary="Clear (until a date, for campaigns) or suspend")
def api_set_clearance(
    request: Request, who: Vetter, agent_id: AgentId, body: ClearanceBody
) -> dict[str, Any]:
    change = ClearanceChange(
        agent_id, body.status, body.cleared_until, tuple(body.campaigns), body.note
    )
    return asdict(security_port(request).set_clearance(who, change))


@api.get("/scripts/pending", summary="Script versions waiting for approval")
def api_pending(request: Request, who: Approver) -> list[dict[str, Any]]:
    return [asdict(v) for v in scripts_port(request).pending()]
