"""Rules for opening a call recording (invariant 3): who may, and what they must say why.

Pure: no I/O. The service (``gatehouse.services.recordings``) applies these rules, writes the
audit entry and decrypts; this module only decides whether a request is acceptable.
"""

from __future__ import annotations

from enum import StrEnum

from gatehouse.domain.errors import ValidationFailed
from gatehouse.domain.permissions import Action, Role, require

MIN_REASON_CHARS = 10
MAX_REASON_CHARS = 500


class AccessPurpose(StrEnum):
    PLAY = "play"  # listen (CLI temp file / web <audio>)
    EXPORT = "export"  # a WAV file handed over (CLI --out / web download)


def audit_action(purpose: AccessPurpose) -> str:
    return f"recording.{purpose.value}"


REFUSED = "recording.refused"
FAILED = "recording.access_failed"


def check_reason(reason: str | None) -> str:
    """The stated reason, trimmed; refuses an empty, too short or too long one clearly."""
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed(
            "a reason is required to open a recording (for example the case, complaint or "
            f"request reference); give at least {MIN_REASON_CHARS} characters",
            field="reason",
        )
    if len(text) < MIN_REASON_CHARS:
        raise ValidationFailed(
            f"the reason {text!r} is too short ({len(text)} characters); say why you need "
            f"this recording in at least {MIN_REASON_CHARS} characters",
            field="reason",
        )
    if len(text) > MAX_REASON_CHARS:
        raise ValidationFailed(
            f"the reason is too long ({len(text)} characters, at most {MAX_REASON_CHARS})",
            field="reason",
        )
    return text


def check_access(roles: frozenset[Role] | set[Role], reason: str | None) -> str:
    """Permission first (``recording.access``), then the reason; returns the clean reason."""
    require(roles, Action.RECORDING_ACCESS)
    return check_reason(reason)
