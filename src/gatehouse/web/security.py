"""HTTP hardening shared by every page and the JSON API.

Contract:
- Every response carries a strict Content-Security-Policy (``default-src 'self'``, no inline
  script or style, ``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer`` and a restrictive ``Permissions-Policy``.
- Every response except static assets carries ``Cache-Control: no-store``: an agent page must
  never be left in a browser cache on a shared prison workstation, and no authenticated page
  should be either.
- CSRF: double-submit token. A random token lives in an HttpOnly ``SameSite=Strict`` cookie;
  every unsafe request (POST, PUT, PATCH, DELETE) must echo it in the ``csrf_token`` form
  field or the ``X-CSRF-Token`` header. Exempt: requests carrying ``Authorization: Bearer``
  (browsers never attach it on their own), and ``application/json`` bodies sent to
  ``/api/`` (a cross-site page cannot send that content type without a CORS preflight, and the
  app grants no CORS).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request

from gatehouse.domain.errors import PermissionDenied

CSRF_COOKIE = "gh_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (
        b"permissions-policy",
        b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), clipboard-write=()",
    ),
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeadersMiddleware:
    """Pure ASGI middleware (streams such as SSE pass through untouched)."""

    def __init__(
        self, app: ASGIApp, *, secure_cookies: bool = True, static_prefix: str = "/static/"
    ) -> None:
        self.app = app
        self.static_prefix = static_prefix
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = str(scope.get("path", "")).startswith(self.static_prefix)
        minted: str | None = None
        if not is_static and not _has_cookie(scope, CSRF_COOKIE):
            # Every browser gets a CSRF cookie on its first page; downstream code sees it as
            # if the browser had sent it, so the token embedded in this very page matches.
            minted = new_csrf_token()
            scope["headers"] = [
                *scope.get("headers", []),
                (b"cookie", f"{CSRF_COOKIE}={minted}".encode()),
            ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {b"cache-control", b"pragma"} or is_static
                ]
                headers.extend(SECURITY_HEADERS)
                if is_static:
                    # Vendored assets are immutable per release; revalidation keeps them fresh.
                    if not any(k.lower() == b"cache-control" for k, _ in headers):
                        headers.append((b"cache-control", b"no-cache"))
                else:
                    headers.append((b"cache-control", b"no-store"))
                    headers.append((b"pragma", b"no-cache"))
                if minted is not None:
                    headers.append((b"set-cookie", csrf_cookie_header(minted, self.secure_cookies)))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _has_cookie(scope: Scope, name: str) -> bool:
    prefix = f"{name}=".encode()
    for key, value in scope.get("headers", []):
        if key.lower() == b"cookie":
            for part in value.split(b";"):
                if part.strip().startswith(prefix) and len(part.strip()) > len(prefix):
                    return True
    return False


def csrf_cookie_header(token: str, secure: bool) -> bytes:
    flags = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")
    return f"{CSRF_COOKIE}={token}{flags}".encode()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_token_for(request: Request) -> str:
    """The token a page embeds in its forms (the middleware guarantees the cookie exists)."""
    return request.cookies.get(CSRF_COOKIE, "")


async def verify_csrf(request: Request) -> None:
    """App-wide dependency: refuse unsafe requests whose token does not match the cookie."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    content_type = request.headers.get("content-type", "")
    if request.url.path.startswith("/api/") and content_type.startswith("application/json"):
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    form_types = ("application/x-www-form-urlencoded", "multipart/form-data")
    if not sent and content_type.startswith(form_types):
        form = await request.form()
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise PermissionDenied("missing or wrong CSRF token", reason="csrf")
