"""Contact import throughput: the full vault import vs reading the same file (the floor).

Generates a realistic UK list (names, addresses, postcodes, valid numbers), then imports it
into a fresh SQLite database (and PostgreSQL with --postgres URL). Baseline in the same run:
the same file read with ``csv`` + ``phonenumbers.parse`` alone, no storage.

    python bench/import.py [--rows 1000000] [--postgres postgresql+psycopg://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import phonenumbers
from rich.console import Console
from rich.table import Table

FIRST = ["Ann", "Bob", "Cara", "Dev", "Eve", "Finn", "Gita", "Hal", "Isla", "Jon", "Kai", "Lena"]
LAST = [
    "Smith",
    "Jones",
    "Patel",
    "Brown",
    "Taylor",
    "Wilson",
    "Khan",
    "Evans",
    "Thomas",
    "Roberts",
]
STREETS = ["High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "Queen Street"]
TOWNS = [
    ("Manchester", "M"),
    ("Leeds", "LS"),
    ("Bristol", "BS"),
    ("Leicester", "LE"),
    ("Cardiff", "CF"),
]


def generate(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["first_name", "surname", "phone", "address", "town", "postcode"])
        for i in range(rows):
            town, area = TOWNS[i % len(TOWNS)]
            # Distinct valid numbers: Manchester landlines, then mobiles.
            phone = f"0161 {4000000 + i:07d}" if i < 5_000_000 else f"07911 {i:06d}"
            w.writerow(
                [
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    phone,
                    f"{rng.randint(1, 200)} {rng.choice(STREETS)}",
                    town,
                    f"{area}{rng.randint(1, 20)} {rng.randint(1, 9)}"
                    f"{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}",
                ]
            )


def baseline(path: Path) -> float:
    started = time.perf_counter()
    with path.open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            phonenumbers.parse(row[2], "GB")
    return time.perf_counter() - started


def run_import(path: Path, url: str, tmp: Path) -> tuple[float, int]:
    """Import in a child process so its peak RSS (KiB) is measured on its own."""
    code = f"""
import resource, sys, time
from pathlib import Path
from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.storage import migrate
from gatehouse.adapters.storage.db import make_engine, make_session_factory, transaction
from gatehouse.services import vault
url = {url!r}
migrate.upgrade(url)
engine = make_engine(url)
factory = make_session_factory(engine)
keyring = KeyRing.from_file(Path({str(tmp / "master.key")!r}))
with transaction(factory) as s:
    vault.create_campaign(s, slug="bench", name="bench", tenant="acme")
t = time.perf_counter()
report = vault.import_contacts(factory, keyring, Path({str(path)!r}), "bench")
elapsed = time.perf_counter() - t
print(elapsed, report.imported, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    elapsed, _imported, rss_kb = out.stdout.split()[-3:]
    return float(elapsed), int(rss_kb)


def _admin(url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE): a scratch database
    per run, so the benchmark never touches a database anyone else uses."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "contacts.csv"
        with console.status(f"generating {args.rows:,} rows"):
            generate(path, args.rows)
        floor = baseline(path)
        table = Table(
            title=f"Contact import, {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB CSV)"
        )
        for col in ("leg", "seconds", "rows/s", "ratio to floor", "peak RSS MB"):
            table.add_column(col, justify="right")
        table.add_row(
            "floor: csv + phonenumbers.parse",
            f"{floor:.1f}",
            f"{args.rows / floor:,.0f}",
            "1.00",
            "",
        )
        legs = [("SQLite", f"sqlite:///{tmp / 'bench.db'}")]
        if args.postgres:
            legs.append(("PostgreSQL", args.postgres))
        for name, url in legs:
            with console.status(f"importing into {name}"):
                elapsed, rss = run_import(path, url, tmp)
            table.add_row(
                f"vault import, {name}",
                f"{elapsed:.1f}",
                f"{args.rows / elapsed:,.0f}",
                f"{elapsed / floor:.2f}",
                f"{rss / 1024:.0f}",
            )
        console.print(table)


if __name__ == "__main__":
    main()
