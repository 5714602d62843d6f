"""Recordings pages for the security officer and the investigator (invariant 3).

Every route requires ``recording.access`` (agents get 403). The catalogue lists metadata only.
Opening a recording is a CSRF-protected POST with a required reason; the service audits it
before decrypting. "Play" answers a page with an ``<audio>`` element whose source is a GET
carrying the number of that audit entry (the grant); the service checks it is this user's,
for this recording, and recent. "Export" answers the WAV as an attachment. Audio responses,
like every non-static response, carry ``Cache-Control: no-store``. No decision is made here:
the route functions only call the port and render.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from gatehouse.domain.errors import PermissionDenied, ValidationFailed
from gatehouse.domain.permissions import Action
from gatehouse.web.auth import WebPrincipal, optional_principal, require
from gatehouse.web.errors import ServiceUnavailable
from gatehouse.web.templating import render

pages = APIRouter(prefix="/security/recordings", include_in_schema=False)

_require_access = require(Action.RECORDING_ACCESS)


def _guard(request: Request) -> WebPrincipal:
    """``require(recording.access)``, and a signed-in person refused is audited too."""
    try:
        return _require_access(request)
    except PermissionDenied:
        principal = optional_principal(request)
        port = getattr(request.app.state.services, "recordings", None)
        if principal is not None and port is not None:
            target = request.path_params.get("recording_id", "recordings")
            purpose = "export" if request.url.path.endswith("/open") else "play"
            port.refused(principal, str(target), purpose)
        raise


_guard.gatehouse_action = Action.RECORDING_ACCESS  # type: ignore[attr-defined]
Listener = Annotated[WebPrincipal, Depends(_guard)]


@dataclass(frozen=True, slots=True)
class RecordingView:
    recording_id: str
    kind: str
    campaign: str
    attempt: str
    started: str  # UTC, for display
    duration: str
    size: str
    sha256: str


@dataclass(frozen=True, slots=True)
class OpenedRecording:
    recording: RecordingView
    wav: bytes
    duration_s: float
    complete: bool
    grant: int  # the audit entry that records this access


class RecordingsPort(Protocol):
    def list_recordings(self, actor: WebPrincipal) -> list[RecordingView]: ...

    def recording(self, actor: WebPrincipal, recording_id: str) -> RecordingView: ...

    def open(
        self, actor: WebPrincipal, recording_id: str, reason: str, purpose: str
    ) -> OpenedRecording:
        """Audit (with the reason), then decrypt; raises on refusal or damage (audited)."""
        ...

    def granted(self, actor: WebPrincipal, recording_id: str, grant: int) -> bytes:
        """The WAV again under an access already audited (the ``<audio>`` element's GET)."""
        ...

    def refused(self, actor: WebPrincipal, target: str, purpose: str) -> None:
        """Audit a signed-in person's refusal at the route guard."""
        ...


def recordings_port(request: Request) -> RecordingsPort:
    port: RecordingsPort | None = getattr(request.app.state.services, "recordings", None)
    if port is None:
        raise ServiceUnavailable("Recordings are not configured on this server.")
    return port


def _wav(data: bytes, filename: str | None = None) -> Response:
    headers = {"Cache-Control": "no-store"}
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(content=data, media_type="audio/wav", headers=headers)


@pages.get("")
def recordings(request: Request, who: Listener) -> Response:
    rows = recordings_port(request).list_recordings(who)
    return render(request, "security/recordings.html", {"rows": rows}, section="recordings")


@pages.get("/{recording_id}")
def recording(request: Request, who: Listener, recording_id: str) -> Response:
    view = recordings_port(request).recording(who, recording_id)
    ctx = {"r": view, "opened": None, "error": None, "reason": ""}
    return render(request, "security/recording.html", ctx, section="recordings")


@pages.post("/{recording_id}/open")
def open_recording(
    request: Request,
    who: Listener,
    recording_id: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
    purpose: Annotated[str, Form(pattern="^(play|export)$")] = "play",
) -> Response:
    port = recordings_port(request)
    try:
        opened = port.open(who, recording_id, reason, purpose)
    except ValidationFailed as exc:  # no or too short a reason: the form again, with why
        view = port.recording(who, recording_id)
        again = {"r": view, "opened": None, "error": exc.message, "reason": reason}
        return render(
            request, "security/recording.html", again, status_code=422, section="recordings"
        )
    if purpose == "export":
        return _wav(opened.wav, f"{recording_id}.wav")
    ctx = {"r": opened.recording, "opened": opened, "error": None, "reason": reason}
    return render(request, "security/recording.html", ctx, section="recordings")


@pages.get("/{recording_id}/audio/{grant}")
def audio(request: Request, who: Listener, recording_id: str, grant: int) -> Response:
    return _wav(recordings_port(request).granted(who, recording_id, grant))
