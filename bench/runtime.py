"""Dialler runtime speed with storage, on virtual time.

Runs the full runtime (database, simulated network, bots) for ``--agents`` simulated agents
over ``--hours`` of virtual time on SQLite and, when reachable, PostgreSQL, and prints
attempts per wall second and database writes per attempt. The same-run baseline is the
same scenario on the same runtime with SQLite at ``synchronous=OFF`` (no fsync),
i.e. the runtime's own CPU cost without durable storage (the floor storage adds to).
The last row is ``gatehouse simulate``'s bare simulation of the same scenario
(``harness.bare_simulation_scenario``): its attempts, connects and agents' talk share are
what the runtime should reproduce (decision 0044).

    python bench/runtime.py --agents 200 --hours 0.25
    python bench/runtime.py --agents 50 --hours 2 --contacts 30000 --no-pg --pacer predictive
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import create_engine, event, text

from gatehouse.adapters.storage import migrate
from gatehouse.adapters.storage.db import make_engine, make_session_factory
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.domain.dialler.agents import AgentState
from gatehouse.domain.dialler.config import LIVE_OUTCOMES, CallOutcome, CampaignConfig
from gatehouse.services.dialler.clocks import run_virtual
from gatehouse.services.dialler.harness import (
    bare_simulation_scenario,
    build_runtime,
    seed_synthetic_campaign,
)

START = 1_767_949_200.0  # a Friday 09:00 UTC
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CONFIG = CampaignConfig(pacer="progressive", wrap_up_s=10.0, hopper_size=400)


def _count_writes(engine: Any) -> dict[str, int]:
    counter = {"writes": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            counter["writes"] += 1

    return counter


def run_one(
    url: str,
    agents: int,
    hours: float,
    contacts: int,
    *,
    fast: bool = False,
    config: CampaignConfig = CONFIG,
) -> dict[str, float]:
    engine = make_engine(url)
    if fast:

        @event.listens_for(engine, "connect")
        def _fast(dbapi_conn: Any, _r: Any) -> None:
            dbapi_conn.execute("PRAGMA synchronous=OFF")

    counter = _count_writes(engine)
    store = DiallerStore(make_session_factory(engine))
    seed_synthetic_campaign(store, "bench", contacts=contacts, config=config, at=START)
    counter["writes"] = 0

    async def main(clock: Any) -> Any:
        runtime, network = build_runtime(store, clock, "bench", agents=agents, talk_median_s=90)
        await runtime.run(until=START + hours * 3600)
        await network.close()
        return runtime, talk_share(runtime, START + hours * 3600)

    wall = time.perf_counter()
    runtime, talk = run_virtual(START, main)
    wall = time.perf_counter() - wall
    attempts = store.counts("bench").attempts
    engine.dispose()
    return {
        "attempts": attempts,
        "wall_s": wall,
        "attempts_per_s": attempts / wall,
        "writes_per_attempt": counter["writes"] / max(1, attempts),
        "virtual_speed": hours * 3600 / wall,
        # live calls that reached an agent (not the machines agents recorded), as the simulator
        "connected": sum(
            n
            for outcome, n in runtime.stats.outcomes.items()
            if CallOutcome(outcome) in LIVE_OUTCOMES and outcome != CallOutcome.ABANDONED
        ),
        "talk_share": talk,
    }


def talk_share(runtime: Any, until: float) -> float:
    """The agents' time on calls over their logged-in time (the simulator's talk share)."""
    on_call = logged = 0.0
    for slot in runtime.agents.values():
        m = slot.machine
        spent = dict(m.durations)
        spent[m.state] = spent.get(m.state, 0.0) + max(0.0, until - m.since)
        on_call += spent.get(AgentState.ON_CALL, 0.0)
        logged += sum(
            v for k, v in spent.items() if k not in (AgentState.LOGGED_OUT, AgentState.PAUSED)
        )
    return on_call / logged if logged else 0.0


def run_bare_simulation(
    agents: int, hours: float, contacts: int, config: CampaignConfig = CONFIG
) -> dict[str, float]:
    """W1-B's bare pacer simulation (``gatehouse simulate``: no storage, no asyncio) on the
    scenario that models the runtime legs (``harness.bare_simulation_scenario``)."""
    from gatehouse.telephony.simulated.des import simulate

    scenario = bare_simulation_scenario(
        config, agents=agents, hours=hours, contacts=contacts, start=START, talk_median_s=90
    )
    wall = time.perf_counter()
    result = simulate(scenario, config.pacer, seed=1)
    wall = time.perf_counter() - wall
    attempts = float(result.summary["calls_placed"])
    return {
        "attempts": attempts,
        "wall_s": wall,
        "attempts_per_s": attempts / wall,
        "writes_per_attempt": 0.0,
        "virtual_speed": hours * 3600 / wall,
        "connected": float(result.summary["connected"]),
        "talk_share": float(result.summary["talk_share"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--hours", type=float, default=0.25)
    ap.add_argument("--contacts", type=int, default=20000)
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--pacer", default=CONFIG.pacer, help="progressive (default), predictive, ...")
    a = ap.parse_args()
    config = CONFIG.model_copy(update={"pacer": a.pacer})
    console = Console(width=140)
    tmp = Path(tempfile.mkdtemp())
    legs: list[tuple[str, str]] = [("sqlite (durable, WAL)", f"sqlite:///{tmp / 'bench.db'}")]
    if not a.no_pg:
        name = f"gh_bench_{uuid.uuid4().hex[:8]}"
        try:
            admin = create_engine(PG, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            legs.append(("postgresql", PG.rsplit("/", 1)[0] + "/" + name))
        except Exception as exc:  # PostgreSQL not reachable: SQLite only
            console.print(f"[yellow]PostgreSQL leg skipped: {exc}[/yellow]")
    base_url = f"sqlite:///{tmp / 'baseline.db'}"
    results: dict[str, dict[str, float]] = {}
    with Progress(console=console) as progress:
        task = progress.add_task("runtime legs", total=len(legs) + 2)
        bare = run_bare_simulation(a.agents, a.hours, a.contacts, config)
        progress.advance(task)
        migrate.upgrade(base_url)
        results["baseline: sqlite synchronous=OFF"] = run_one(
            base_url, a.agents, a.hours, a.contacts, fast=True, config=config
        )
        progress.advance(task)
        for label, url in legs:
            migrate.upgrade(url)
            results[label] = run_one(url, a.agents, a.hours, a.contacts, config=config)
            progress.advance(task)
    base = results["baseline: sqlite synchronous=OFF"]["attempts_per_s"]
    table = Table(title=f"dialler runtime, {a.agents} bots, {a.hours} h virtual, {a.pacer}")
    for col in (
        "leg",
        "attempts",
        "connected",
        "talk share",
        "wall s",
        "attempts/s",
        "writes/attempt",
        "× real time",
        "ratio",
        "÷ bare simulation",
    ):
        table.add_column(col)
    for label, r in results.items():
        table.add_row(
            label,
            f"{r['attempts']:.0f}",
            f"{r['connected']:.0f}",
            f"{r['talk_share']:.3f}",
            f"{r['wall_s']:.1f}",
            f"{r['attempts_per_s']:.0f}",
            f"{r['writes_per_attempt']:.1f}",
            f"{r['virtual_speed']:.0f}",
            f"{r['attempts_per_s'] / base:.2f}",
            f"{r['virtual_speed'] / bare['virtual_speed']:.4f}",
        )
    table.add_row(
        "bare simulation (gatehouse simulate, no storage)",
        f"{bare['attempts']:.0f}",
        f"{bare['connected']:.0f}",
        f"{bare['talk_share']:.3f}",
        f"{bare['wall_s']:.1f}",
        f"{bare['attempts_per_s']:.0f}",
        "0",
        f"{bare['virtual_speed']:.0f}",
        f"{bare['attempts_per_s'] / base:.2f}",
        "1",
    )
    console.print(table)


if __name__ == "__main__":
    main()
