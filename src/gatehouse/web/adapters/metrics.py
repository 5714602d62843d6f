"""``MetricsPort`` over the in-process dialler runtimes (``services.dialler.metrics``)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gatehouse.services.dialler.metrics import registry_for
from gatehouse.services.dialler.runtime import DiallerRuntime


class RuntimeMetrics:
    """Collects at scrape time from the runtimes' live state and the 24-hour counts. The
    list is shared with the desk, so runtimes added after start-up are scraped too."""

    def __init__(self, runtimes: Sequence[DiallerRuntime]) -> None:
        self._registry = registry_for(runtimes)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self._registry), CONTENT_TYPE_LATEST
