"""Screening of typed answers: refuse anything that looks like contact data, before storing.

An agent could try to smuggle a number, an address or a card out through an open-text
answer, or a respondent could volunteer one. Either way it must never be stored: the
runner refuses the answer with a message for the agent and keeps nothing of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+\s*(?:@|\(at\)|\[at\])\s*[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# UK postcode (full or outward+inward, with or without the space), per the Royal Mail format.
POSTCODE = re.compile(
    r"\b(?:GIR\s?0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]"
    r"|[A-HK-Y][0-9][ABEHMNPRVWXY])\s?[0-9][ABD-HJLNP-UW-Z]{2})\b",
    re.IGNORECASE,
)
DIGIT_GROUPS = re.compile(r"(?:\d[\s\-./]?){6,}")
CARD_CANDIDATE = re.compile(r"(?:\d[\s-]?){12,18}\d")
SPOKEN_EMAIL = re.compile(r"\b\w+\s+at\s+[\w-]+\s+dot\s+\w+", re.IGNORECASE)
DIGIT_WORDS = frozenset(
    [
        "zero",
        "oh",
        "nought",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "double",
        "treble",
        "triple",
    ]
)
MIN_PHONE_DIGITS = 7
LONG_DIGIT_RUN = 6  # six or more digits in a row (ignoring separators) is refused


@dataclass(frozen=True, slots=True)
class ScreenHit:
    kind: str  # phone | email | postcode | card | digits
    message: str


MESSAGES = {
    "phone": "This looks like a phone number. Phone numbers must never be typed into answers.",
    "email": "This looks like an email address. Email addresses must never be typed into answers.",
    "postcode": "This looks like a postcode. Addresses must never be typed into answers.",
    "card": "This looks like a card number. Payment details must never be typed into answers.",
    "digits": "Long runs of digits are not allowed in answers (they could be a number or an ID).",
}


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def screen_text(text: str, region: str = "GB") -> list[ScreenHit]:
    """Every reason ``text`` must not be stored (empty list: it may be stored)."""
    hits: list[ScreenHit] = []
    kinds: set[str] = set()

    def hit(kind: str) -> None:
        if kind not in kinds:
            kinds.add(kind)
            hits.append(ScreenHit(kind, MESSAGES[kind]))

    for candidate in CARD_CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", candidate.group())
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            hit("card")
    for match in phonenumbers.PhoneNumberMatcher(
        text, region, leniency=phonenumbers.Leniency.POSSIBLE
    ):
        # POSSIBLE also matches a year ("2024"); a valid number, or seven digits or more, is
        # what a smuggled number looks like.
        if phonenumbers.is_valid_number(match.number) or (
            len(re.sub(r"\D", "", match.raw_string)) >= 7
        ):
            hit("phone")
            break
    if EMAIL.search(text) or SPOKEN_EMAIL.search(text):
        hit("email")
    if POSTCODE.search(text):
        hit("postcode")
    for group in DIGIT_GROUPS.finditer(text):
        if len(re.sub(r"\D", "", group.group())) >= LONG_DIGIT_RUN:
            hit("digits")
            break
    if not kinds & {"phone", "digits"} and _spelled_digit_run(text) >= LONG_DIGIT_RUN:
        hit("digits")
    return hits


def _spelled_digit_run(text: str) -> int:
    """Longest run of spelled-out digits ("oh seven seven double oh ...")."""
    best = run = 0
    for word in re.findall(r"[a-z]+|\d", text.lower()):
        if word in DIGIT_WORDS or word.isdigit():
            run += 2 if word == "double" else 3 if word in ("treble", "triple") else 1
            # "double"/"treble" repeat the next digit: count the digits they stand for.
            if word in ("double", "treble", "triple"):
                run -= 1
            best = max(best, run)
        else:
            run = 0
    return best
