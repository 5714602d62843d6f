"""The Recordings pages over the real services and database (no browser): a reason is
required, the access is audited before the WAV is served with no-store, playback needs the
grant of this user's audited access, and agents and admins get 403."""

from __future__ import annotations

import io
import re
import warnings
import wave
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.storage.audit import iter_entries, verify_chain
from gatehouse.config import Settings
from gatehouse.domain.permissions import Role
from gatehouse.web.adapters.accounts import DbAccounts
from gatehouse.web.adapters.recordings import RecordingsServices
from gatehouse.web.app import create_app
from gatehouse.web.services import WebServices
from tests.integration.recording.helpers import PASSWORD, add_user, write_and_register

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx deprecation notice
    from fastapi.testclient import TestClient

REASON = "subject access request SAR-1182 from the called person"


@pytest.fixture
def app_and_users(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> tuple[object, dict[str, str]]:
    keyring = KeyRing(bytes(range(32)))
    users = {
        name: add_user(session_factory, name, role)
        for name, role in [
            ("officer", Role.SECURITY_OFFICER),
            ("investigator", Role.INVESTIGATOR),
            ("agent", Role.AGENT),
            ("admin", Role.ADMIN),
        ]
    }
    write_and_register(session_factory, keyring, tmp_path)
    services = WebServices(
        accounts=DbAccounts(session_factory),
        recordings=RecordingsServices(session_factory, keyring),
    )
    return create_app(Settings(secure_cookies=False), services), users


def _client(app: object, username: str) -> tuple[TestClient, str]:
    client = TestClient(app, base_url="http://127.0.0.1")  # type: ignore[arg-type]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client, client.cookies["gh_csrf"]


def _audit(factory: sessionmaker[Session]) -> list[tuple[str, str, str, dict[str, object]]]:
    with factory() as session:
        return [(e.actor, e.action, e.target, e.details) for e in iter_entries(session)]


def test_officer_lists_states_a_reason_and_listens(
    app_and_users: tuple[object, dict[str, str]], session_factory: sessionmaker[Session]
) -> None:
    app, users = app_and_users
    client, csrf = _client(app, "officer")
    listing = client.get("/security/recordings")
    assert listing.status_code == 200
    assert 'data-recording="rec-0001"' in listing.text and "northfield-2024" in listing.text
    form = client.get("/security/recordings/rec-0001")
    assert 'name="reason"' in form.text and "required" in form.text

    refused = client.post(
        "/security/recordings/rec-0001/open",
        data={"reason": "just curious"[:7], "purpose": "play", "csrf_token": csrf},
    )
    assert refused.status_code == 422 and "too short" in refused.text
    assert "<audio" not in refused.text
    assert _audit(session_factory)[-1][1] == "recording.refused"

    no_csrf = client.post(
        "/security/recordings/rec-0001/open", data={"reason": REASON, "purpose": "play"}
    )
    assert no_csrf.status_code == 403

    played = client.post(
        "/security/recordings/rec-0001/open",
        data={"reason": REASON, "purpose": "play", "csrf_token": csrf},
    )
    assert played.status_code == 200
    actor, action, target, details = _audit(session_factory)[-1]
    assert (actor, action, target) == (users["officer"], "recording.play", "rec-0001")
    assert details["reason"] == REASON and details["via"] == "web"
    src = re.search(r'<audio[^>]* src="([^"]+)"', played.text)
    assert src is not None
    audio = client.get(src.group(1))
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    assert audio.headers["cache-control"] == "no-store"
    with wave.open(io.BytesIO(audio.content)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (2, 8000, 20000)

    # Another authorised user cannot replay the officer's grant.
    other, _ = _client(app, "investigator")
    assert other.get(src.group(1)).status_code == 403
    assert _audit(session_factory)[-1][:3] == (
        users["investigator"],
        "recording.refused",
        "rec-0001",
    )
    with session_factory() as session:
        assert verify_chain(session).ok


def test_investigator_exports_an_attachment(
    app_and_users: tuple[object, dict[str, str]], session_factory: sessionmaker[Session]
) -> None:
    app, users = app_and_users
    client, csrf = _client(app, "investigator")
    response = client.post(
        "/security/recordings/rec-0001/open",
        data={"reason": REASON, "purpose": "export", "csrf_token": csrf},
    )
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="rec-0001.wav"'
    assert response.headers["cache-control"] == "no-store"
    assert response.content[:4] == b"RIFF"
    assert _audit(session_factory)[-1][:3] == (
        users["investigator"],
        "recording.export",
        "rec-0001",
    )


@pytest.mark.parametrize("username", ["agent", "admin"])
def test_agent_and_admin_get_403_everywhere_and_hear_nothing(
    app_and_users: tuple[object, dict[str, str]],
    session_factory: sessionmaker[Session],
    username: str,
) -> None:
    app, _users = app_and_users
    client, csrf = _client(app, username)
    before = len(_audit(session_factory))
    assert client.get("/security/recordings").status_code == 403
    assert client.get("/security/recordings/rec-0001").status_code == 403
    opened = client.post(
        "/security/recordings/rec-0001/open",
        data={"reason": REASON, "purpose": "export", "csrf_token": csrf},
    )
    assert opened.status_code == 403 and opened.content[:4] != b"RIFF"
    assert client.get("/security/recordings/rec-0001/audio/1").status_code == 403
    entries = _audit(session_factory)
    assert not any(a in ("recording.play", "recording.export") for _x, a, _t, _d in entries)
    refusals = [(a, t) for _x, a, t, _d in entries[before:]]
    assert refusals == [
        ("recording.refused", "recordings"),
        ("recording.refused", "rec-0001"),
        ("recording.refused", "rec-0001"),
        ("recording.refused", "rec-0001"),
    ]


def test_nav_shows_recordings_only_to_those_who_may_open_them(
    app_and_users: tuple[object, dict[str, str]],
) -> None:
    app, _users = app_and_users
    officer, _ = _client(app, "officer")
    assert 'href="/security/recordings"' in officer.get("/security/recordings").text
