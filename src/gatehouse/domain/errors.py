"""One error hierarchy. Entry points map ``error_id`` to HTTP status / exit codes."""

from __future__ import annotations

from typing import Any


class GatehouseError(Exception):
    """Base of every error Gatehouse raises on purpose."""

    error_id = "gatehouse-error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(GatehouseError):
    error_id = "not-found"


class PermissionDenied(GatehouseError):
    error_id = "permission-denied"


class AuthenticationFailed(GatehouseError):
    error_id = "authentication-failed"


class AccountLocked(GatehouseError):
    error_id = "account-locked"


class ValidationFailed(GatehouseError):
    error_id = "validation-failed"


class Conflict(GatehouseError):
    error_id = "conflict"


class ComplianceRefused(GatehouseError):
    """An action would break a regulatory rule (Ofcom, MRS, HMPPS) and was refused."""

    error_id = "compliance-refused"
