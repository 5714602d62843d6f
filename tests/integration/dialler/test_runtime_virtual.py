"""The runtime with storage on virtual time: the runtime's own records hold the rules."""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.domain.dialler.config import CallOutcome, CampaignConfig
from gatehouse.services.dialler import compliance
from gatehouse.services.dialler.clocks import run_virtual
from gatehouse.services.dialler.harness import build_runtime, seed_synthetic_campaign
from gatehouse.services.dialler.simnet import Population, read_call_log

START = 1_767_949_200.0  # 2026-01-09 09:00 UTC (a Friday), inside the UK window


def _config(**kw: object) -> CampaignConfig:
    delays = {
        CallOutcome.NO_ANSWER: 600.0,
        CallOutcome.BUSY: 300.0,
        CallOutcome.MACHINE: 3600.0,
        CallOutcome.ABANDONED: 72 * 3600.0,
        CallOutcome.NETWORK_FAILURE: 600.0,
        CallOutcome.UNKNOWN: 72 * 3600.0,
        CallOutcome.PARTIAL: 900.0,
    }
    return CampaignConfig(retry_delay_s=delays, **kw)  # type: ignore[arg-type]


def _run(
    store: DiallerStore,
    log: Path,
    *,
    agents: int,
    hours: float,
    pacer: str,
    population: Population | None = None,
    **config: object,
) -> None:
    seed_synthetic_campaign(
        store, "camp", contacts=400, config=_config(pacer=pacer, wrap_up_s=5.0, **config), at=START
    )

    async def main(clock):  # type: ignore[no-untyped-def]
        runtime, network = build_runtime(
            store, clock, "camp", agents=agents, call_log=log, population=population or Population()
        )
        await runtime.run(until=START + hours * 3600)
        await network.close()
        return runtime

    return run_virtual(START, main)


@pytest.mark.slow
def test_progressive_run_records_every_outcome_and_holds_the_rules(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = DiallerStore(session_factory)
    log = tmp_path / "calls.jsonl"
    runtime = _run(store, log, agents=5, hours=1, pacer="progressive")
    calls = read_call_log(log)
    attempts = {a.attempt_id: a for a in store.attempts("camp")}
    assert len(calls) > 100, "the campaign dialled"
    # every call the network received has its attempt row, opened before it was placed
    for c in calls:
        a = attempts[str(c["attempt_id"])]
        assert a.opened_at <= float(c["at"])  # type: ignore[arg-type]
    assert len({c["attempt_id"] for c in calls}) == len(calls)
    # after a clean stop, no attempt is left without an outcome, none is unknown
    assert all(a.outcome is not None for a in attempts.values())
    assert store.counts("camp").unknown == 0
    # progressive: an agent was free for every call, so nothing is abandoned
    counts = store.counts("camp")
    assert counts.abandoned == 0 and counts.connects > 20
    # no number dialled again within the retry delay of its previous outcome
    cfg = store.campaign("camp").config
    by_contact: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
    for a in sorted(attempts.values(), key=lambda a: a.opened_at):
        by_contact[a.contact_ref].append(a)
    for seq in by_contact.values():
        for prev, nxt in itertools.pairwise(seq):
            delay = cfg.retry_delay(CallOutcome(prev.outcome))
            assert nxt.opened_at - prev.opened_at >= delay - 1e-6 or (
                prev.outcome == CallOutcome.CALLBACK.value
            )
    # unanswered calls rang at least 15 s
    assert runtime.stats.min_unanswered_ring_s >= 15.0
    # every connected call was recorded from its answer, under its attempt id (invariant 3)
    network = runtime.engine
    assert network.unrecorded_bridges == [] and runtime.stats.recording_failures == 0
    connected = {a.attempt_id for a in attempts.values() if a.connected_at is not None}
    assert connected and connected <= set(network.recordings.values())
    # agents' state logs account for their time
    log_rows = store.state_log("bot-000")
    assert {r.to_state for r in log_rows} >= {"ready", "reserved", "on_call", "wrap_up"}


@pytest.mark.slow
def test_power_dialling_holds_abandon_limit_message_and_72h(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = DiallerStore(session_factory)
    runtime = _run(store, tmp_path / "calls.jsonl", agents=3, hours=1.5, pacer="power:3")
    attempts = store.attempts("camp")
    abandoned = [a for a in attempts if a.outcome == CallOutcome.ABANDONED.value]
    assert abandoned, "a power ratio of 3 abandons some calls"
    for a in abandoned:
        assert a.message_at is not None and a.answered_at is not None
        assert a.message_at - a.answered_at <= 2.0
        later = [
            b for b in attempts if b.contact_ref == a.contact_ref and b.opened_at > a.opened_at
        ]
        assert all(b.opened_at - a.opened_at >= 72 * 3600 for b in later)
    assert runtime.stats.max_message_latency_s <= 2.0
    counts = store.counts("camp")
    assert counts.abandoned == len(abandoned)
    # the runtime's own records hold the Ofcom limit (guard: invariant 4)
    assert counts.abandon_rate <= 0.03, counts
    rep = compliance.report(store, "camp")
    assert rep.live == counts.live and rep.abandoned == counts.abandoned
    assert rep.max_rate_calendar_day <= 0.03 and rep.max_rate_rolling_24h <= 0.03
    assert rep.redials_within_72h_of_abandon == 0
    assert rep.min_unanswered_ring_s is not None and rep.min_unanswered_ring_s >= 15.0
    assert rep.compliant, rep


@pytest.mark.slow
def test_predictive_pacer_of_w1b_runs_in_the_runtime_and_holds_the_limit(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = DiallerStore(session_factory)
    runtime = _run(store, tmp_path / "calls.jsonl", agents=6, hours=1.5, pacer="predictive")
    from gatehouse.services.dialler.runtime import DomainPacer

    assert isinstance(runtime.pacer, DomainPacer)
    counts = store.counts("camp")
    assert counts.connects > 30, counts
    rep = compliance.report(store, "camp")
    assert rep.compliant, rep
    assert all(a.outcome is not None for a in store.attempts("camp"))


@pytest.mark.slow
def test_the_runtime_gives_the_predictive_pacer_the_ring_age_of_every_ringing_call(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answer timing (decision 0023) needs one ring age per ringing call; a mismatch would
    silently turn it off."""
    from gatehouse.domain.pacing import PacingSnapshot
    from gatehouse.domain.pacing.predictive import PredictivePacer

    seen: list[PacingSnapshot] = []
    decide = PredictivePacer.decide

    def recording(self: PredictivePacer, s: PacingSnapshot) -> int:
        seen.append(s)
        return decide(self, s)

    monkeypatch.setattr(PredictivePacer, "decide", recording)
    store = DiallerStore(session_factory)
    _run(store, tmp_path / "calls.jsonl", agents=6, hours=0.25, pacer="predictive")
    ringing = [s for s in seen if s.calls_ringing]
    assert len(ringing) > 20
    assert all(len(s.ringing_elapsed) == s.calls_ringing for s in seen)
    assert all(0.0 <= e <= 120.0 for s in ringing for e in s.ringing_elapsed)
    assert any(e > 1.0 for s in ringing for e in s.ringing_elapsed)


@pytest.mark.slow
def test_amd_false_positives_count_as_abandons_in_the_runtime_budget_and_report(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """AMD on at a 1 % human-as-machine rate: the estimate is charged to the abandon rate
    in the runtime's own budget and report (Ofcom), and the limit still holds."""
    store = DiallerStore(session_factory)
    runtime = _run(
        store,
        tmp_path / "calls.jsonl",
        agents=3,
        hours=1.5,
        pacer="power:3",
        population=Population(machine=0.3, amd_human_as_machine=0.01),
        amd=True,
        amd_human_as_machine=0.01,
    )
    rep = compliance.report(store, "camp")
    counts = store.counts("camp")
    connected = counts.live - counts.abandoned
    assert rep.amd_false_positive_estimate == pytest.approx(0.01 * counts.live / 0.99)
    expected = (counts.abandoned + rep.amd_false_positive_estimate) / (
        counts.live + rep.amd_false_positive_estimate
    )
    assert rep.abandon_rate == pytest.approx(expected) and rep.abandon_rate >= 0.01 - 1e-9
    assert connected > 20 and runtime.stats.outcomes.get("machine", 0) > 10
    assert rep.max_rate_calendar_day <= 0.03 and rep.max_rate_rolling_24h <= 0.03
    assert rep.compliant, rep
    # the same campaign without charging the estimate would look better than it is
    assert compliance.report(store, "camp", amd_false_positive_rate=0.0).abandon_rate < (
        rep.abandon_rate
    )


@pytest.mark.slow
def test_preview_reserves_the_agent_who_reads_the_record_before_the_call_is_placed(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Preview pacing: each call is placed only after its agent was reserved for it for
    ``preview_s``; the answer goes to that agent, so nothing is ever abandoned."""
    store = DiallerStore(session_factory)
    log = tmp_path / "calls.jsonl"
    runtime = _run(store, log, agents=3, hours=1, pacer="preview", preview_s=10.0)
    attempts = store.attempts("camp")
    counts = store.counts("camp")
    assert len(attempts) > 30 and counts.connects > 10, counts
    assert counts.abandoned == 0 and all(a.agent_reserved for a in attempts)
    placed = {str(c["attempt_id"]): float(c["at"]) for c in read_call_log(log)}  # type: ignore[arg-type]
    previews: dict[str, list[float]] = {}
    for agent_id in runtime.agents:
        previews[agent_id] = [
            r.at
            for r in store.state_log(agent_id)
            if r.to_state == "reserved" and r.reason == "preview"
        ]
        assert previews[agent_id], f"{agent_id} previewed nothing"
    for a in attempts:
        if a.agent_id is None:
            continue  # not answered: no agent recorded on the attempt
        # the connected agent was reserved for a preview at least preview_s before the dial
        began = [t for t in previews[a.agent_id] if t <= placed[a.attempt_id]]
        assert began and placed[a.attempt_id] - max(began) >= 10.0 - 1e-6
    # never more calls in flight than agents (one reserved agent per call)
    assert runtime.stats.placed == len(placed) and len(placed) == len(attempts)
