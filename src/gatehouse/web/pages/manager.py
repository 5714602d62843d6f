"""Campaign manager pages: campaigns, imports with progress and error reports, results and
exports, and the script editor with live validation and lint; plus their /api/v1 twins."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from gatehouse.domain.errors import ValidationFailed
from gatehouse.domain.permissions import Action
from gatehouse.web.auth import WebPrincipal, require
from gatehouse.web.errors import ServiceUnavailable
from gatehouse.web.pages.ports import CampaignsPort, Download, ScriptsPort
from gatehouse.web.templating import render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["campaigns", "scripts"])

Viewer = Annotated[WebPrincipal, Depends(require(Action.CAMPAIGN_VIEW))]
Manager = Annotated[WebPrincipal, Depends(require(Action.CAMPAIGN_MANAGE))]
Importer = Annotated[WebPrincipal, Depends(require(Action.CONTACTS_IMPORT))]
Exporter = Annotated[WebPrincipal, Depends(require(Action.RESULTS_EXPORT))]
Editor = Annotated[WebPrincipal, Depends(require(Action.SCRIPT_EDIT))]

MAX_UPLOAD_BYTES = 512 * 1024 * 1024  # the vault streams; this only bounds one request
EXPORT_FORMATS = {"csv", "sav", "sss"}


def campaigns_port(request: Request) -> CampaignsPort:
    port: CampaignsPort | None = getattr(request.app.state.services, "campaigns", None)
    if port is None:
        raise ServiceUnavailable("Campaign services are not configured on this server.")
    return port


def scripts_port(request: Request) -> ScriptsPort:
    port: ScriptsPort | None = getattr(request.app.state.services, "scripts", None)
    if port is None:
        raise ServiceUnavailable("Script services are not configured on this server.")
    return port


def _download(file: Download) -> Response:
    # attachment + nosniff (middleware): the browser saves it, never renders it.
    safe = "".join(ch for ch in file.filename if ch.isalnum() or ch in "._-") or "download"
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


# ---------------------------------------------------------------- campaigns


@pages.get("/campaigns")
def campaigns(request: Request, who: Viewer) -> Response:
    rows = campaigns_port(request).list_campaigns()
    return render(request, "manager/campaigns.html", {"campaigns": rows}, section="campaigns")


@pages.get("/campaigns/{campaign_id}")
def campaign(request: Request, who: Viewer, campaign_id: str) -> Response:
    detail = campaigns_port(request).detail(who, campaign_id)
    ctx = {
        "c": detail,
        "can_manage": who.can(Action.CAMPAIGN_MANAGE),
        "can_import": who.can(Action.CONTACTS_IMPORT),
        "can_export": who.can(Action.RESULTS_EXPORT),
    }
    return render(request, "manager/campaign.html", ctx, section="campaigns")


@pages.post("/campaigns/{campaign_id}/status")
def campaign_status(
    request: Request,
    who: Manager,
    campaign_id: str,
    action: Annotated[str, Form(pattern="^(start|pause|stop)$")],
) -> Response:
    campaigns_port(request).change_status(who, campaign_id, action)
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@pages.post("/campaigns/{campaign_id}/imports")
async def upload(
    request: Request, who: Importer, campaign_id: str, file: Annotated[UploadFile, File()]
) -> Response:
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed("The file is larger than 512 MB; use `gatehouse contacts import`.")
    import_id = campaigns_port(request).start_import(
        who, campaign_id, file.filename or "upload.csv", data
    )
    return RedirectResponse(f"/campaigns/{campaign_id}#import-{import_id}", status_code=303)


@pages.get("/imports/{import_id}")
def import_row(request: Request, who: Importer, import_id: str) -> Response:
    row = campaigns_port(request).import_status(import_id)
    return render(request, "manager/_import_row.html", {"imp": row})


@pages.get("/imports/{import_id}/errors")
def import_errors(request: Request, who: Importer, import_id: str) -> Response:
    return _download(campaigns_port(request).error_report(import_id))


@pages.get("/campaigns/{campaign_id}/export/{fmt}")
def export(request: Request, who: Exporter, campaign_id: str, fmt: str) -> Response:
    if fmt not in EXPORT_FORMATS:
        raise ValidationFailed(f"unknown export format {fmt!r}")
    return _download(campaigns_port(request).export(who, campaign_id, fmt))


# ---------------------------------------------------------------- scripts


@pages.get("/scripts")
def scripts(request: Request, who: Editor) -> Response:
    rows = scripts_port(request).list_scripts()
    return render(request, "manager/scripts.html", {"scripts": rows}, section="scripts")


@pages.get("/scripts/versions/{version_id}")
def edit_script(request: Request, who: Editor, version_id: str) -> Response:
    port = scripts_port(request)
    version = port.version(version_id)
    report = port.validate(version.source)
    ctx = {"v": version, "report": report, "source": version.source}
    return render(request, "manager/script_edit.html", ctx, section="scripts")


@pages.post("/scripts/validate")
def validate_script(
    request: Request, who: Editor, source: Annotated[str, Form(max_length=500_000)]
) -> Response:
    report = scripts_port(request).validate(source)
    return render(request, "manager/_validation.html", {"report": report})


@pages.post("/scripts/save")
def save_script(
    request: Request,
    who: Editor,
    source: Annotated[str, Form(max_length=500_000)],
    script_id: Annotated[str, Form(max_length=100)] = "",
    submit: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    port = scripts_port(request)
    version_id = port.save_draft(who, script_id or None, source)
    if submit:
        port.submit(who, version_id)
    return RedirectResponse(f"/scripts/versions/{version_id}", status_code=303)


# ---------------------------------------------------------------- JSON API


class ValidateBody(BaseModel):
    source: str = Field(max_length=500_000)


@api.get("/campaigns", summary="Campaigns with progress")
def api_campaigns(request: Request, who: Viewer) -> list[dict[str, Any]]:
    return [asdict(c) for c in campaigns_port(request).list_campaigns()]


@api.get("/campaigns/{campaign_id}", summary="One campaign: progress, imports, AAPOR rates")
def api_campaign(request: Request, who: Viewer, campaign_id: str) -> dict[str, Any]:
    return asdict(campaigns_port(request).detail(who, campaign_id))


@api.get("/campaigns/{campaign_id}/export/{fmt}", summary="Download results (csv, sav, sss)")
def api_export(request: Request, who: Exporter, campaign_id: str, fmt: str) -> Response:
    return export(request, who, campaign_id, fmt)


@api.get("/imports/{import_id}", summary="Import progress and counts")
def api_import(request: Request, who: Importer, import_id: str) -> dict[str, Any]:
    return asdict(campaigns_port(request).import_status(import_id))


@api.post("/scripts/validate", summary="Validate and lint a script source (YAML)")
def api_validate(request: Request, who: Editor, body: ValidateBody) -> dict[str, Any]:
    return asdict(scripts_port(request).validate(body.source))
