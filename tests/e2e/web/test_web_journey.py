"""The whole product in a real browser, on the real services and the real dialler runtime
(simulated network, real time): an agent signs in, goes ready, takes a call, completes the
script and sets the outcome; a supervisor watches the agent's state change live on the
wallboard and barges in; a manager downloads the SPSS export and it reads back; a security
officer opens the approvals queue and the audit trail (chain intact, barge and export
recorded). Screenshots of every main page land in the artifacts
directory."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from gatehouse.services.dialler.simnet import Population
from tests.e2e.web.conftest import NetworkGuard, new_context, serve_in_thread, settle
from tests.e2e.web.test_web_canary_crawl import work_one_call

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def sign_in(page: Any, url: str, username: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/login" not in page.url, "sign-in failed"


def test_agent_supervisor_manager_journey(
    browser: Any, network_guard: NetworkGuard, artifacts_dir: Path, tmp_path: Path
) -> None:
    import pyreadstat

    from gatehouse.cli.demo import build_demo

    system = build_demo(
        tmp_path / "site",
        contacts=300,
        bots=2,
        population=Population(
            human=1.0, machine=0.0, busy=0.0, invalid=0.0, ring_median_s=1.0, patience_s=30.0
        ),
    )
    logins = {login.role.value: login for login in system.logins}
    live = serve_in_thread(system.app())
    agent_ctx = new_context(browser, network_guard)
    super_ctx = new_context(browser, network_guard)
    manager_ctx = new_context(browser, network_guard, accept_downloads=True)
    security_ctx = new_context(browser, network_guard)
    try:
        agent = agent_ctx.new_page()
        sign_in(agent, live.url, logins["agent"].username, logins["agent"].password)
        agent.wait_for_url("**/agent")
        agent.screenshot(path=str(artifacts_dir / "01-agent-signed-off.png"))

        supervisor = super_ctx.new_page()
        sign_in(supervisor, live.url, logins["supervisor"].username, logins["supervisor"].password)
        supervisor.wait_for_url("**/supervisor")
        row = f"tr[data-agent] >> text={system.logins[0].display_name}"
        supervisor.wait_for_selector(row)

        agent.click("#sign-on")
        settle(agent)
        agent.click("#go-ready")
        agent.wait_for_selector("#waiting")
        agent.screenshot(path=str(artifacts_dir / "02-agent-waiting.png"))
        # The supervisor sees the agent leave "paused" without reloading (SSE). On a loaded
        # machine a call can reach the agent before the board's next frame: any working
        # state proves the live update.
        agent_row = supervisor.locator("tr[data-agent]", has_text=system.logins[0].display_name)
        expect(agent_row).to_have_attribute(
            "data-agent-state", re.compile(r"^(ready|reserved|on_call)$"), timeout=20_000
        )

        agent.wait_for_selector(".call-banner", timeout=60_000)
        settle(agent)
        agent.screenshot(path=str(artifacts_dir / "03-agent-on-call.png"))
        supervisor.wait_for_selector('tr[data-agent-state="on_call"] >> [data-action="barge"]')
        time.sleep(1.5)  # one more live tick so the chart has points
        supervisor.screenshot(path=str(artifacts_dir / "04-wallboard.png"), full_page=True)
        on_call_row = supervisor.locator('tr[data-agent-state="on_call"]', has_text="Alex Agent")
        on_call_row.locator('[data-action="barge"]').click()
        supervisor.wait_for_selector("text=barge")

        assert work_one_call(agent, time.time() + 60), "the script did not complete"
        expect(agent_row).to_have_attribute(
            "data-agent-state", re.compile(r"^(wrap_up|ready)$"), timeout=20_000
        )

        manager = manager_ctx.new_page()
        sign_in(
            manager,
            live.url,
            logins["campaign_manager"].username,
            logins["campaign_manager"].password,
        )
        manager.goto(live.url + "/campaigns")
        manager.screenshot(path=str(artifacts_dir / "05-campaigns.png"), full_page=True)
        manager.click("#campaigns a")
        manager.wait_for_selector("#export-sav")
        manager.screenshot(path=str(artifacts_dir / "06-campaign.png"), full_page=True)
        with manager.expect_download() as info:
            manager.click("#export-sav")
        saved = tmp_path / "results.sav"
        info.value.save_as(saved)
        frame, _meta = pyreadstat.read_sav(str(saved))
        assert len(frame) >= 1
        assert not any("phone" in c.lower() or "address" in c.lower() for c in frame.columns)

        security = security_ctx.new_page()
        sign_in(
            security,
            live.url,
            logins["security_officer"].username,
            logins["security_officer"].password,
        )
        security.goto(live.url + "/security/scripts")
        security.wait_for_selector("#pending")
        security.screenshot(path=str(artifacts_dir / "07-approvals.png"), full_page=True)
        security.goto(live.url + "/security/audit")
        security.wait_for_selector("#chain-status")
        assert "Chain intact" in security.inner_text("#chain-status")
        audit_text = security.inner_text("#audit")
        assert "supervise.barge" in audit_text and "results.export" in audit_text
        security.screenshot(path=str(artifacts_dir / "08-audit.png"), full_page=True)
    finally:
        for ctx in (agent_ctx, super_ctx, manager_ctx, security_ctx):
            ctx.close()
        live.stop()
