"""Assembling a runnable dialler: synthetic campaigns, bots, the simulated network.

Used by ``gatehouse dialler run``, the crash and multi-worker tests and ``bench/runtime.py``,
so all of them run the same assembly. Synthetic contacts carry no real PII: their refs are
``syn-N`` and the resolver maps them to numbers in Ofcom's drama range (07700 900xxx), which
exist only inside the simulated network.
"""

from __future__ import annotations

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
