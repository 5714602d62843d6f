"""Prometheus exposition of the dialler runtime (``/metrics``).

``DiallerCollector`` reads the runtimes' live state and the database's 24-hour counts at
scrape time (a custom collector, so nothing is double-counted across restarts: the numbers
come from the runtime's own records). ``metrics_app(runtimes)`` is an ASGI app the web
process mounts at ``/metrics``; ``serve_metrics(port, runtimes)`` runs it standalone for
``gatehouse dialler run --metrics-port``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, make_asgi_app, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gatehouse.domain.dialler.agents import AgentState
from gatehouse.services.dialler.runtime import DiallerRuntime


class DiallerCollector(Collector):
    def __init__(self, runtimes: Sequence[DiallerRuntime]) -> None:
        self.runtimes = runtimes

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lines = GaugeMetricFamily(
            "gatehouse_dialler_lines_in_use", "Calls placed and not ended", labels=["campaign"]
        )
        level = GaugeMetricFamily(
            "gatehouse_dialler_dial_level",
            "Lines dialling per ready agent",
            labels=["campaign"],
        )
        abandon = GaugeMetricFamily(
            "gatehouse_dialler_abandon_rate_24h",
            "Abandoned / live calls over the last 24 h (runtime records)",
            labels=["campaign"],
        )
        agents = GaugeMetricFamily(
            "gatehouse_dialler_agents", "Agents by state", labels=["campaign", "state"]
        )
        hopper = GaugeMetricFamily(
            "gatehouse_dialler_hopper_depth",
            "Contacts leased and ready to dial",
            labels=["campaign"],
        )
        attempts = GaugeMetricFamily(
            "gatehouse_dialler_attempts_24h",
            "Attempts in the last 24 h by outcome",
            labels=["campaign", "outcome"],
        )
        for rt in self.runtimes:
            c = rt.campaign_id
            now = rt.clock.now()
            in_use = sum(1 for x in rt.calls.values() if not x.closed or x.agent_id)
            lines.add_metric([c], in_use)
            ready = sum(1 for s in rt.agents.values() if s.machine.state == AgentState.READY)
            level.add_metric([c], rt.lines_dialling() / ready if ready else 0.0)
            counts = rt.store.counts(c, since=now - 86400.0)
            abandon.add_metric([c], counts.abandon_rate)
            for state in AgentState:
                n = sum(1 for s in rt.agents.values() if s.machine.state == state)
                agents.add_metric([c, state.value], n)
            hopper.add_metric([c], len(rt.hopper))
            for outcome, n in sorted(counts.by_outcome.items()):
                attempts.add_metric([c, outcome], n)
        yield from (lines, level, abandon, agents, hopper, attempts)


def registry_for(runtimes: Sequence[DiallerRuntime]) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(DiallerCollector(runtimes))
    return registry


def metrics_app(runtimes: Sequence[DiallerRuntime]) -> Any:
    """An ASGI app serving the Prometheus text format (mount it at ``/metrics``)."""
    return make_asgi_app(registry=registry_for(runtimes))


def serve_metrics(port: int, runtimes: Iterable[DiallerRuntime]) -> None:
    """Serve ``/metrics`` on ``127.0.0.1:port`` from a daemon thread."""
    start_http_server(port, addr="127.0.0.1", registry=registry_for(list(runtimes)))
