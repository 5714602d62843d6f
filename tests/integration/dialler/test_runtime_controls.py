"""Campaign controls, callbacks, agent recovery, metrics and the CLI, on a real database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.domain.dialler.agents import AgentMachine, AgentState
from gatehouse.domain.dialler.config import CallOutcome, CampaignConfig, CampaignStatus
from gatehouse.services.dialler.clocks import run_virtual
from gatehouse.services.dialler.harness import build_runtime, seed_synthetic_campaign
from gatehouse.services.dialler.metrics import registry_for
from gatehouse.services.dialler.simnet import read_call_log

START = 1_767_949_200.0  # Friday 09:00 UTC


def test_stop_now_ends_dialling_without_cancel_dials(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = DiallerStore(session_factory)
    seed_synthetic_campaign(
        store, "c", contacts=200, config=CampaignConfig(pacer="power:2"), at=START
    )
    log = tmp_path / "calls.jsonl"

    async def main(clock: Any) -> Any:
        runtime, network = build_runtime(store, clock, "c", agents=4, call_log=log)
        task = __import__("asyncio").ensure_future(runtime.run(until=START + 1800))
        await clock.sleep(300)
        store.save_campaign("c", at=clock.now(), status=CampaignStatus.STOPPED, stop_now=True)
        stopped_at = clock.now()
        await task
        await network.close()
        return runtime, stopped_at

    runtime, stopped_at = run_virtual(START, main)
    calls = read_call_log(log)
    assert calls and all(float(c["at"]) <= stopped_at + 1.0 for c in calls)  # type: ignore[arg-type]
    assert runtime.stats.min_unanswered_ring_s >= 15.0
    assert all(a.outcome is not None for a in store.attempts("c"))


@pytest.mark.slow
def test_booked_callback_is_dialled_at_its_time_by_the_runtime(
    session_factory: sessionmaker[Session],
) -> None:
    store = DiallerStore(session_factory)
    cfg = CampaignConfig(pacer="progressive", max_attempts=1)
    seed_synthetic_campaign(store, "cb", contacts=30, config=cfg, at=START)

    async def main(clock: Any) -> Any:
        runtime, network = build_runtime(store, clock, "cb", agents=3)
        runtime.handler = None  # the test plays the agents
        task = __import__("asyncio").ensure_future(runtime.run(until=START + 3 * 3600))
        booked = None
        booker = None
        while clock.now() < START + 3 * 3600 - 5:
            await clock.sleep(1)
            for agent in list(runtime.agents):
                if runtime.current_call(agent) is None:
                    continue
                if booked is None:
                    slots = runtime.callback_slots(agent)
                    booked, booker = slots[2], agent
                    with pytest.raises(Exception, match="offered"):
                        await runtime.finish_call(
                            agent, CallOutcome.CALLBACK, callback_at=booked + 1
                        )
                    await runtime.finish_call(agent, CallOutcome.CALLBACK, callback_at=booked)
                else:
                    await runtime.finish_call(agent, CallOutcome.REFUSED)
                runtime.ready(agent)
        await task
        await network.close()
        return booked, booker

    booked, booker = run_virtual(START, main)
    assert booked is not None, "somebody answered"
    attempts = store.attempts("cb")
    first = next(a for a in attempts if a.outcome == CallOutcome.CALLBACK.value)
    later = [
        a for a in attempts if a.contact_ref == first.contact_ref and a.opened_at > first.opened_at
    ]
    assert later, "the callback was dialled though max_attempts=1"
    assert later[0].opened_at >= booked
    # a personal callback that a person answers goes to the agent who booked it
    if later[0].agent_id is not None:
        assert later[0].agent_id == booker


def test_agent_on_call_at_crash_comes_back_in_wrap_up(
    session_factory: sessionmaker[Session],
) -> None:
    store = DiallerStore(session_factory)
    seed_synthetic_campaign(store, "r", contacts=1, config=CampaignConfig(), at=START)
    store.ensure_agent("a1", name="A", campaigns=["r"])
    m = AgentMachine("a1", since=START)
    for to in (AgentState.READY, AgentState.RESERVED, AgentState.ON_CALL):
        change = m.move(to, START + 1)
        store.record_state(m, change, worker_id="dead", attempt_id="x")

    async def main(clock: Any) -> Any:
        runtime, network = build_runtime(store, clock, "r", agents=0)
        slot = runtime.add_agent("a1", name="A")
        await network.close()
        return slot.machine.state

    assert run_virtual(START + 10, main) == AgentState.WRAP_UP
    assert store.state_log("a1")[-1].reason == "recovered after restart"


def test_metrics_exposition(session_factory: sessionmaker[Session]) -> None:
    store = DiallerStore(session_factory)
    seed_synthetic_campaign(store, "m", contacts=50, config=CampaignConfig(), at=START)

    async def main(clock: Any) -> Any:
        runtime, network = build_runtime(store, clock, "m", agents=3)
        await runtime.run(until=START + 600)
        await network.close()
        return generate_latest(registry_for([runtime])).decode()

    text = run_virtual(START, main)
    for name in (
        "gatehouse_dialler_lines_in_use",
        "gatehouse_dialler_dial_level",
        "gatehouse_dialler_abandon_rate_24h",
        'gatehouse_dialler_agents{campaign="m",state="ready"}',
        "gatehouse_dialler_hopper_depth",
        "gatehouse_dialler_attempts_24h",
    ):
        assert name in text


def test_cli_campaign_lifecycle_and_virtual_run(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatehouse.cli.main import app

    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", db_url)
    r = CliRunner()
    assert r.invoke(app, ["campaigns", "create", "k1", "--synthetic-contacts", "40"]).exit_code == 0
    res = r.invoke(app, ["campaigns", "configure", "k1", "--set", "ring_timeout_s=5"])
    assert res.exit_code == 2 and "15" in res.output  # the Ofcom floor holds
    assert r.invoke(app, ["campaigns", "configure", "k1", "--set", "max_attempts=2"]).exit_code == 0
    assert r.invoke(app, ["campaigns", "pause", "k1"]).exit_code == 2  # draft cannot pause
    res = r.invoke(app, ["campaigns", "start", "k1"])
    assert res.exit_code == 2 and "no approved script" in res.output  # C4: no script, no start
    assert r.invoke(app, ["campaigns", "start", "k1", "--without-script"]).exit_code == 0
    res = r.invoke(
        app,
        [
            "dialler", "run", "--campaign", "k1", "--virtual", "--duration", "900",
            "--agents", "3", "--start-at", "2026-01-09T09:00:00+00:00",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "no_answer" in res.output or "complete" in res.output
    res = r.invoke(app, ["campaigns", "status", "k1"])
    assert res.exit_code == 0 and "k1" in res.output and "running" in res.output
    res = r.invoke(app, ["campaigns", "compliance", "k1"])
    assert res.exit_code == 0 and "compliant" in res.output, res.output


def test_time_in_states_from_the_state_log(session_factory: sessionmaker[Session]) -> None:
    store = DiallerStore(session_factory)
    m = AgentMachine("w1", since=0.0)
    steps = [
        (AgentState.PAUSED, 100.0, "signed on"),
        (AgentState.READY, 160.0, ""),
        (AgentState.RESERVED, 200.0, ""),
        (AgentState.ON_CALL, 201.0, ""),
        (AgentState.WRAP_UP, 381.0, ""),
        (AgentState.READY, 401.0, ""),
        (AgentState.LOGGED_OUT, 500.0, ""),
    ]
    for to, at, reason in steps:
        store.record_state(m, m.move(to, at, reason=reason), worker_id=None, attempt_id=None)
    got = store.time_in_states("w1", 150.0, 450.0)
    assert got == {
        "paused": 10.0,
        "ready": 40.0 + 49.0,
        "reserved": 1.0,
        "on_call": 180.0,
        "wrap_up": 20.0,
    }
    assert sum(got.values()) == 300.0


def test_board_snapshot_from_the_database(session_factory: sessionmaker[Session]) -> None:
    from gatehouse.services.dialler.board import snapshot

    store = DiallerStore(session_factory)
    seed_synthetic_campaign(store, "b", contacts=60, config=CampaignConfig(), at=START)

    async def main(clock: Any) -> Any:
        runtime, network = build_runtime(store, clock, "b", agents=3)
        task = __import__("asyncio").ensure_future(runtime.run(until=START + 900))
        await clock.sleep(600)
        for _ in range(250):  # a moment with a call on an agent (virtual seconds are cheap)
            if any(s.machine.state.value == "on_call" for s in runtime.agents.values()):
                break
            await clock.sleep(1)
        board = snapshot(store, clock.now())  # what another process would see, mid-run
        live = {a: s.machine.state.value for a, s in runtime.agents.items()}
        closed = store.counts("b").connects
        # (read with no await in between: nothing moves while we look)
        on_agents = sum(
            1 for a in store.attempts("b") if a.outcome is None and a.connected_at is not None
        )
        await task
        await network.close()
        return board, live, closed, on_agents

    board, live, closed, on_agents = run_virtual(START, main)
    assert {a.agent_id: a.state for a in board.agents} == live
    (camp,) = board.campaigns
    assert camp.campaign_id == "b" and camp.status == "running" and camp.workers == 1
    assert camp.attempts_24h > 0 and camp.due_contacts >= 0
    # calls on agents right now are connects already, not only once they close
    assert on_agents > 0 and camp.connects_24h == closed + on_agents


def test_a_running_worker_reconciles_a_worker_that_died_later(
    session_factory: sessionmaker[Session],
) -> None:
    from gatehouse.domain.dialler.eligibility import opened

    store = DiallerStore(session_factory)
    seed_synthetic_campaign(store, "d", contacts=20, config=CampaignConfig(), at=START)

    async def main(clock: Any) -> Any:
        runtime, network = build_runtime(store, clock, "d", agents=0)
        task = __import__("asyncio").ensure_future(runtime.run(until=START + 120))
        await clock.sleep(5)
        # a second worker leases a contact, commits an attempt, then dies (lease runs out)
        now = clock.now()
        # (inserted directly: on SQLite register_worker would refuse a second live worker)
        with store._tx() as s:
            from gatehouse.adapters.storage.tables.dialler import DiallerWorker

            s.add(
                DiallerWorker(
                    worker_id="ghost", campaign_id="d", started_at=now, heartbeat_at=now,
                    lease_until=now + 30,
                )
            )  # fmt: skip
        (state,) = store.lease_due_contacts("d", "ghost", now, 1, 120.0)
        assert store.open_attempt(
            attempt_id="ghost-1", campaign_id="d", contact_ref=state.contact_ref,
            worker_id="ghost", now=now, agent_reserved=False, opened_state=opened(state),
            max_attempts=6,
        )  # fmt: skip
        await task
        await network.close()
        return state.contact_ref

    ref = run_virtual(START, main)
    (ghost,) = [a for a in store.attempts("d") if a.attempt_id == "ghost-1"]
    assert ghost.outcome == CallOutcome.UNKNOWN.value and ghost.reconciled
    assert ghost.outcome_at is not None and ghost.outcome_at < START + 100  # mid-run
    st = store.dial_state("d", ref)
    assert not st.in_progress and st.last_outcome == CallOutcome.UNKNOWN


def test_agent_finishes_the_record_of_a_call_a_crash_cut_off(
    session_factory: sessionmaker[Session],
) -> None:
    """A worker dies while a person is on a call: the restart reconciles the attempt to
    ``outcome_unknown`` and brings the agent back in wrap-up with that call to finish; the
    agent's outcome then replaces "unknown" once, and a complete closes the contact."""
    from gatehouse.domain.dialler.eligibility import opened
    from gatehouse.domain.errors import Conflict, ValidationFailed

    store = DiallerStore(session_factory)
    seed_synthetic_campaign(store, "rc", contacts=3, config=CampaignConfig(), at=START)
    store.ensure_agent("a1", name="Agent One", campaigns=["rc"])
    (state,) = store.lease_due_contacts("rc", "ghost", START, 1, 120.0)
    assert store.open_attempt(
        attempt_id="ghost-1", campaign_id="rc", contact_ref=state.contact_ref,
        worker_id="ghost", now=START, agent_reserved=False, opened_state=opened(state),
        max_attempts=6,
    )  # fmt: skip
    store.mark_answered(
        "ghost-1", at=START + 5, answered_by="unknown", agent_id="a1", connected_at=START + 5
    )
    m = AgentMachine("a1", since=START)
    for to in (AgentState.READY, AgentState.RESERVED, AgentState.ON_CALL):
        store.record_state(m, m.move(to, START + 5), worker_id="ghost", attempt_id="ghost-1")

    async def main(clock: Any) -> Any:
        runtime, network = build_runtime(store, clock, "rc", agents=0)  # reconciles "ghost"
        slot = runtime.add_agent("a1", name="Agent One")
        assert slot.machine.state == AgentState.WRAP_UP
        assert slot.recovered == ("ghost-1", state.contact_ref)
        (att,) = [a for a in store.attempts("rc") if a.attempt_id == "ghost-1"]
        assert att.outcome == CallOutcome.UNKNOWN.value and att.reconciled
        with pytest.raises(ValidationFailed):
            runtime.finish_recovered("a1", CallOutcome.CALLBACK)  # no slot was offered
        # nobody else may give this call an outcome
        assert not store.late_outcome(
            "ghost-1", CallOutcome.REFUSED, at=clock.now(), agent_id="a2", config=runtime.config
        )
        runtime.finish_recovered("a1", CallOutcome.COMPLETE)
        assert slot.recovered is None
        with pytest.raises(Conflict):
            runtime.finish_recovered("a1", CallOutcome.REFUSED)  # once only
        await network.close()

    run_virtual(START + 60, main)
    (att,) = [a for a in store.attempts("rc") if a.attempt_id == "ghost-1"]
    assert att.outcome == CallOutcome.COMPLETE.value and att.reconciled
    st = store.dial_state("rc", state.contact_ref)
    assert st.final and st.last_outcome == CallOutcome.COMPLETE  # never dialled again
    counts = store.counts("rc")
    assert counts.unknown == 0 and counts.connects == 1
