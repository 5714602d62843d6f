"""Registers every router of the web app (pages and /api/v1) in one place, and lists the
route table with each route's declared permission (used by the route-table security test
and by ``gatehouse serve --routes``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from gatehouse.domain.permissions import Action
from gatehouse.web.agent import routes as agent
from gatehouse.web.pages import (
    manager,
    metrics,
    quality,
    recordings,
    security_pages,
    session,
    supervisor,
)


def register_routes(app: FastAPI) -> None:
    app.include_router(session.router)
    app.include_router(agent.pages)
    app.include_router(agent.api)
    app.include_router(supervisor.pages)
    app.include_router(supervisor.api)
    app.include_router(manager.pages)
    app.include_router(manager.api)
    app.include_router(security_pages.pages)
    app.include_router(security_pages.api)
    app.include_router(recordings.pages)
    app.include_router(quality.pages)
    app.include_router(quality.api)
    app.include_router(metrics.router)


@dataclass(frozen=True, slots=True)
class RouteEntry:
    path: str
    methods: frozenset[str]
    actions: frozenset[Action]  # every Action the route's dependencies require
    public: bool


def _walk(dependant: Any) -> Iterator[Any]:
    for sub in getattr(dependant, "dependencies", []):
        yield sub.call
        yield from _walk(sub)


def route_table(app: FastAPI) -> list[RouteEntry]:
    """Every API route of the app with what it requires (mounts such as /static excluded)."""
    entries: list[RouteEntry] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        calls = list(_walk(route.dependant))
        actions = frozenset(c.gatehouse_action for c in calls if hasattr(c, "gatehouse_action"))
        public = any(getattr(c, "gatehouse_public", False) for c in calls)
        entries.append(
            RouteEntry(
                path=str(context.path_format or context.path),
                methods=frozenset(context.methods or ()),
                actions=actions,
                public=public,
            )
        )
    return entries
