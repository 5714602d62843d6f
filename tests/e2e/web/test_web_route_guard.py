"""Invariant 2's web half on the real composed app: the route table is generated from the app
itself; with a real agent session every route the agent role may not use answers 403, and
without a session every protected route answers 401. No route is left undeclared."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from gatehouse.domain.permissions import Role, is_allowed
from gatehouse.web.routes import route_table

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx deprecation notice
    from fastapi.testclient import TestClient


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_agent_gets_403_off_agent_routes_and_nobody_gets_in_without_a_session(
    tmp_path: Path,
) -> None:
    from gatehouse.cli.demo import build_demo

    system = build_demo(tmp_path / "site", contacts=100, bots=0)
    app = system.app()
    table = route_table(app)
    assert [r.path for r in table if not r.public and not r.actions] == []

    anonymous = TestClient(app, base_url="http://127.0.0.1")
    anonymous.get("/login")
    csrf = anonymous.cookies["gh_csrf"]
    unauthenticated = 0
    for route in table:
        if route.public:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            response = anonymous.request(
                method, _concrete(route.path), headers={"X-CSRF-Token": csrf}
            )
            assert response.status_code == 401, (method, route.path, response.status_code)
            unauthenticated += 1

    agent_login = system.logins[0]
    assert agent_login.role == Role.AGENT
    agent = TestClient(app, base_url="http://127.0.0.1")
    page = agent.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    signed_in = agent.post(
        "/login",
        data={
            "username": agent_login.username,
            "password": agent_login.password,
            "csrf_token": token.group(1),
        },
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    csrf = agent.cookies["gh_csrf"]
    forbidden = 0
    for route in table:
        if route.public or all(is_allowed({Role.AGENT}, a) for a in route.actions):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            response = agent.request(method, _concrete(route.path), headers={"X-CSRF-Token": csrf})
            assert response.status_code == 403, (method, route.path, response.status_code)
            forbidden += 1
    assert unauthenticated >= 40 and forbidden >= 25, (unauthenticated, forbidden)
