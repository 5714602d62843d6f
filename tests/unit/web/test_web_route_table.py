"""Every route declares its permission; agents get 403 off their routes, nobody gets in
without a session. Walks the route table generated from the app itself (invariant 2's web
half; the browser-level version runs in tests/e2e/web)."""

from __future__ import annotations

import re

import pytest

from gatehouse.domain.permissions import Role, is_allowed
from gatehouse.web.routes import route_table
from tests.unit.web.conftest import TestClient


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def _login(client: TestClient, username: str, password: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return client.cookies["gh_csrf"]


def test_every_route_declares_public_or_an_action(web_client: TestClient) -> None:
    table = route_table(web_client.app)  # type: ignore[arg-type]
    assert len(table) > 20
    undeclared = [r.path for r in table if not r.public and not r.actions]
    assert undeclared == []
    both = [r.path for r in table if r.public and r.actions]
    assert both == []


def test_no_session_gets_401_everywhere_but_public(web_client: TestClient) -> None:
    web_client.get("/login")
    csrf = web_client.cookies["gh_csrf"]
    checked = 0
    for route in route_table(web_client.app):  # type: ignore[arg-type]
        if route.public:
            continue
        for method in route.methods - {"HEAD"}:
            response = web_client.request(
                method, _concrete(route.path), headers={"X-CSRF-Token": csrf}
            )
            assert response.status_code == 401, (method, route.path, response.status_code)
            checked += 1
    assert checked > 20


@pytest.mark.parametrize(("user", "password", "role"), [("agent1", "pw-agent", Role.AGENT)])
def test_agent_gets_403_on_every_non_agent_route(
    web_client: TestClient, user: str, password: str, role: Role
) -> None:
    csrf = _login(web_client, user, password)
    refused = 0
    for route in route_table(web_client.app):  # type: ignore[arg-type]
        if route.public or all(is_allowed({role}, a) for a in route.actions):
            continue
        for method in route.methods - {"HEAD"}:
            response = web_client.request(
                method, _concrete(route.path), headers={"X-CSRF-Token": csrf}
            )
            assert response.status_code == 403, (method, route.path, response.status_code)
            refused += 1
    assert refused >= 5
