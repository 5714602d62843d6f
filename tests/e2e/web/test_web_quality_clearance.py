"""Quality scoring and agent clearance through the web app over the real adapters, services
and database: a supervisor scores a finished call (CSRF, total shown, audited, summary
updated); a security officer clears an agent (expiry warning shown, audited); the desk over
the real dialler runtime refuses "Ready" until the agent is cleared, with the reason on the
agent's own screen."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from datetime import time as dtime

from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.audit import recent, verify_chain
from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.adapters.storage.tables.dialler import DialAttempt
from gatehouse.adapters.storage.tables.platform import User
from gatehouse.config import Settings
from gatehouse.domain.dialler.agents import AgentState
from gatehouse.domain.dialler.config import CampaignConfig, TimeRange
from gatehouse.services import clearance
from gatehouse.services.dialler.runtime import DiallerRuntime
from gatehouse.services.dialler.simnet import SimulatedNetwork
from gatehouse.telephony.clock import RealClock
from gatehouse.web.adapters.desk import RuntimeDesk
from gatehouse.web.adapters.quality import QualityServices
from gatehouse.web.adapters.security import SecurityServices
from gatehouse.web.app import create_app
from gatehouse.web.services import WebServices
from tests.unit.web.conftest import MemoryAccounts, TestClient, login

ALL_DAY = dict.fromkeys(range(7), (TimeRange(start=dtime(0, 0), end=dtime(23, 59, 59)),))
SCORES = {
    "opening": "4",
    "questions": "4",
    "recording": "3",
    "manner": "4",
    "closing": "2",
    "on_script": "1",
    "no_personal_information": "1",
    "respected_refusal": "1",
}


def _no_inline_code(html: str) -> None:
    """The strict CSP allows no inline script, style or handler: the new pages obey it."""
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
    assert "<style" not in html and " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None


def _site(session_factory: sessionmaker[Session]) -> tuple[TestClient, RuntimeDesk]:
    store = DiallerStore(session_factory)
    now = time.time()
    store.create_campaign("c1", "Home insurance", CampaignConfig(windows=ALL_DAY), at=now)
    clock = RealClock()
    runtime = DiallerRuntime(
        store=store,
        engine=SimulatedNetwork(clock, lambda ref: "+441134960000"),
        clock=clock,
        campaign_id="c1",
    )
    runtime.add_agent("agent1", name="Agent One")
    with transaction(session_factory) as s:
        s.add(
            DialAttempt(
                attempt_id="att-1",
                campaign_id="c1",
                contact_ref="ref-1",
                worker_id="w1",
                attempt_no=1,
                opened_at=now - 300,
                connected_at=now - 290,
                ended_at=now - 100,
                agent_id="agent1",
                outcome="complete",
                outcome_at=now - 95,
            )
        )

    def check(agent_id: str, campaign_id: str) -> None:
        with transaction(session_factory) as s:
            clearance.check_can_work(s, agent_id, campaign_id)

    desk = RuntimeDesk([runtime], display_fields=lambda c, r: {}, interviews=None, clearance=check)
    services = WebServices(
        accounts=MemoryAccounts(),
        desk=desk,
        quality=QualityServices(session_factory),
        security=SecurityServices(session_factory),
    )
    app = create_app(Settings(secure_cookies=False), services)
    return TestClient(app, base_url="http://127.0.0.1"), desk


def test_supervisor_scores_a_finished_call(session_factory: sessionmaker[Session]) -> None:
    client, _ = _site(session_factory)
    csrf = login(client, "super1", "pw-super")
    overview = client.get("/supervisor/quality")
    assert overview.status_code == 200
    assert "Agent One" in overview.text and 'data-call="att-1"' in overview.text
    assert "ref-1" not in overview.text  # the contact never appears
    form = client.get("/supervisor/quality/calls/att-1")
    assert form.status_code == 200
    assert 'name="score:on_script"' in form.text and "Stayed on the approved script" in form.text
    fields = {f"score:{k}": v for k, v in SCORES.items()} | {"agent_id": "agent1"}
    # no CSRF token: refused, nothing stored
    assert client.post("/supervisor/quality/calls/att-1", data=fields).status_code == 403
    missing = client.post(
        "/supervisor/quality/calls/att-1",
        data={**fields, "score:manner": "", "csrf_token": csrf},
    )
    assert missing.status_code == 422 and "Courtesy and clarity" in missing.text
    saved = client.post(
        "/supervisor/quality/calls/att-1", data={**fields, "csrf_token": csrf, "comment": "Good"}
    )
    assert saved.status_code == 200, saved.text
    total = re.search(r'id="quality-total">([^<]+)<', saved.text)
    assert total and total.group(1) == "87.5%"
    for html in (overview.text, form.text, saved.text):
        _no_inline_code(html)
    assert "pass" in saved.text and "1 scored call" in saved.text
    again = client.post(
        "/api/v1/supervisor/quality/calls/att-1",
        json={"agent_id": "agent1", "scores": {k: int(v) for k, v in SCORES.items()}},
    )
    assert again.status_code == 409  # one score per call per scorer
    summary = client.get("/api/v1/supervisor/quality/agents/agent1").json()
    assert summary["summary"]["count"] == 1 and summary["summary"]["pass_rate"] == 1.0
    assert summary["calls"][0]["scored_total"] == 87.5
    with transaction(session_factory) as s:
        entries = [e for e in recent(s) if e.action == "quality.score"]
        assert len(entries) == 1 and entries[0].actor == "super1"
        assert verify_chain(s).ok


def test_security_clears_and_the_desk_honours_it(session_factory: sessionmaker[Session]) -> None:
    client, desk = _site(session_factory)
    # the agent cannot go ready before being vetted; the reason is on their own desk
    csrf = login(client, "agent1", "pw-agent")
    assert client.get("/supervisor/quality").status_code == 403
    assert client.get("/security/agents").status_code == 403
    client.post("/agent/sign-on", headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    refused = client.post("/agent/ready", headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert refused.status_code == 200
    assert 'id="desk-flash"' in refused.text and "not cleared to take calls" in refused.text
    assert desk.runtimes[0].agent("agent1").machine.state == AgentState.PAUSED
    api = client.post("/api/v1/agent/ready", headers={"X-CSRF-Token": csrf})
    assert api.status_code == 403 and api.json()["error"] == "not-cleared"
    client.cookies.clear()

    csrf = login(client, "security1", "pw-security")
    with transaction(session_factory) as s:  # the vetter as the platform knows them
        s.add(
            User(
                id="security1", username="security1", display_name="Robin Vetter",
                password_hash="-", roles='["security_officer"]', created_at=time.time(),
            )
        )  # fmt: skip
    page = client.get("/security/agents")
    assert page.status_code == 200 and "not vetted" in page.text
    until = date.today() + timedelta(days=5)
    saved = client.post(
        "/security/agents/agent1/clearance",
        data={
            "csrf_token": csrf,
            "status": "cleared",
            "cleared_until": until.isoformat(),
            "campaigns": "c1",
        },
        follow_redirects=True,
    )
    assert saved.status_code == 200
    assert "clearance expires in 5 days" in saved.text and 'data-clearance="cleared"' in saved.text
    assert "Robin Vetter" in saved.text  # who vetted, by name, not by internal id
    _no_inline_code(saved.text)
    bad = client.put(
        "/api/v1/agents/agent1/clearance",
        json={"status": "cleared", "cleared_until": until.isoformat(), "campaigns": ["nope"]},
    )
    assert bad.status_code == 422
    listed = client.get("/api/v1/agents/clearances").json()
    assert listed[0]["agent_id"] == "agent1" and listed[0]["days_left"] == 5
    client.cookies.clear()

    csrf = login(client, "agent1", "pw-agent")
    ready = client.post("/agent/ready", headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert ready.status_code == 200 and "desk-flash" not in ready.text
    assert desk.runtimes[0].agent("agent1").machine.state == AgentState.READY
    assert desk.enforce_clearance() == []  # cleared: the sweep leaves a ready agent alone
    client.cookies.clear()

    # suspended while ready: the sweep pauses the agent (no more calls), with the reason
    csrf = login(client, "security1", "pw-security")
    suspended = client.put(
        "/api/v1/agents/agent1/clearance", json={"status": "suspended", "note": "review"}
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    client.cookies.clear()
    assert desk.enforce_clearance() == ["agent1"]
    assert desk.runtimes[0].agent("agent1").machine.state == AgentState.PAUSED
    csrf = login(client, "agent1", "pw-agent")
    again = client.post("/agent/ready", headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert "Your clearance is suspended" in again.text
    with transaction(session_factory) as s:
        changes = [e for e in recent(s) if e.action == "agent.clearance"]
        assert [e.details["status"] for e in changes] == ["suspended", "cleared"]
        assert all(e.actor == "security1" for e in changes)
