"""Canary PII for the crawl: unique values and every form they could leak in.

Numbers are in Ofcom's drama range for Manchester (0161 496 0000-0999: valid to
``phonenumbers`` yet never allocated to a subscriber);
names of streets and e-mail users are nonsense words that appear nowhere else; postcodes use
the ``ZZ`` area that the Royal Mail never issues. Each canary knows the spellings an
accidental leak could take (E.164, national, spaced, digits only, lower-cased), and the
search also runs over a digits-only copy of every payload so "07700-900-123" is caught too.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CanaryContact:
    index: int
    first_name: str
    last_name: str
    e164: str
    address: str
    postcode: str
    email: str
    forms: tuple[str, ...] = field(default=())
    digit_forms: tuple[str, ...] = field(default=())


def make_canaries(count: int) -> list[CanaryContact]:
    words = ["qorvex", "zimbal", "truxen", "plavik", "gromsy", "fendrak", "wuxley", "kabrino"]
    contacts: list[CanaryContact] = []
    for i in range(count):
        tail = f"{100 + i:03d}"
        e164 = f"+441614960{tail}"
        national = f"01614960{tail}"
        word = f"{words[i % len(words)]}{i:03d}"
        street = f"{word.title()} Row"
        postcode = f"ZZ{(i % 9) + 1} {(i % 9) + 1}Z{chr(ord('A') + i % 20)}"
        email = f"{word}.canary@example.invalid"
        address = f"{7 + i} {street}, Canarytown"
        last_name = f"Quillfeather{i:03d}"
        forms = (
            last_name,
            e164,
            e164[1:],
            national,
            f"0161 496 0{tail}",
            f"0161 4960{tail}",
            f"01614 960{tail}",
            f"+44 161 496 0{tail}",
            f"+44 (0)161 496 0{tail}",
            f"(0161) 496 0{tail}",
            street,
            word,
            "Canarytown",
            postcode,
            postcode.replace(" ", ""),
            email,
        )
        digit_forms = (f"1614960{tail}",)
        contacts.append(
            CanaryContact(
                i, f"Kit{i:03d}", last_name, e164, address, postcode, email, forms, digit_forms
            )
        )
    return contacts


def find_canaries(payload: str, canaries: list[CanaryContact]) -> list[str]:
    """Every canary form present in ``payload`` (case-insensitive; digits-only pass too)."""
    low = payload.lower()
    digits = re.sub(r"\D", "", payload)
    hits: list[str] = []
    for c in canaries:
        hits.extend(f"{c.index}:{form}" for form in c.forms if form.lower() in low)
        hits.extend(f"{c.index}:digits:{form}" for form in c.digit_forms if form in digits)
    return hits


def write_canary_csv(path: Path, canaries: list[CanaryContact]) -> Path:
    """The demo's import columns; only ``first_name`` is approved for agents' screens."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ("first_name", "last_name", "phone", "address", "town", "postcode", "email", "region")
        )
        for c in canaries:
            writer.writerow(
                (
                    c.first_name,
                    c.last_name,
                    c.e164 if c.index % 2 else "0" + c.e164[3:],  # both spellings go in
                    c.address,
                    "Canarytown",
                    c.postcode,
                    c.email,
                    "North West",
                )
            )
    return path
