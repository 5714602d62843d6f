"""Every page renders for the role that may open it, with no inline script or style, and
the desk's form flow works end to end over HTTP (browser behaviour is in tests/e2e/web)."""

from __future__ import annotations

import re

import pytest

from tests.unit.web.conftest import TestClient, login

PAGES = [
    ("agent1", "pw-agent", ["/agent", "/agent/desk"]),
    ("super1", "pw-super", ["/supervisor", "/supervisor/board", "/campaigns", "/campaigns/c1"]),
    (
        "manager1",
        "pw-manager",
        ["/campaigns", "/campaigns/c1", "/scripts", "/scripts/versions/v2", "/imports/i2"],
    ),
    (
        "security1",
        "pw-security",
        ["/security/scripts", "/security/scripts/v2", "/security/agents", "/security/audit"],
    ),
]


@pytest.mark.parametrize(("user", "password", "paths"), PAGES)
def test_pages_render_without_inline_code(
    full_client: TestClient, user: str, password: str, paths: list[str]
) -> None:
    login(full_client, user, password)
    for path in paths:
        response = full_client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        html = response.text
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None, path
        assert "<style" not in html and " style=" not in html, path
        assert re.search(r"\son[a-z]+=", html) is None, path
        assert response.headers["cache-control"] == "no-store"


def test_desk_flow_over_http(full_client: TestClient) -> None:
    csrf = login(full_client, "agent1", "pw-agent")
    desk = full_client.app.state.services.desk  # type: ignore[attr-defined]
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    assert "Sign on" in full_client.get("/agent").text
    assert "Waiting for the next call" in full_client.post("/agent/sign-on", headers=headers).text
    desk.ring()
    html = full_client.get("/agent/desk").text
    assert "Good evening" in html and "Margaret" in html
    ref = {"call_ref": "call-1"}
    full_client.post("/agent/answer", headers=headers, data={**ref, "question_id": "intro"})
    refused = full_client.post("/agent/answer", headers=headers, data={**ref, "question_id": "q1"})
    assert "Choose an answer first." in refused.text
    full_client.post(
        "/agent/answer", headers=headers, data={**ref, "question_id": "q1", "answer": "2"}
    )
    html = full_client.post(
        "/agent/answer", headers=headers, data={**ref, "question_id": "q2", "value": "7"}
    ).text
    assert "The script is complete" in html
    html = full_client.post(
        "/agent/finish", headers=headers, data={**ref, "outcome": "complete"}
    ).text
    assert "Wrap-up" in html
    assert desk.answers == [("intro", []), ("q1", ["2"]), ("q2", ["7"])]
    assert desk.outcomes == ["complete"]


def test_supervisor_intervention_goes_to_the_port(full_client: TestClient) -> None:
    csrf = login(full_client, "super1", "pw-super")
    response = full_client.post(
        "/supervisor/intervene",
        data={"action": "barge", "agent_id": "agent1", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert full_client.app.state.services.wallboard.actions == [("super1", "barge", "agent1")]  # type: ignore[attr-defined]


def test_export_is_an_attachment(full_client: TestClient) -> None:
    login(full_client, "manager1", "pw-manager")
    response = full_client.get("/campaigns/c1/export/sav")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="results.sav"'
    assert full_client.get("/campaigns/c1/export/exe").status_code == 422


def test_openapi_lists_the_api(full_client: TestClient) -> None:
    schema = full_client.get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/v1/agent/desk", "/api/v1/supervisor/wallboard", "/api/v1/campaigns"} <= paths
    assert not any(p.startswith("/agent") for p in paths)
