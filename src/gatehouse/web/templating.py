"""Jinja2 rendering with the few things every page needs (principal, navigation, CSRF token).

Templates only lay out data handed to them by services; they hold no decisions beyond
"show this link if the permission table allows it".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from gatehouse.domain.permissions import Action
from gatehouse.web.auth import WebPrincipal, optional_principal
from gatehouse.web.security import csrf_token_for

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    href: str
    action: Action
    section: str


NAV: tuple[NavItem, ...] = (
    NavItem("Desk", "/agent", Action.AGENT_WORK, "agent"),
    NavItem("Wallboard", "/supervisor", Action.SUPERVISE_VIEW, "supervisor"),
    NavItem("Quality", "/supervisor/quality", Action.QUALITY_SCORE, "quality"),
    NavItem("Campaigns", "/campaigns", Action.CAMPAIGN_VIEW, "campaigns"),
    NavItem("Scripts", "/scripts", Action.SCRIPT_EDIT, "scripts"),
    NavItem("Approvals", "/security/scripts", Action.SCRIPT_APPROVE, "approvals"),
    NavItem("Agents", "/security/agents", Action.AGENT_VET, "agents"),
    NavItem("Audit", "/security/audit", Action.AUDIT_VIEW, "audit"),
    NavItem("Recordings", "/security/recordings", Action.RECORDING_ACCESS, "recordings"),
)

ROLE_LABELS = {
    "agent": "Agent",
    "supervisor": "Supervisor",
    "campaign_manager": "Campaign manager",
    "security_officer": "Security officer",
    "governor": "Governor",
    "investigator": "Investigator",
    "admin": "Administrator",
}


def landing_page(principal: WebPrincipal) -> str:
    """Where a person lands after signing in: the first page their role may open."""
    for item in NAV:
        if principal.can(item.action):
            return item.href
    return "/account"


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["ROLE_LABELS"] = ROLE_LABELS


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    section: str = "",
) -> Response:
    principal = optional_principal(request)
    nav = [item for item in NAV if principal is not None and principal.can(item.action)]
    ctx: dict[str, Any] = {
        "principal": principal,
        "nav": nav,
        "section": section,
        "csrf_token": csrf_token_for(request),
    }
    if context:
        ctx.update(context)
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
