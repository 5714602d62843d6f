"""200 SIGKILLs of the dialler worker, then the same checks as the suite's kill test.

    python bench/killtest.py [--kills 200] [--db postgresql+psycopg://...]

Prints kills, calls the simulated network received, attempts, attempts reconciled to
``outcome_unknown`` and the outcome counts; any lost outcome or double dial fails loudly.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.dialler.killtest import live_example_script, run_kills, seed

from gatehouse.adapters.storage import migrate
from gatehouse.adapters.storage.db import make_engine, make_session_factory


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--db", default="")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    url = a.db or f"sqlite:///{tmp / 'kill.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    seed(factory, contacts=1000, script_version_id=live_example_script(factory))
    wall = time.perf_counter()
    report = run_kills(url, factory, tmp / "calls.jsonl", kills=a.kills, rng=random.Random(1))
    Console().print(
        f"kills={report.kills} calls={report.calls} attempts={report.attempts} "
        f"reconciled_unknown={report.reconciled_unknown} interviews={report.interviews} "
        f"completed_interviews={report.completed_interviews} "
        f"wall={time.perf_counter() - wall:.0f}s\n"
        f"outcomes={report.outcomes}\n"
        "all checks passed: no outcome or interview answer lost, no double dial"
    )


if __name__ == "__main__":
    main()
