"""The desk adapter over the real dialler runtime on the simulated network, in real time:
an agent goes ready, an answered call lands on the desk (SSE wake-up included), the agent's
disposition closes the attempt in the runtime's own records, and the wallboard sees it all."""

from __future__ import annotations

import asyncio
import time
from datetime import time as dtime

from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.domain.dialler.config import CampaignConfig, CampaignStatus, TimeRange
from gatehouse.services.dialler.runtime import DiallerRuntime
from gatehouse.services.dialler.simnet import Population, SimulatedNetwork
from gatehouse.telephony.clock import RealClock
from gatehouse.web.adapters.desk import RoutingHandler, RuntimeDesk, RuntimeHost
from gatehouse.web.agent.views import DeskState
from tests.e2e.web.conftest import run_in_fresh_loop

ALL_DAY = dict.fromkeys(range(7), (TimeRange(start=dtime(0, 0), end=dtime(23, 59, 59)),))


def _cleared(agent_id: str, campaign_id: str) -> None:
    """These tests are about the desk mechanics: every agent is cleared (the clearance check
    itself is tested in tests/e2e/web/test_web_quality_clearance.py)."""


def test_call_reaches_the_desk_and_outcome_is_recorded(
    session_factory: sessionmaker[Session],
) -> None:
    store = DiallerStore(session_factory)
    now = time.time()
    store.create_campaign(
        "c1", "Home insurance", CampaignConfig(windows=ALL_DAY, wrap_up_s=5.0), at=now
    )
    store.save_campaign("c1", at=now, status=CampaignStatus.RUNNING)
    store.add_contacts("c1", [(f"ref-{i}", "Europe/London", 0) for i in range(20)])
    clock = RealClock()
    net = SimulatedNetwork(
        clock,
        lambda ref: "+441134960000",
        population=Population(human=1.0, machine=0.0, busy=0.0, invalid=0.0, ring_median_s=0.3),
    )
    desk = RuntimeDesk(
        [], display_fields=lambda c, r: {"first_name": "Kit"}, interviews=None, clearance=_cleared
    )
    runtime = DiallerRuntime(
        store=store,
        engine=net,
        clock=clock,
        campaign_id="c1",
        handler=RoutingHandler(desk, None),
        tick_s=0.1,
    )
    desk.runtimes.append(runtime)
    runtime.add_agent("agent1", name="Agent One")
    # a new agent's "time in state" starts now, not at the epoch (the wallboard shows it)
    assert runtime.agent("agent1").machine.since >= now
    host = RuntimeHost(desk)

    async def scenario() -> None:
        await host.start()
        try:
            await asyncio.to_thread(desk.sign_on, "agent1")
            await asyncio.to_thread(desk.ready, "agent1")
            version = (await asyncio.to_thread(desk.view, "agent1")).version
            deadline = time.monotonic() + 20
            view = None
            while time.monotonic() < deadline:
                version = await desk.wait_for_change("agent1", version, 2.0)
                view = await asyncio.to_thread(desk.view, "agent1")
                if view.call is not None:
                    break
            assert view is not None and view.call is not None, "no call reached the desk"
            assert view.state == DeskState.ON_CALL
            assert view.call.display_fields == (("First name", "Kit"),)
            board = await asyncio.to_thread(desk.snapshot)
            assert board.calls_in_progress == 1
            assert [a.state for a in board.agents] == ["on_call"]
            await asyncio.to_thread(desk.finish, "agent1", view.call.call_ref, "refused", None)
            after = await asyncio.to_thread(desk.view, "agent1")
            assert after.state == DeskState.WRAP_UP and after.call is None
            closed = [a for a in store.attempts("c1") if a.attempt_id == view.call.call_ref]
            assert closed[0].outcome == "refused" and closed[0].agent_id == "agent1"
        finally:
            await host.stop()

    run_in_fresh_loop(scenario)


def test_training_call_is_marked_scored_and_kept_out_of_exports(
    session_factory: sessionmaker[Session],
) -> None:
    from pathlib import Path

    from gatehouse.adapters.storage.tables.scripts import InterviewRecord
    from gatehouse.domain.permissions import Role
    from gatehouse.web.adapters.interviews import InterviewStarter
    from gatehouse.web.adapters.scripts import ScriptServices
    from gatehouse.web.auth import WebPrincipal

    source = (
        Path(__file__).resolve().parents[3] / "examples" / "insurance-survey.yaml"
    ).read_text()
    manager = WebPrincipal("m", "m", "M", frozenset({Role.CAMPAIGN_MANAGER}), "s")
    officer = WebPrincipal("o", "o", "O", frozenset({Role.SECURITY_OFFICER}), "s")
    scripts = ScriptServices(session_factory)
    version = scripts.save_draft(manager, None, source)
    scripts.submit(manager, version)
    scripts.decide(officer, version, True, "fine")

    store = DiallerStore(session_factory)
    now = time.time()
    store.create_campaign(
        "c1", "Home insurance", CampaignConfig(windows=ALL_DAY), at=now, script_version_id=version
    )
    clock = RealClock()
    net = SimulatedNetwork(clock, lambda ref: "+441134960000")
    desk = RuntimeDesk(
        [],
        display_fields=lambda c, r: {},
        interviews=InterviewStarter(session_factory),
        clearance=_cleared,
    )
    runtime = DiallerRuntime(
        store=store, engine=net, clock=clock, campaign_id="c1", handler=RoutingHandler(desk, None)
    )
    desk.runtimes.append(runtime)
    runtime.add_agent("agent1", name="Agent One")

    async def scenario() -> None:
        desk.bind_loop(asyncio.get_running_loop())
        assert (await asyncio.to_thread(desk.view, "agent1")).training_available
        await asyncio.to_thread(desk.start_training, "agent1")
        view = await asyncio.to_thread(desk.view, "agent1")
        assert view.call is not None and view.call.training
        assert view.state == DeskState.PAUSED  # no live call can reach a practising agent
        for _ in range(60):
            call = view.call
            assert call is not None
            if call.finished:
                break
            assert call.question is not None
            values = desk._x("agent1").persona_values  # answer exactly what the persona said
            if call.question.kind != "readout":
                assert call.message.startswith("Respondent says: ")
            other = desk._x("agent1").persona_other
            await asyncio.to_thread(
                desk.answer, "agent1", call.call_ref, call.question.question_id, values, other
            )
            view = await asyncio.to_thread(desk.view, "agent1")
        assert view.call is not None and view.call.finished
        outcome = view.call.suggested_outcome or "complete"  # a "no" to consent screens out
        await asyncio.to_thread(desk.finish, "agent1", view.call.call_ref, outcome, None)
        after = await asyncio.to_thread(desk.view, "agent1")
        assert after.call is None and after.notice.startswith("Training call scored")
        matched, asked = desk.training_scores["agent1"][0]
        assert asked >= 1 and matched == asked

    run_in_fresh_loop(scenario)
    with session_factory() as s:
        rows = s.query(InterviewRecord).all()
        assert len(rows) == 1 and rows[0].training


def test_a_call_cut_off_by_a_restart_comes_back_to_its_agent_to_finish(
    session_factory: sessionmaker[Session],
) -> None:
    """After a crash the agent's desk shows the interrupted call (approved fields, a note,
    interview outcomes only, no callback) and the agent's outcome replaces "unknown"."""
    from gatehouse.domain.dialler.agents import AgentMachine, AgentState
    from gatehouse.domain.dialler.config import CallOutcome
    from gatehouse.domain.dialler.eligibility import opened

    store = DiallerStore(session_factory)
    now = time.time()
    store.create_campaign("c1", "Home insurance", CampaignConfig(windows=ALL_DAY), at=now)
    store.add_contacts("c1", [("ref-1", "Europe/London", 0)])
    store.ensure_agent("agent1", name="Agent One", campaigns=["c1"])
    (state,) = store.lease_due_contacts("c1", "ghost", now, 1, 120.0)
    assert store.open_attempt(
        attempt_id="cut-1", campaign_id="c1", contact_ref="ref-1", worker_id="ghost", now=now,
        agent_reserved=False, opened_state=opened(state), max_attempts=6,
    )  # fmt: skip
    store.mark_answered("cut-1", at=now, answered_by="unknown", agent_id="agent1", connected_at=now)
    m = AgentMachine("agent1", since=now)
    for to in (AgentState.READY, AgentState.RESERVED, AgentState.ON_CALL):
        store.record_state(m, m.move(to, now), worker_id="ghost", attempt_id="cut-1")
    audited: list[tuple[str, str, str, dict[str, object]]] = []
    desk = RuntimeDesk(
        [],
        display_fields=lambda c, r: {"first_name": "Kit"},
        interviews=None,
        clearance=_cleared,
        audit=lambda *entry: audited.append(entry),
    )
    clock = RealClock()
    runtime = DiallerRuntime(
        store=store,
        engine=SimulatedNetwork(clock, lambda ref: "+441134960000"),
        clock=clock,
        campaign_id="c1",
        handler=RoutingHandler(desk, None),
    )
    runtime.start_worker()  # the restart: the dead worker's attempt becomes outcome_unknown
    desk.runtimes.append(runtime)
    runtime.add_agent("agent1", name="Agent One")
    view = desk.view("agent1")
    assert view.state == DeskState.WRAP_UP and view.call is not None
    assert view.call.call_ref == "cut-1" and "cut off" in view.call.message
    assert view.call.display_fields == (("First name", "Kit"),)
    offered = {o.code for o in view.call.outcomes}
    assert "complete" in offered and "callback" not in offered and "machine" not in offered
    assert view.call.callback_slots == ()
    desk.finish("agent1", "cut-1", "refused", None)
    (att,) = store.attempts("c1")
    assert att.outcome == CallOutcome.REFUSED.value
    assert desk.view("agent1").call is None
    assert audited == [
        (
            "agent1",
            "attempt.late_outcome",
            "attempt:cut-1",
            {"outcome": "refused", "why": "call cut off by a restart"},
        )
    ]
