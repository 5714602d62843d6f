"""Contacts as agents may see them, and the pure rules for contact data.

:class:`AgentContactView` is the only contact object agent-facing code can obtain: it holds
the display fields the campaign approved (e.g. first name) and nothing else. The number and
the address never leave the vault except into the telephony adapter at dial time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import PhoneNumberType, is_number_type_geographical
from phonenumbers import timezone as pn_timezone

PHONE_HEADERS = ("phone", "telephone", "tel", "mobile", "phone_number", "number", "msisdn")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class AgentContactView:
    contact_ref: str
    fields: Mapping[str, str] = field(default_factory=dict)


def agent_view(
    contact_ref: str, record: Mapping[str, str], approved: list[str]
) -> AgentContactView:
    """Only approved fields, and never a phone field even if someone approved one."""
    safe = {
        name: record[name]
        for name in approved
        if name in record and normalise_header(name) not in PHONE_HEADERS
    }
    return AgentContactView(contact_ref, safe)


def normalise_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


class InvalidNumber(ValueError):
    pass


def to_e164(raw: str, region: str = "GB") -> tuple[str, str]:
    """(E.164, IANA time zone) for a dialable number, or InvalidNumber with the reason."""
    text = raw.strip()
    if not text:
        raise InvalidNumber("empty")
    if len(text) > 40:
        raise InvalidNumber("too long to be a phone number")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"not a phone number ({exc})") from None
    # One type lookup serves both checks: ``is_valid_number`` is "its type is known", and
    # ``time_zones_for_number`` would work the type out a second time (each is a pass over
    # the region's number patterns, the dearest step of an import after ``parse``).
    kind = phonenumbers.number_type(parsed)
    if kind == PhoneNumberType.UNKNOWN:
        raise InvalidNumber("not a valid number for its country")
    country_code = parsed.country_code or 0  # always set once parsed
    if is_number_type_geographical(kind, country_code):
        zones = pn_timezone.time_zones_for_geographical_number(parsed)
    else:
        zones = _country_zones(country_code, parsed)
    # UK mobiles list the Crown Dependencies too (alphabetically first): prefer London.
    known = [z for z in zones if z != "Etc/Unknown"]
    tz = "Europe/London" if not known or "Europe/London" in known else known[0]
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), tz


_COUNTRY_ZONES: dict[int, tuple[str, ...]] = {}


def _country_zones(country_code: int, parsed: phonenumbers.PhoneNumber) -> tuple[str, ...]:
    """Time zones of a valid non-geographic number (most mobiles): the library answers
    these by country calling code alone, so one answer per code is kept."""
    zones = _COUNTRY_ZONES.get(country_code)
    if zones is None:
        zones = _COUNTRY_ZONES[country_code] = tuple(pn_timezone.time_zones_for_number(parsed))
    return zones


def neutralise_cell(value: str) -> str:
    """Defuse spreadsheet formula injection (=HYPERLINK(...), +cmd, @SUM) in exported text."""
    if value and value[0] in FORMULA_PREFIXES:
        return "'" + value
    return value
