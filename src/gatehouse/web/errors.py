"""Errors only the web layer raises."""

from __future__ import annotations

from gatehouse.domain.errors import GatehouseError


class ServiceUnavailable(GatehouseError):
    """A page's backing service is not composed into this server (answers 503)."""

    error_id = "service-unavailable"
