"""The FastAPI application factory: pages, the /api/v1 JSON API, static assets, hardening.

Contract:
- ``create_app(settings, services)`` builds a self-contained app; it opens no database and
  starts no dialler itself (the CLI's ``serve``/``demo`` compose those and pass services in).
- Every route depends on exactly one of ``require(Action)`` or ``public()`` (see ``auth``);
  every unsafe request passes the CSRF check; every response gets the security headers.
- ``GatehouseError`` subclasses map to HTTP by ``error_id``: JSON for ``/api/``, a page
  otherwise. Nothing else leaks (no tracebacks, no internal messages for 500s).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from gatehouse.config import Settings
from gatehouse.domain.errors import GatehouseError
from gatehouse.web.security import SecurityHeadersMiddleware, verify_csrf
from gatehouse.web.services import WebServices
from gatehouse.web.templating import render

log = structlog.get_logger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

STATUS_BY_ERROR_ID: dict[str, int] = {
    "authentication-failed": 401,
    "permission-denied": 403,
    "not-found": 404,
    "conflict": 409,
    "account-locked": 423,
    "validation-failed": 422,
    "compliance-refused": 409,
    "service-unavailable": 503,
}

ERROR_TITLES = {
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    409: "Refused",
    422: "Please check the input",
    423: "Account locked",
    503: "Not available",
    500: "Something went wrong",
}


def status_for(error: GatehouseError) -> int:
    for cls in type(error).__mro__:
        error_id = getattr(cls, "error_id", None)
        if isinstance(error_id, str) and error_id in STATUS_BY_ERROR_ID:
            return STATUS_BY_ERROR_ID[error_id]
    return 400


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def _error_response(
    request: Request, status: int, error_id: str, message: str, details: dict[str, Any] | None
) -> Response:
    if _wants_json(request):
        body: dict[str, Any] = {"error": error_id, "message": message}
        if details:
            body["details"] = {k: v for k, v in details.items() if isinstance(v, str | int | float)}
        return JSONResponse(body, status_code=status)
    if status == 401 and request.method == "GET":
        return render(
            request,
            "login.html",
            {"next": request.url.path, "error": None},
            status_code=401,
        )
    return render(
        request,
        "error.html",
        {"title": ERROR_TITLES.get(status, "Error"), "message": message, "status": status},
        status_code=status,
    )


class BackgroundService(Protocol):
    """Something that runs on the server's event loop for the app's lifetime (the dialler
    runtime in ``serve``/``demo``): started after the loop exists, stopped on shutdown."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def create_app(
    settings: Settings, services: WebServices, background: Sequence[BackgroundService] = ()
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        started: list[BackgroundService] = []
        try:
            for service in background:
                await service.start()
                started.append(service)
            yield
        finally:
            for service in reversed(started):
                await service.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Gatehouse",
        version="1",
        description="Secure contact centre for prisons. JSON API under /api/v1.",
        docs_url=None,  # Swagger UI needs a CDN and inline script; the schema is served instead
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        dependencies=[Depends(verify_csrf)],
    )
    app.state.settings = settings
    app.state.services = services

    @app.exception_handler(GatehouseError)
    async def _gatehouse_error(request: Request, exc: GatehouseError) -> Response:
        status = status_for(exc)
        return _error_response(request, status, exc.error_id, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        )
        return _error_response(request, 422, "validation-failed", problems, None)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = "That page does not exist." if exc.status_code == 404 else str(exc.detail)
        return _error_response(request, exc.status_code, f"http-{exc.status_code}", message, None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", path=request.url.path)
        return _error_response(
            request, 500, "internal-error", "The request failed; it has been logged.", None
        )

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    from gatehouse.web.routes import register_routes

    register_routes(app)

    # Added last so it wraps everything, including the error handlers' responses.
    app.add_middleware(SecurityHeadersMiddleware, secure_cookies=settings.secure_cookies)
    return app
