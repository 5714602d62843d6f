"""Sign in, sign out, the landing redirect and the health check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from gatehouse.domain.errors import AccountLocked, AuthenticationFailed
from gatehouse.web.auth import (
    Public,
    clear_session_cookie,
    optional_principal,
    session_token,
    set_session_cookie,
)
from gatehouse.web.security import CSRF_COOKIE, csrf_cookie_header, new_csrf_token
from gatehouse.web.templating import landing_page, render

router = APIRouter()


def _safe_next(target: str | None) -> str | None:
    # Only same-site absolute paths: no open redirect to another host.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/healthz", dependencies=[Public()], include_in_schema=False)
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/", dependencies=[Public()], include_in_schema=False)
def home(request: Request) -> Response:
    principal = optional_principal(request)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(landing_page(principal), status_code=303)


@router.get("/login", dependencies=[Public()], include_in_schema=False)
def login_page(request: Request, next: str | None = None) -> Response:
    principal = optional_principal(request)
    if principal is not None:
        return RedirectResponse(_safe_next(next) or landing_page(principal), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next) or "", "error": None})


@router.post("/login", dependencies=[Public()], include_in_schema=False)
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    accounts = request.app.state.services.accounts
    client = request.client.host if request.client else "unknown"
    try:
        token, principal = accounts.login(username, password, client=client)
    except AccountLocked:
        error = "This account is locked after too many failed attempts. Ask a supervisor."
        return render(
            request,
            "login.html",
            {"next": next, "error": error, "username": username},
            status_code=423,
        )
    except AuthenticationFailed:
        error = "The name or password is not right."
        return render(
            request,
            "login.html",
            {"next": next, "error": error, "username": username},
            status_code=401,
        )
    settings = request.app.state.settings
    response = RedirectResponse(_safe_next(next) or landing_page(principal), status_code=303)
    set_session_cookie(response, token, secure=settings.secure_cookies)
    # A fresh CSRF token per session: a token seen before sign-in is never valid after it.
    response.headers.append(
        "set-cookie", csrf_cookie_header(new_csrf_token(), settings.secure_cookies).decode()
    )
    return response


@router.post("/logout", dependencies=[Public()], include_in_schema=False)
def logout(request: Request) -> Response:
    token = session_token(request)
    if token:
        request.app.state.services.accounts.logout(token)
    settings = request.app.state.settings
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, secure=settings.secure_cookies)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


class LoginBody(BaseModel):
    username: str = Field(max_length=200)
    password: str = Field(max_length=1000)


class LoginResult(BaseModel):
    token: str
    user_id: str
    display_name: str
    roles: list[str]


@router.post(
    "/api/v1/auth/login",
    dependencies=[Public()],
    tags=["auth"],
    summary="Sign in; use the token as `Authorization: Bearer <token>`",
)
def api_login(request: Request, body: LoginBody) -> LoginResult:
    client = request.client.host if request.client else "unknown"
    token, principal = request.app.state.services.accounts.login(
        body.username, body.password, client=client
    )
    return LoginResult(
        token=token,
        user_id=principal.user_id,
        display_name=principal.display_name,
        roles=sorted(r.value for r in principal.roles),
    )


@router.post("/api/v1/auth/logout", dependencies=[Public()], tags=["auth"], summary="Sign out")
def api_logout(request: Request) -> dict[str, str]:
    token = session_token(request)
    if token:
        request.app.state.services.accounts.logout(token)
    return {"status": "signed-out"}
