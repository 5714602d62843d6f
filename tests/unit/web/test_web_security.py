"""Security headers, CSRF and session cookies on the bare app."""

from __future__ import annotations

import re

from tests.unit.web.conftest import TestClient


def _csrf(client: TestClient) -> str:
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "login form must embed a CSRF token"
    return match.group(1)


def test_login_page_has_strict_headers(web_client: TestClient) -> None:
    response = web_client.get("/login")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    cookie = response.headers["set-cookie"]
    assert "gh_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_no_inline_script_or_style_in_pages(web_client: TestClient) -> None:
    html = web_client.get("/login").text
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
    assert "<style" not in html and " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None


def test_post_without_csrf_is_refused(web_client: TestClient) -> None:
    web_client.get("/login")
    response = web_client.post("/login", data={"username": "agent1", "password": "pw-agent"})
    assert response.status_code == 403
    assert "gh_session" not in response.headers.get("set-cookie", "")


def test_login_sets_secure_session_cookie_and_rotates_csrf(web_client: TestClient) -> None:
    token = _csrf(web_client)
    response = web_client.post(
        "/login",
        data={"username": "agent1", "password": "pw-agent", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/agent"
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("gh_session="))
    assert "HttpOnly" in session and "SameSite=strict" in session.replace("Strict", "strict")
    new_csrf = next(c for c in cookies if c.startswith("gh_csrf="))
    assert token not in new_csrf


def test_wrong_password_is_401_with_message(web_client: TestClient) -> None:
    token = _csrf(web_client)
    response = web_client.post(
        "/login", data={"username": "agent1", "password": "nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "not right" in response.text


def test_open_redirect_is_ignored(web_client: TestClient) -> None:
    token = _csrf(web_client)
    response = web_client.post(
        "/login",
        data={
            "username": "agent1",
            "password": "pw-agent",
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/agent"


def test_secure_flag_when_configured() -> None:
    from gatehouse.config import Settings
    from gatehouse.web.app import create_app
    from gatehouse.web.services import WebServices
    from tests.unit.web.conftest import MemoryAccounts

    client = TestClient(
        create_app(Settings(secure_cookies=True), WebServices(accounts=MemoryAccounts())),
        base_url="https://127.0.0.1",
    )
    response = client.get("/login")
    assert "Secure" in response.headers["set-cookie"]


def test_unknown_route_is_404_page(web_client: TestClient) -> None:
    response = web_client.get("/nope")
    assert response.status_code == 404
    assert "does not exist" in response.text
    api = web_client.get("/api/v1/nope")
    assert api.status_code == 404
    assert api.json()["error"] == "http-404"
