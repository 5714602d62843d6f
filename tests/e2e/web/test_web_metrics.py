"""``/metrics`` in the web app (decision 0055): the dialler's Prometheus metrics from a real
runtime over a real database, scraped by a local scraper without a session and by a
supervisor's bearer token; an agent's session gets 403 even from the loopback, and nobody
from elsewhere gets in without a session."""

from __future__ import annotations

import re
import time
from datetime import time as dtime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.adapters.storage.tables.dialler import DialAttempt
from gatehouse.config import Settings
from gatehouse.domain.dialler.config import CampaignConfig, CampaignStatus, TimeRange
from gatehouse.services.dialler.runtime import DiallerRuntime
from gatehouse.services.dialler.simnet import SimulatedNetwork
from gatehouse.telephony.clock import RealClock
from gatehouse.web.adapters.metrics import RuntimeMetrics
from gatehouse.web.app import create_app
from gatehouse.web.services import WebServices
from tests.unit.web.conftest import MemoryAccounts, TestClient

ALL_DAY = dict.fromkeys(range(7), (TimeRange(start=dtime(0, 0), end=dtime(23, 59, 59)),))
NAMES = (
    "gatehouse_dialler_lines_in_use",
    "gatehouse_dialler_dial_level",
    "gatehouse_dialler_abandon_rate_24h",
    "gatehouse_dialler_agents",
    "gatehouse_dialler_hopper_depth",
    "gatehouse_dialler_attempts_24h",
)


def _runtime(session_factory: sessionmaker[Session]) -> DiallerRuntime:
    store = DiallerStore(session_factory)
    now = time.time()
    store.create_campaign("c1", "Home insurance", CampaignConfig(windows=ALL_DAY), at=now)
    store.save_campaign("c1", at=now, status=CampaignStatus.RUNNING)
    clock = RealClock()
    runtime = DiallerRuntime(
        store=store,
        engine=SimulatedNetwork(clock, lambda ref: "+441134960000"),
        clock=clock,
        campaign_id="c1",
    )
    runtime.add_agent("agent1", name="Agent One")
    runtime.add_agent("agent2", name="Agent Two")
    runtime.login("agent1")
    runtime.ready("agent1")
    outcomes = ["complete"] * 30 + ["refused"] * 8 + ["abandoned"] + ["no_answer"] * 5
    with transaction(session_factory) as s:
        for i, outcome in enumerate(outcomes):
            s.add(
                DialAttempt(
                    attempt_id=f"a{i}",
                    campaign_id="c1",
                    contact_ref=f"ref-{i}",
                    worker_id="w1",
                    attempt_no=1,
                    opened_at=now - 60 * i,
                    outcome=outcome,
                )
            )
    return runtime


def _app(runtime: DiallerRuntime) -> tuple[object, MemoryAccounts]:
    accounts = MemoryAccounts()
    services = WebServices(accounts=accounts, metrics=RuntimeMetrics([runtime]))
    return create_app(Settings(secure_cookies=False), services), accounts


def _value(text: str, name: str, labels: str) -> float:
    match = re.search(rf"^{name}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    assert match, f"{name}{{{labels}}} missing from:\n{text}"
    return float(match.group(1))


def test_local_scrape_has_every_dialler_metric_with_values(
    session_factory: sessionmaker[Session],
) -> None:
    app, _ = _app(_runtime(session_factory))
    local = TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 40000))
    response = local.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in NAMES:
        assert re.search(rf"^{name}\{{.*\}} \S+$", text, re.M), f"{name} has no sample"
    assert _value(text, "gatehouse_dialler_lines_in_use", 'campaign="c1"') == 0.0
    assert _value(text, "gatehouse_dialler_dial_level", 'campaign="c1"') == 0.0
    # 1 abandoned of 39 live calls (30 complete + 8 refused + 1 abandoned)
    assert _value(text, "gatehouse_dialler_abandon_rate_24h", 'campaign="c1"') == pytest.approx(
        1 / 39
    )
    assert _value(text, "gatehouse_dialler_agents", 'campaign="c1",state="ready"') == 1.0
    assert _value(text, "gatehouse_dialler_agents", 'campaign="c1",state="logged_out"') == 1.0
    assert _value(text, "gatehouse_dialler_hopper_depth", 'campaign="c1"') == 0.0
    assert _value(text, "gatehouse_dialler_attempts_24h", 'campaign="c1",outcome="complete"') == 30
    assert _value(text, "gatehouse_dialler_attempts_24h", 'campaign="c1",outcome="refused"') == 8


def test_who_may_scrape(session_factory: sessionmaker[Session]) -> None:
    app, accounts = _app(_runtime(session_factory))
    remote = TestClient(app, base_url="http://127.0.0.1", client=("10.1.2.3", 40000))
    assert remote.get("/metrics").status_code == 401
    supervisor, _ = accounts.login("super1", "pw-super", client="test")
    ok = remote.get("/metrics", headers={"Authorization": f"Bearer {supervisor}"})
    assert ok.status_code == 200 and "gatehouse_dialler_agents" in ok.text

    agent, _ = accounts.login("agent1", "pw-agent", client="test")
    manager, _ = accounts.login("manager1", "pw-manager", client="test")
    local = TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 40000))
    for token in (agent, manager):
        for client in (remote, local):
            refused = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 403, (token, refused.status_code)
            assert "gatehouse_dialler" not in refused.text
    # the agent's browser session (cookie) is refused on the loopback too
    local.cookies.set("gh_session", agent)
    assert local.get("/metrics").status_code == 403
    local.cookies.clear()
    # a reverse proxy on this machine does not make outside requests "local"
    proxied = local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 401
