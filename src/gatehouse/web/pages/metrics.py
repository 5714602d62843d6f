"""``/metrics``: the dialler's Prometheus metrics in the web process (decision 0055).

Who may scrape:
- a request from the loopback interface that carries no session at all (Prometheus or an
  exporter on the same machine; no proxy headers, so a reverse proxy on the same host does
  not turn every outside request into a loopback one);
- anyone whose session (cookie or ``Authorization: Bearer``) allows ``Action.METRICS_VIEW``
  (supervisors and administrators).
Any other session gets 403, wherever it comes from (an agent's desk on the same machine
included); no session from elsewhere gets 401.

The exposition is rendered on the server's event loop, which owns the dialler runtimes.
"""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gatehouse.domain import permissions
from gatehouse.domain.errors import AuthenticationFailed
from gatehouse.domain.permissions import Action
from gatehouse.web.auth import WebPrincipal, optional_principal
from gatehouse.web.errors import ServiceUnavailable

router = APIRouter(include_in_schema=False)

LOOPBACK = frozenset({"127.0.0.1", "::1"})
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


class MetricsPort(Protocol):
    def exposition(self) -> tuple[bytes, str]:
        """(body, content type) in the Prometheus text format."""
        ...


def from_loopback(request: Request) -> bool:
    host = request.client.host if request.client is not None else ""
    proxied = any(request.headers.get(h) for h in PROXY_HEADERS)
    return host in LOOPBACK and not proxied


def metrics_access(request: Request) -> WebPrincipal | None:
    """Dependency: a local scraper without a session, or a session allowed METRICS_VIEW."""
    principal = optional_principal(request)
    if principal is None:
        if from_loopback(request):
            return None
        raise AuthenticationFailed("sign in first, or scrape from this machine", reason="metrics")
    permissions.require(principal.roles, Action.METRICS_VIEW)
    return principal


metrics_access.gatehouse_action = Action.METRICS_VIEW  # type: ignore[attr-defined]

Scraper = Annotated[WebPrincipal | None, Depends(metrics_access)]


@router.get("/metrics")
async def metrics(request: Request, who: Scraper) -> Response:
    port: MetricsPort | None = getattr(request.app.state.services, "metrics", None)
    if port is None:
        raise ServiceUnavailable("The dialler runtime is not running on this server.")
    body, content_type = port.exposition()
    return Response(body, media_type=content_type)
