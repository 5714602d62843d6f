"""Who is asking: sessions and the one permission dependency every route uses.

Contract:
- A browser session is the ``gh_session`` cookie (HttpOnly, SameSite=Strict, Secure unless
  settings say plain-HTTP loopback); an API client may send ``Authorization: Bearer <token>``
  with the same server-side session token. The token is opaque; the accounts service owns it.
- Every route declares exactly one of :func:`require` (an :class:`Action` from the domain
  permission table) or :func:`public`. The route-table test walks the app and fails on a
  route that declares neither, so a new page cannot forget its check.
- No session -> 401; a session whose roles lack the action -> 403 (``PermissionDenied``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Depends, Request

from gatehouse.domain import permissions
from gatehouse.domain.errors import AuthenticationFailed
from gatehouse.domain.permissions import Action, Role

SESSION_COOKIE = "gh_session"


@dataclass(frozen=True, slots=True)
class WebPrincipal:
    """The signed-in person as the web layer sees them (no secrets, no PII of callees)."""

    user_id: str
    username: str
    display_name: str
    roles: frozenset[Role]
    session_id: str

    def can(self, action: Action) -> bool:
        return permissions.is_allowed(self.roles, action)

    @property
    def is_agent(self) -> bool:
        return Role.AGENT in self.roles


class AccountsPort(Protocol):
    """What the web layer needs from the accounts service."""

    def login(self, username: str, password: str, *, client: str) -> tuple[str, WebPrincipal]:
        """Check the password; returns (session token, principal). Raises
        ``AuthenticationFailed`` or ``AccountLocked``."""
        ...

    def resolve(self, token: str) -> WebPrincipal | None:
        """The principal of a live session, or None (expired, logged out, unknown)."""
        ...

    def logout(self, token: str) -> None: ...


def session_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE) or None


def optional_principal(request: Request) -> WebPrincipal | None:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = session_token(request)
    if not token:
        return None
    principal: WebPrincipal | None = request.app.state.services.accounts.resolve(token)
    request.state.principal = principal
    return principal


def require(action: Action) -> Callable[..., WebPrincipal]:
    """Dependency: the signed-in principal, who must be allowed ``action``."""

    def dependency(request: Request) -> WebPrincipal:
        principal = optional_principal(request)
        if principal is None:
            raise AuthenticationFailed("sign in first", reason="no-session")
        permissions.require(principal.roles, action)
        return principal

    dependency.gatehouse_action = action  # type: ignore[attr-defined]
    dependency.__name__ = f"require_{action.value.replace('.', '_')}"
    return dependency


def public() -> Callable[..., None]:
    """Dependency marking a route that needs no session (login page, health, assets)."""

    def dependency() -> None:
        return None

    dependency.gatehouse_public = True  # type: ignore[attr-defined]
    return dependency


def Require(action: Action) -> Any:
    return Depends(require(action))


def Public() -> Any:
    return Depends(public())


def set_session_cookie(response: Any, token: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/"
    )


def clear_session_cookie(response: Any, *, secure: bool) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=secure
    )
