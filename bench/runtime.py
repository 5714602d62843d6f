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
        task = progress.add_task("runtime legs", total=len(legs) + 1)
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
        )
    console.print(table)


if __name__ == "__main__":
    main()
