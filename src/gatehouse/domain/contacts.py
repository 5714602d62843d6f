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
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber("not a valid number for its country")
    zones = pn_timezone.time_zones_for_number(parsed)
    # UK mobiles list the Crown Dependencies too (alphabetically first): prefer London.
    known = [z for z in zones if z != "Etc/Unknown"]
    tz = "Europe/London" if not known or "Europe/London" in known else known[0]
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), tz


def neutralise_cell(value: str) -> str:
    """Defuse spreadsheet formula injection (=HYPERLINK(...), +cmd, @SUM) in exported text."""
    if value and value[0] in FORMULA_PREFIXES:
        return "'" + value
    return value
