"""Invariant 1, proved on the bytes: an agent's browser never receives unapproved PII.

A demo site is built through the real services with a contact list seeded with canary PII
(numbers in every spelling, last names, addresses, postcodes, e-mails) in fields the campaign
did not approve; only ``first_name`` is approved for agents. A real browser signs in as an
agent and works through many live calls from the real dialler runtime on the simulated
network, keyboard only, while every response body and header, every SSE frame (read from the
DevTools protocol) and every download it receives is recorded. The agent also requests every
route of the app's own route table. No canary may appear in any of it, in any spelling.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from gatehouse.services.dialler.simnet import Population, read_call_log
from gatehouse.web.routes import route_table
from tests.e2e.web.canary import find_canaries, make_canaries, write_canary_csv
from tests.e2e.web.conftest import (
    NetworkGuard,
    TrafficRecorder,
    new_context,
    serve_in_thread,
    settle,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CALLS = 8
CANARIES = 60


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def work_one_call(page: Any, deadline: float) -> bool:
    """Answer every question with its first option (or a neutral value) and finish."""
    page.wait_for_selector(".call-banner", timeout=max(1000, (deadline - time.time()) * 1000))
    settle(page)
    for _ in range(60):
        if page.query_selector("#interview-done"):
            break
        if page.query_selector("input[name=value]"):
            page.fill("input[name=value]", "3")
        elif page.query_selector("textarea[name=value]"):
            page.fill("textarea[name=value]", "Happy with the service overall")
        elif page.query_selector("select[name^='item:']"):
            for sel in page.query_selector_all("select[name^='item:']"):
                sel.select_option(index=1)
        else:
            first = page.query_selector("[data-key]")
            if first is not None:
                page.keyboard.press(first.get_attribute("data-key") or "1")
        page.keyboard.press("Enter")
        settle(page)
        if page.query_selector("#runner-message"):
            # The runner refused the answer (e.g. a screen-out route); end the call politely.
            break
    done = page.query_selector("#interview-done") is not None
    if not done and os.environ.get("GATEHOUSE_DEBUG_DESK"):
        page.screenshot(path="/tmp/desk-stuck.png")
        print(page.inner_text(".script-card"))
    page.click('[data-outcome="complete"]' if done else '[data-outcome="refused"]')
    page.wait_for_selector(".wrapup-timer, #waiting, .call-banner")
    settle(page)
    if page.query_selector("#ready-now"):
        page.click("#ready-now")
        settle(page)
    return done


def test_no_canary_reaches_the_agent(
    browser: Any, network_guard: NetworkGuard, artifacts_dir: Path, tmp_path: Path
) -> None:
    from gatehouse.cli.demo import build_demo

    canaries = make_canaries(CANARIES)
    system = build_demo(
        tmp_path / "site",
        bots=0,
        contacts_csv=write_canary_csv(tmp_path / "canaries.csv", canaries),
        population=Population(
            human=1.0, machine=0.0, busy=0.0, invalid=0.0, ring_median_s=0.5, patience_s=30.0
        ),
        call_log=tmp_path / "calls.jsonl",
    )
    agent = system.logins[0]
    app = system.app()
    live = serve_in_thread(app)
    context = new_context(browser, network_guard)
    recorder = TrafficRecorder()
    try:
        page = context.new_page()
        recorder.attach(context, page)
        page.goto(live.url + "/login")
        page.fill("input[name=username]", agent.username)
        page.fill("input[name=password]", agent.password)
        page.keyboard.press("Enter")
        page.wait_for_url("**/agent")
        page.click("#sign-on")
        settle(page)
        page.click("#go-ready")
        completes = 0
        deadline = time.time() + 150
        for n in range(CALLS):
            completes += work_one_call(page, deadline)
            if n == 0:
                page.screenshot(path=str(artifacts_dir / "canary-agent-after-first-call.png"))
        # Every route of the app, as this agent: forbidden ones answer 403 pages, which are
        # bytes the browser received too.
        for route in route_table(app):
            if "GET" in route.methods and not route.path.endswith("/events"):
                response = page.request.get(live.url + _concrete(route.path))
                recorder.record(response.url, response.headers, response.body())
        page.goto(live.url + "/agent")
        page.wait_for_timeout(1500)  # let the SSE stream deliver a last frame or two
    finally:
        context.close()
        live.stop()

    # Positive control: the canaries really were in play on the server side; the engine
    # dialled their numbers (the simulated network keeps each call's destination).
    dialled = {str(entry["destination"]) for entry in read_call_log(tmp_path / "calls.jsonl")}
    assert len(dialled & {c.e164 for c in canaries}) >= CALLS

    payloads = recorder.payloads()
    leaks = [(where, hit) for where, text in payloads for hit in find_canaries(text, canaries)]
    assert leaks == [], leaks[:20]
    # The crawl really saw calls: approved first names and SSE frames reached the browser.
    seen_names = {c.first_name for c in canaries if any(c.first_name in t for _, t in payloads)}
    assert len(seen_names) >= CALLS, seen_names
    assert len(recorder.frames) >= CALLS
    assert completes >= 1
    (artifacts_dir / "canary-crawl-summary.txt").write_text(
        f"bodies={len(recorder.bodies)} headers={len(recorder.headers)} "
        f"frames={len(recorder.frames)} downloads={len(recorder.downloads)} "
        f"calls={CALLS} completes={completes} first_names_seen={len(seen_names)}\n"
    )
