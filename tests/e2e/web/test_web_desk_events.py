"""The desk's live stream over a real server: a change that lands between the page render
and the stream connecting is sent as soon as the stream opens (the CI race where a call rang
in before the browser's EventSource had connected and the desk never refreshed)."""

from __future__ import annotations

import re
import time

import httpx

from gatehouse.config import Settings
from gatehouse.web.app import create_app
from gatehouse.web.services import WebServices
from tests.e2e.web.conftest import serve_in_thread
from tests.unit.web.conftest import MemoryAccounts, login
from tests.unit.web.fakes import FakeDesk, FakeWallboard


def _first_desk_event(client: httpx.Client, url: str, within_s: float) -> str | None:
    """The data of the first ``desk`` event within ``within_s`` seconds, else None."""
    try:
        with client.stream("GET", url, timeout=httpx.Timeout(within_s)) as response:
            assert response.status_code == 200
            event = ""
            deadline = time.monotonic() + within_s
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "desk":
                    return line.split(":", 1)[1].strip()
                if time.monotonic() > deadline:
                    return None
    except httpx.ReadTimeout:
        return None
    return None


def test_stream_sends_a_change_made_before_it_connected() -> None:
    desk = FakeDesk()
    app = create_app(
        Settings(secure_cookies=False),
        WebServices(accounts=MemoryAccounts(), desk=desk, wallboard=FakeWallboard()),
    )
    live = serve_in_thread(app)
    try:
        with httpx.Client(base_url=live.url) as client:
            login(client, "agent1", "pw-agent")  # type: ignore[arg-type]
            page = client.get("/agent")
            rendered = re.search(r'sse-connect="/agent/events\?since=(\d+)"', page.text)
            assert rendered, "the desk page must tell its stream which version it shows"
            desk.ring()  # the call rings in before the stream connects
            sent = _first_desk_event(client, f"/agent/events?since={rendered.group(1)}", 5.0)
            assert sent == str(desk.version)
            # Without the page's version the stream can only wait for the next change.
            assert _first_desk_event(client, "/agent/events", 1.0) is None
    finally:
        live.stop()
