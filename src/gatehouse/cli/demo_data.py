"""Fake but realistic UK contacts for the demo (Faker ``en_GB``), with numbers only from
Ofcom's drama ranges: valid to ``phonenumbers`` yet never allocated to a real subscriber,
so even a misconfigured SIP engine could not ring a member of the public."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from faker import Faker

# Ofcom "numbers for drama" blocks (1,000 numbers each) that phonenumbers accepts as valid.
# 0161 496 0xxx is kept out: the test suite's canary contacts live there.
DRAMA_BLOCKS = (
    "0113496",
    "0114496",
    "0116496",
    "0117496",
    "0118496",
    "0121496",
    "0131496",
    "0141496",
    "0151496",
    "0207946",
    "0289018",
    "0292018",
    "0191498",
)
MAX_CONTACTS = len(DRAMA_BLOCKS) * 1000

COLUMNS = ("first_name", "last_name", "phone", "address", "town", "postcode", "email", "region")


def drama_numbers(count: int) -> Iterator[str]:
    if count > MAX_CONTACTS:
        raise ValueError(f"at most {MAX_CONTACTS} drama-range numbers exist")
    for i in range(count):
        block, n = DRAMA_BLOCKS[i % len(DRAMA_BLOCKS)], i // len(DRAMA_BLOCKS)
        yield f"{block}{n:04d}"


def write_demo_contacts(path: Path, count: int, seed: int = 2026) -> Path:
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    regions = ("North West", "London", "Yorkshire", "Scotland", "Wales", "Midlands", "South West")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i, phone in enumerate(drama_numbers(count)):
            first, last = fake.first_name(), fake.last_name()
            writer.writerow(
                (
                    first,
                    last,
                    phone,
                    fake.street_address().replace("\n", ", "),
                    fake.city(),
                    fake.postcode(),
                    f"{first}.{last}{i}@example.org".lower(),
                    regions[i % len(regions)],
                )
            )
    return path
