"""Pacing benchmark: predictive vs VICIdial's adaptive pacing (tuned fairly) vs progressive.

For each scenario and seed: progressive, predictive, and VICIdial ADAPT_TAPERED at the highest
drop target of 3.0/2.5/2.0/1.5/1.0 % that is compliant on every seed (the baseline; if none
is, the table says so). Prints occupancy ratios with a 95 % t-interval over seeds, the gain
over progressive in points, predictive's worst calendar-day and rolling-24 h rates, and the
simulator's speed (simulated seconds per wall second) at 10, 100 and 1,000 agents.

    python bench/pacing.py [--seeds 20] [--hours 3] [--scenarios a,b,...]
    python bench/pacing.py --speed [--speed-hours 1]   # only the speed table
    python bench/pacing.py --small-teams               # only the small-team fallback table

Every scenario in ``scenarios/`` runs by default (the 200-agent one included).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from gatehouse.domain.pacing.predictive import PredictivePacer
from gatehouse.telephony.simulated.des import simulate
from gatehouse.telephony.simulated.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
TARGETS = (3.0, 2.5, 2.0, 1.5, 1.0)
T95 = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 8: 2.36, 10: 2.26, 20: 2.09}


def ci(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0
    t = T95.get(len(values), 2.0)
    return mean, t * statistics.stdev(values) / len(values) ** 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--scenarios", default="")
    parser.add_argument("--speed", action="store_true", help="only the simulator speed table")
    parser.add_argument("--speed-hours", type=float, default=1.0)
    parser.add_argument("--small-teams", action="store_true", help="only the small-team table")
    parser.add_argument("--main-only", action="store_true", help="only the scenario table")
    args = parser.parse_args()
    console = Console(width=200)
    seeds = list(range(1, args.seeds + 1))
    if args.speed:
        console.print(speed_table(args.speed_hours))
        return
    if args.small_teams:
        console.print(small_team_table(seeds, args.hours))
        return
    names = [n for n in args.scenarios.split(",") if n] or sorted(
        p.stem for p in (ROOT / "scenarios").glob("*.yaml")
    )
    table = Table(
        title=f"Pacing, {args.seeds} seeds × {args.hours:g} h per scenario "
        "(predictive / vicidial tuned fairly)"
    )
    for col in (
        "scenario",
        "agents",
        "progressive occ",
        "predictive occ",
        "vicidial occ (target)",
        "pred/vicidial (95% CI)",
        "pred − prog (points)",
        "pred worst day",
        "pred worst 24h",
        "pred worst after 50",
        "pred compliant",
        "pred p95 answer→agent s",
    ):
        table.add_column(col, justify="right")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("scenarios", total=len(names))
        for name in names:
            sc = Scenario.load(ROOT / "scenarios" / f"{name}.yaml")
            sc = sc.model_copy(update={"duration": min(sc.duration, args.hours * 3600)})
            prog = [simulate(sc, "progressive", s).summary for s in seeds]
            pred = [simulate(sc, "predictive", s).summary for s in seeds]
            vici, target = None, None
            for tgt in TARGETS:
                runs = [simulate(sc, f"vicidial:adapt_tapered:{tgt:g}", s).summary for s in seeds]
                if all(r["compliant"] for r in runs):
                    vici, target = runs, tgt
                    break
            ratio_text = "no compliant target"
            vici_text = "—"
            if vici:
                ratios = [p["occupancy"] / v["occupancy"] for p, v in zip(pred, vici, strict=True)]
                mean, half = ci(ratios)
                ratio_text = f"{mean:.3f} ± {half:.3f}"
                vici_text = f"{statistics.fmean(v['occupancy'] for v in vici):.3f} ({target:g}%)"
            gains = [
                100 * (p["occupancy"] - q["occupancy"]) for p, q in zip(pred, prog, strict=True)
            ]
            table.add_row(
                name,
                str(sc.max_agents()),
                f"{statistics.fmean(r['occupancy'] for r in prog):.3f}",
                f"{statistics.fmean(r['occupancy'] for r in pred):.3f}",
                vici_text,
                ratio_text,
                f"{statistics.fmean(gains):+.1f} (min {min(gains):+.1f})",
                f"{max(r['max_abandon_rate_calendar_day'] for r in pred):.4f}",
                f"{max(r['max_abandon_rate_rolling_24h'] for r in pred):.4f}",
                f"{max(r['max_cumulative_abandon_rate_after_50_live'] for r in pred):.4f}",
                "yes" if all(r["compliant"] for r in pred) else "NO",
                f"{max(r['p95_answer_to_agent_s'] for r in pred):.2f}",
            )
            progress.advance(task)
    console.print(table)
    if not args.main_only:
        console.print(small_team_table(seeds, args.hours))
        console.print(speed_table(args.speed_hours))


SMALL_TEAMS = (("small-team-03", 3), ("agents-05", 5), ("small-team-08", 8))


def small_team_table(seeds: list[int], hours: float) -> Table:
    """What the small-team fallback (decision 0020) costs and saves at 3, 5 and 8 agents:
    predictive as configured, predictive with the fallback off, and progressive."""
    fallback = PredictivePacer().min_agents
    table = Table(
        title=f"Small teams, {len(seeds)} seeds × {hours:g} h (fallback to progressive below "
        f"{fallback} logged-in agents)"
    )
    for col in (
        "scenario",
        "agents",
        "fallback applies",
        "progressive occ",
        "predictive occ (as configured)",
        "predictive occ (no fallback)",
        "abandons/run configured (worst day)",
        "abandons/run no fallback (worst day)",
        "no-fallback compliant",
    ):
        table.add_column(col, justify="right")
    for name, agents in SMALL_TEAMS:
        sc = Scenario.load(ROOT / "scenarios" / f"{name}.yaml")
        sc = sc.model_copy(update={"duration": min(sc.duration, hours * 3600)})
        prog = [simulate(sc, "progressive", s).summary for s in seeds]
        conf = [simulate(sc, "predictive", s).summary for s in seeds]
        free = [simulate(sc, "predictive:1", s).summary for s in seeds]

        def occ(runs: list[dict[str, Any]]) -> str:
            return f"{statistics.fmean(r['occupancy'] for r in runs):.3f}"

        def ab(runs: list[dict[str, Any]]) -> str:
            mean = statistics.fmean(r["abandoned"] for r in runs)
            worst = max(r["max_abandon_rate_calendar_day"] for r in runs)
            return f"{mean:.1f} ({worst:.2%})"

        table.add_row(
            name,
            str(agents),
            "yes" if agents < fallback else "no",
            occ(prog),
            occ(conf),
            occ(free),
            ab(conf),
            ab(free),
            "yes" if all(r["compliant"] for r in free) else "NO",
        )
    return table


def speed_table(hours: float, repeats: int = 3) -> Table:
    """Simulated seconds per wall second: agents-20 with the agent count changed (best of
    ``repeats`` runs; 1,000 agents once)."""
    speed = Table(
        title=f"Simulator speed ({hours:g} simulated h of agents-20, agent count varied, "
        f"best of {repeats})"
    )
    for col in ("pacer", "agents", "wall s", "simulated s per wall s"):
        speed.add_column(col, justify="right")
    base = Scenario.load(ROOT / "scenarios" / "agents-20.yaml")
    for pacer in ("progressive", "predictive"):
        for agents in (10, 100, 1000):
            sc = base.model_copy(
                update={"agents": agents, "duration": hours * 3600, "contacts": agents * 400}
            )
            wall = math.inf
            for _ in range(repeats if agents < 1000 else 1):  # best of a few: the machine is shared
                started = time.perf_counter()
                simulate(sc, pacer, 1)
                wall = min(wall, time.perf_counter() - started)
            speed.add_row(pacer, str(agents), f"{wall:.2f}", f"{hours * 3600 / wall:,.0f}")
    return speed


if __name__ == "__main__":
    main()
