"""Benchmark: generated interviews through the runner, then export to CSV, .sav and Triple-S.

    python bench/interviews.py --interviews 100000

Legs (all in one run, one process):

* ``run``: simulated respondents (``domain.scripts.persona``, a cooperative/reluctant mix)
  answer the example insurance script through ``Interview`` (validation, screening of typed
  text, routing, filters, quotas, seeded randomisation); interviews per second;
* ``resume``: every saved state is resumed (``Interview.resume`` replays and checks the path,
  as after a crash); interviews per second;
* exports: seconds per format; the baseline is the same rows' raw answer dicts written with
  the standard ``csv`` module alone (answers as JSON), so the ratio is "cost over a dump".
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from gatehouse.adapters.exports import ExportRow, build_layout, write_csv, write_sav, write_triple_s
from gatehouse.domain.scripts.model import load_script
from gatehouse.domain.scripts.persona import COOPERATIVE, RELUCTANT, simulate
from gatehouse.domain.scripts.runner import Interview

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "insurance-survey.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="keep the files here")
    args = parser.parse_args(argv)
    console = Console()
    script = load_script(EXAMPLE.read_text(encoding="utf-8"))
    layout = build_layout(script, ["region"])
    rng = random.Random(args.seed)
    n = args.interviews
    rows: list[ExportRow] = []
    states = []
    with Progress(console=console) as progress:
        task = progress.add_task("interviews", total=n)
        t0 = time.perf_counter()
        for i in range(n):
            persona = RELUCTANT if rng.random() < 0.3 else COOPERATIVE
            interview = simulate(
                script,
                seed=args.seed * 1_000_003 + i,
                persona=persona,
                contact={"first_name": "Sam"},
            )
            state = interview.state
            states.append(state)
            rows.append(
                ExportRow(
                    f"R{i:07d}",
                    state["outcome"],
                    state["answers"],
                    {"region": rng.choice(["North", "South", "Wales"])},
                )
            )
            if i % 1000 == 0:
                progress.update(task, completed=i)
        run_s = time.perf_counter() - t0
        progress.update(task, completed=n)

        task2 = progress.add_task("resume", total=n)
        t0 = time.perf_counter()
        for i, state in enumerate(states):
            resumed = Interview.resume(script, state, contact={"first_name": "Sam"})
            if resumed.state != state:
                console.print(f"[red]resume {i} differs[/red]")
                return 1
            if i % 1000 == 0:
                progress.update(task2, completed=i)
        resume_s = time.perf_counter() - t0
        progress.update(task2, completed=n)

        out_dir = args.out or Path(tempfile.mkdtemp(prefix="gh-bench-interviews-"))
        out_dir.mkdir(parents=True, exist_ok=True)
        legs: dict[str, float] = {}
        task3 = progress.add_task("exports", total=4)

        t0 = time.perf_counter()
        with (out_dir / "baseline.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["respid", "outcome", "answers"])
            for row in rows:
                writer.writerow([row.respondent_id, row.outcome, json.dumps(dict(row.answers))])
        legs["baseline: raw dicts with csv"] = time.perf_counter() - t0
        progress.advance(task3)

        t0 = time.perf_counter()
        write_csv(out_dir / "results.csv", layout, rows)
        legs["CSV (codes)"] = time.perf_counter() - t0
        progress.advance(task3)

        t0 = time.perf_counter()
        write_sav(out_dir / "results.sav", layout, rows)
        legs["SPSS .sav (pyreadstat)"] = time.perf_counter() - t0
        progress.advance(task3)

        t0 = time.perf_counter()
        write_triple_s(out_dir / "results.sss", out_dir / "results.asc", layout, rows)
        legs["Triple-S (XML + fixed width)"] = time.perf_counter() - t0
        progress.advance(task3)

    outcomes: dict[str, int] = {}
    for row in rows:
        outcomes[row.outcome] = outcomes.get(row.outcome, 0) + 1
    table = Table(title=f"{n} interviews, {len(layout.columns)} export columns")
    table.add_column("leg")
    table.add_column("seconds", justify="right")
    table.add_column("interviews / s", justify="right")
    table.add_column("ratio to baseline", justify="right")
    table.add_row("run through the runner", f"{run_s:.1f}", f"{n / run_s:,.0f}", "")
    table.add_row("resume (replay + check)", f"{resume_s:.1f}", f"{n / resume_s:,.0f}", "")
    base = legs["baseline: raw dicts with csv"]
    for name, seconds in legs.items():
        table.add_row(name, f"{seconds:.2f}", f"{n / seconds:,.0f}", f"{seconds / base:.2f}")
    console.print(table)
    console.print(f"outcomes: {outcomes}; files in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
