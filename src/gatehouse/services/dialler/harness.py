"""Assembling a runnable dialler: synthetic campaigns, bots, the simulated network.

Used by ``gatehouse dialler run``, the crash and multi-worker tests and ``bench/runtime.py``,
so all of them run the same assembly. Synthetic contacts carry no real PII: their refs are
``syn-N`` and the resolver maps them to numbers in Ofcom's drama range (07700 900xxx), which
exist only inside the simulated network.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.domain.dialler.config import DEFAULT_TZ, CampaignConfig, CampaignStatus
from gatehouse.services.dialler.bots import BotHandler
from gatehouse.services.dialler.runtime import DiallerRuntime
from gatehouse.services.dialler.simnet import Population, SimulatedNetwork
from gatehouse.telephony.clock import Clock
from gatehouse.telephony.port import DestinationResolver, TelephonyEngine


def synthetic_ref(i: int) -> str:
    return f"syn-{i:07d}"


def synthetic_resolver(contact_ref: str) -> str:
    """Dial-time destination of a synthetic contact (drama-range numbers only)."""
    n = int(contact_ref.rsplit("-", 1)[-1])
    return f"+447700{900000 + n % 1000:06d}#{n}"


def seed_synthetic_campaign(
    store: DiallerStore,
    campaign_id: str,
    *,
    contacts: int,
    config: CampaignConfig,
    at: float,
    name: str = "",
    start: bool = True,
) -> None:
    store.create_campaign(campaign_id, name or campaign_id, config, at=at)
    seed_synthetic_contacts(store, campaign_id, contacts)
    if start:
        store.save_campaign(campaign_id, at=at, status=CampaignStatus.RUNNING)


def seed_synthetic_contacts(store: DiallerStore, campaign_id: str, contacts: int) -> int:
    return store.add_contacts(
        campaign_id, ((synthetic_ref(i), DEFAULT_TZ, 0) for i in range(contacts))
    )


def build_runtime(
    store: DiallerStore,
    clock: Clock,
    campaign_id: str,
    *,
    agents: int,
    seed: int = 1,
    call_log: Path | None = None,
    worker_id: str | None = None,
    population: Population | None = None,
    talk_median_s: float = 90.0,
    wrap_s: float = 10.0,
    resolver: DestinationResolver = synthetic_resolver,
    agent_prefix: str = "bot",
    script: Any = None,
) -> tuple[DiallerRuntime, SimulatedNetwork]:
    network = SimulatedNetwork(clock, resolver, population=population, seed=seed, call_log=call_log)
    runtime = runtime_on_engine(
        store,
        clock,
        campaign_id,
        network,
        agents=agents,
        seed=seed,
        worker_id=worker_id,
        talk_median_s=talk_median_s,
        wrap_s=wrap_s,
        agent_prefix=agent_prefix,
        script=script,
        hears_machine=network.answered_by_machine,
    )
    return runtime, network


def bot_ids(agents: int, agent_prefix: str = "bot") -> list[str]:
    return [f"{agent_prefix}-{i:03d}" for i in range(agents)]


def runtime_on_engine(
    store: DiallerStore,
    clock: Clock,
    campaign_id: str,
    engine: TelephonyEngine,
    *,
    agents: int,
    seed: int = 1,
    worker_id: str | None = None,
    talk_median_s: float = 90.0,
    wrap_s: float = 10.0,
    agent_prefix: str = "bot",
    script: Any = None,
    tick_s: float | None = None,
    hears_machine: Callable[[str], bool] | None = None,
) -> DiallerRuntime:
    """A worker for ``campaign_id`` on any engine (simulated or SIP), with ``agents`` bots
    logged in and ready."""
    extra: dict[str, Any] = {} if tick_s is None else {"tick_s": tick_s}
    runtime = DiallerRuntime(
        store=store,
        engine=engine,
        clock=clock,
        campaign_id=campaign_id,
        worker_id=worker_id,
        handler=BotHandler(
            seed=seed,
            talk_median_s=talk_median_s,
            wrap_s=wrap_s,
            hears_machine=hears_machine,
            script=script,
            version_id=store.campaign(campaign_id).script_version_id if script is None else None,
        ),
        **extra,
    )
    runtime.start_worker()
    for i, agent_id in enumerate(bot_ids(agents, agent_prefix)):
        runtime.add_agent(agent_id, name=f"Bot {i}", bot=True)
        slot = runtime.agents[agent_id]
        if slot.machine.state.value == "logged_out":
            runtime.login(agent_id)
        if slot.machine.state.value in ("paused", "wrap_up"):
            runtime.ready(agent_id)
    return runtime


def bare_simulation_scenario(
    config: CampaignConfig,
    *,
    agents: int,
    hours: float,
    contacts: int,
    start: float,
    population: Population | None = None,
    talk_median_s: float = 90.0,
    wrap_s: float = 10.0,
    name: str = "runtime-equivalent",
) -> Any:
    """The ``gatehouse simulate`` scenario that models what ``build_runtime`` runs: the
    simulated network's population and the campaign's ring timeout, the bots' talk, wrap-up
    and time on an answering machine, the information message at once when nobody is free
    (decision 0044). Left different: busy and invalid numbers end after 3 s and 2 s in the
    simulator and 0.2 s in the network, the simulator dials each contact once (the runtime
    retries by the campaign's delays), and the runtime decides on its 1 s tick while the
    simulator also decides whenever an agent comes free or a call ends."""
    import math
    from datetime import UTC, datetime

    from gatehouse.services.dialler.bots import MACHINE_HANDLE_S, TALK_SIGMA
    from gatehouse.telephony.simulated.scenario import Scenario

    pop = population or Population()
    z95 = 1.6448536269514722
    return Scenario.model_validate(
        {
            "name": name,
            "start": datetime.fromtimestamp(start, tz=UTC).isoformat(),
            "duration": hours * 3600.0,
            "agents": agents,
            "contacts": contacts,
            "answer": {
                "human": pop.human,
                "machine": pop.machine,
                "busy": pop.busy,
                "invalid": pop.invalid,
            },
            # the network: ring lognormal(0, 0.5) x median; a person waits patience_s
            "ring_to_answer_s": {
                "dist": "lognormal",
                "median": pop.ring_median_s,
                "p95": pop.ring_median_s * math.exp(z95 * 0.5),
            },
            "patience_s": {"dist": "fixed", "value": pop.patience_s},
            "talk_s": {
                "dist": "lognormal",
                "median": talk_median_s,
                "p95": talk_median_s * math.exp(z95 * TALK_SIGMA),
            },
            "wrap_s": {"dist": "fixed", "value": wrap_s},
            "machine_handle_s": {"dist": "fixed", "value": MACHINE_HANDLE_S},
            "amd": {
                "enabled": config.amd,
                "human_as_machine": pop.amd_human_as_machine,
                "machine_as_human": 0.0,
                "decision_s": {"dist": "fixed", "value": pop.amd_decision_s},
            },
            "rules": {
                "abandon_limit": config.abandon_limit,
                "operating_target": config.operating_target,
                "ring_timeout_s": config.ring_timeout_s,
                "hold_for_agent_s": 0.0,
            },
        }
    )
