"""Web unit-test fixtures: an app over an in-memory accounts double (real services are
exercised in tests/e2e/web). The double implements the same port the real adapter does."""

from __future__ import annotations

import secrets
import warnings

import pytest

with warnings.catch_warnings():
    # Starlette 1.x warns that its TestClient will move from httpx to httpx2; the client
    # works as before and httpx is what this project pins.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from gatehouse.config import Settings
from gatehouse.domain.errors import AuthenticationFailed
from gatehouse.domain.permissions import Role
from gatehouse.web.app import create_app
from gatehouse.web.auth import WebPrincipal
from gatehouse.web.services import WebServices


class MemoryAccounts:
    def __init__(self) -> None:
        self.users = {
            "agent1": ("pw-agent", frozenset({Role.AGENT})),
            "super1": ("pw-super", frozenset({Role.SUPERVISOR})),
            "manager1": ("pw-manager", frozenset({Role.CAMPAIGN_MANAGER})),
            "security1": ("pw-security", frozenset({Role.SECURITY_OFFICER})),
        }
        self.sessions: dict[str, WebPrincipal] = {}

    def login(self, username: str, password: str, *, client: str) -> tuple[str, WebPrincipal]:
        user = self.users.get(username)
        if user is None or user[0] != password:
            raise AuthenticationFailed("bad credentials")
        token = secrets.token_urlsafe(16)
        principal = WebPrincipal(username, username, username.title(), user[1], token[:8])
        self.sessions[token] = principal
        return token, principal

    def resolve(self, token: str) -> WebPrincipal | None:
        return self.sessions.get(token)

    def logout(self, token: str) -> None:
        self.sessions.pop(token, None)


@pytest.fixture
def web_client() -> TestClient:
    settings = Settings(secure_cookies=False)
    app = create_app(settings, WebServices(accounts=MemoryAccounts()))
    return TestClient(app, base_url="http://127.0.0.1")


@pytest.fixture
def full_client() -> TestClient:
    """The app with every port filled by an in-memory double (rendering tests)."""
    from tests.unit.web.fakes import (
        FakeCampaigns,
        FakeDesk,
        FakeScripts,
        FakeSecurity,
        FakeWallboard,
    )

    services = WebServices(
        accounts=MemoryAccounts(),
        desk=FakeDesk(),
        wallboard=FakeWallboard(),
        campaigns=FakeCampaigns(),
        scripts=FakeScripts(),
        security=FakeSecurity(),
    )
    return TestClient(
        create_app(Settings(secure_cookies=False), services), base_url="http://127.0.0.1"
    )


def login(client: TestClient, username: str, password: str) -> str:
    """Sign in through the real form; returns the CSRF token for later posts."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client.cookies["gh_csrf"]
