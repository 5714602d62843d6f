"""Dialler runtime speed with storage, on virtual time.

Runs the full runtime (database, simulated network, bots) for ``--agents`` simulated agents
over ``--hours`` of virtual time on SQLite and, when reachable, PostgreSQL, and prints
attempts per wall second and database writes per attempt. The same-run baseline is the
same scenario on the same runtime with SQLite at ``synchronous=OFF`` (no fsync),
i.e. the runtime's own CPU cost without durable storage (the floor storage adds to).

    python bench/runtime.py --agents 200 --hours 0.25
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
from gatehouse.domain.dialler.config import CampaignConfig
from gatehouse.services.dialler.clocks import run_virtual
from gatehouse.services.dialler.harness import build_runtime, seed_synthetic_campaign

START = 1_767_949_200.0  # a Friday 09:00 UTC
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _count_writes(engine: Any) -> dict[str, int]:
    counter = {"writes": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            counter["writes"] += 1

    return counter


def run_one(
    url: str, agents: int, hours: float, contacts: int, *, fast: bool = False
) -> dict[str, float]:
    engine = make_engine(url)
    if fast:

        @event.listens_for(engine, "connect")
        def _fast(dbapi_conn: Any, _r: Any) -> None:
            dbapi_conn.execute("PRAGMA synchronous=OFF")

    counter = _count_writes(engine)
    store = DiallerStore(make_session_factory(engine))
    cfg = CampaignConfig(pacer="progressive", wrap_up_s=10.0, hopper_size=400)
    seed_synthetic_campaign(store, "bench", contacts=contacts, config=cfg, at=START)
    counter["writes"] = 0

    async def main(clock: Any) -> Any:
        runtime, network = build_runtime(store, clock, "bench", agents=agents, talk_median_s=90)
        await runtime.run(until=START + hours * 3600)
        await network.close()
        return runtime

    wall = time.perf_counter()
    runtime = run_virtual(START, main)
    wall = time.perf_counter() - wall
    attempts = store.counts("bench").attempts
    engine.dispose()
    return {
        "attempts": attempts,
        "wall_s": wall,
        "attempts_per_s": attempts / wall,
        "writes_per_attempt": counter["writes"] / max(1, attempts),
        "virtual_speed": hours * 3600 / wall,
        "connected": runtime.stats.connected,
    }


def run_bare_simulation(agents: int, hours: float, contacts: int) -> dict[str, float]:
    """W1-B's bare pacer simulation (``gatehouse simulate``: no storage, no asyncio) on the
    same scenario as the runtime legs: the simulated network's default population, talk
    lognormal with median 90 s as the bots talk, 10 s wrap-up, progressive pacing."""
    import math

    from gatehouse.telephony.simulated.des import simulate
    from gatehouse.telephony.simulated.scenario import Scenario

    scenario = Scenario.model_validate(
        {
            "name": "runtime-bench-equivalent",
            "start": "2026-01-09T09:00:00+00:00",
            "duration": f"{hours * 3600:.0f}s",
            "agents": agents,
            "contacts": contacts,
            "answer": {"human": 0.30, "machine": 0.15, "busy": 0.05, "invalid": 0.03},
            "ring_to_answer_s": {"dist": "lognormal", "median": 8, "p95": 20},
            "patience_s": {"dist": "lognormal", "median": 4, "p95": 10},
            # the bots: lognormvariate(0, 0.6) x 90 s -> p95 = 90 e^(1.645 x 0.6)
            "talk_s": {"dist": "lognormal", "median": 90, "p95": 90 * math.exp(1.645 * 0.6)},
            "wrap_s": {"dist": "fixed", "value": 10},
        }
    )
    wall = time.perf_counter()
    result = simulate(scenario, "progressive", seed=1)
    wall = time.perf_counter() - wall
    attempts = float(result.summary["calls_placed"])
    return {
        "attempts": attempts,
        "wall_s": wall,
        "attempts_per_s": attempts / wall,
        "writes_per_attempt": 0.0,
        "virtual_speed": hours * 3600 / wall,
        "connected": float(result.summary["connected"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--hours", type=float, default=0.25)
    ap.add_argument("--contacts", type=int, default=20000)
    ap.add_argument("--no-pg", action="store_true")
    a = ap.parse_args()
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
        bare = run_bare_simulation(a.agents, a.hours, a.contacts)
        progress.advance(task)
        migrate.upgrade(base_url)
        results["baseline: sqlite synchronous=OFF"] = run_one(
            base_url, a.agents, a.hours, a.contacts, fast=True
        )
        progress.advance(task)
        for label, url in legs:
            migrate.upgrade(url)
            results[label] = run_one(url, a.agents, a.hours, a.contacts)
            progress.advance(task)
    base = results["baseline: sqlite synchronous=OFF"]["attempts_per_s"]
    table = Table(title=f"dialler runtime, {a.agents} bots, {a.hours} h virtual")
    for col in (
        "leg",
        "attempts",
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
