"""The desk in a real browser, keyboard only, against an in-memory runtime double: SSE
pushes the call onto the screen, number keys pick, Enter moves on, copy is blocked, and no
request leaves the loopback. (The full-stack run with the real dialler is test_journey.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatehouse.config import Settings
from gatehouse.web.app import create_app
from gatehouse.web.services import WebServices
from tests.e2e.web.conftest import NetworkGuard, new_context, serve_in_thread, settle
from tests.unit.web.conftest import MemoryAccounts
from tests.unit.web.fakes import FakeDesk, FakeWallboard

pytestmark = pytest.mark.browser


def test_desk_is_keyboard_first(
    browser: Any, network_guard: NetworkGuard, artifacts_dir: Path
) -> None:
    desk = FakeDesk()
    app = create_app(
        Settings(secure_cookies=False),
        WebServices(accounts=MemoryAccounts(), desk=desk, wallboard=FakeWallboard()),
    )
    live = serve_in_thread(app)
    context = new_context(browser, network_guard)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(live.url + "/login")
        page.fill("input[name=username]", "agent1")
        page.fill("input[name=password]", "pw-agent")
        page.keyboard.press("Enter")
        page.wait_for_url("**/agent")
        page.keyboard.press("Enter")  # "Sign on" is the Enter action on a signed-off desk
        page.wait_for_selector("#waiting")
        desk.ring()  # the runtime connects a call: SSE says "changed", the desk refetches
        page.wait_for_selector("text=Good evening")
        settle(page)
        page.keyboard.press("Enter")
        page.wait_for_selector("text=How satisfied")
        settle(page)
        page.keyboard.press("2")
        assert "selected" in (page.get_attribute('[data-key="2"]', "class") or "")
        page.screenshot(path=str(artifacts_dir / "desk-keyboard-question.png"))
        page.keyboard.press("Enter")
        page.wait_for_selector("input[name=value]")
        settle(page)
        page.keyboard.type("7")
        page.keyboard.press("Enter")
        page.wait_for_selector("#interview-done")
        # Nothing on the desk can be copied out.
        page.keyboard.press("Control+A")
        page.keyboard.press("Control+C")
        assert page.evaluate("window.getSelection().toString()") == ""
        page.click('[data-outcome="complete"]')
        page.wait_for_selector(".wrapup-timer")
        assert desk.answers == [("intro", []), ("q1", ["2"]), ("q2", ["7"])]
        assert desk.outcomes == ["complete"]
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        context.close()
        live.stop()
