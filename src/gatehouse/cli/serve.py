"""``gatehouse serve``: the web app (and the dialler runtime for every running campaign) on
the configured database, as a site runs it day to day. ``gatehouse demo`` builds a demo site
first; ``serve`` never creates data."""

from __future__ import annotations

import contextlib

import typer
from rich.console import Console

from gatehouse.adapters.storage.db import make_engine, make_session_factory
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.config import get_settings
from gatehouse.domain.dialler.config import CampaignStatus
from gatehouse.domain.errors import GatehouseError
from gatehouse.services.dialler.bots import BotHandler
from gatehouse.services.dialler.runtime import DiallerRuntime
from gatehouse.services.dialler.simnet import SimulatedNetwork
from gatehouse.telephony.clock import RealClock
from gatehouse.web.adapters.desk import RoutingHandler, RuntimeDesk, RuntimeHost
from gatehouse.web.app import create_app
from gatehouse.web.routes import route_table
from gatehouse.web.services import WebServices

console = Console()


def serve(
    host: str = typer.Option("", help="Bind address (default: GATEHOUSE_HOST, 127.0.0.1)."),
    port: int = typer.Option(0, help="Port (default: GATEHOUSE_PORT, 8000)."),
    dialler: bool = typer.Option(True, help="Run the dialler for running campaigns too."),
    routes: bool = typer.Option(False, "--routes", help="Print the route table and exit."),
) -> None:
    """Serve the web app on the configured database."""
    import uvicorn

    from gatehouse.web.adapters import platform

    settings = get_settings()
    if routes:
        app = create_app(settings, WebServices(accounts=platform.ProcessAccounts()))
        for entry in route_table(app):
            need = "public" if entry.public else ", ".join(sorted(a.value for a in entry.actions))
            console.print(f"{','.join(sorted(entry.methods)):10} {entry.path:45} {need}")
        return
    engine = make_engine(settings.resolved_database_url())
    factory = make_session_factory(engine)
    try:
        site = platform.open_site(settings, factory)
    except GatehouseError as missing:
        console.print(f"[red]{missing.message}[/red]")
        raise typer.Exit(2) from missing
    runtimes: list[DiallerRuntime] = []
    desk = RuntimeDesk(
        [],
        display_fields=site.display_fields,
        interviews=site.interview_factory(),
        clearance=site.clearance_check,
        audit=site.audit_now,
    )
    if dialler:
        if settings.engine != "simulated":
            console.print("[red]serve runs the simulated engine; SIP workers run separately[/red]")
            raise typer.Exit(2)
        store = DiallerStore(factory)
        clock = RealClock()
        for record in store.campaigns():
            if record.status != CampaignStatus.RUNNING:
                continue
            runtime = DiallerRuntime(
                store=store,
                engine=SimulatedNetwork(clock, site.dial_time_resolver()),
                clock=clock,
                campaign_id=record.campaign_id,
                handler=RoutingHandler(desk, BotHandler()),
            )
            for row in store.agents(record.campaign_id):
                runtime.add_agent(row.agent_id, name=row.name, bot=row.bot)
            runtimes.append(runtime)
    desk.runtimes.extend(runtimes)
    app = create_app(settings, site.web_services(desk), background=[RuntimeHost(desk)])
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(
        f"Gatehouse on http://{bind_host}:{bind_port} ({len(runtimes)} campaign(s) dialling)"
    )
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(app, host=bind_host, port=bind_port, log_level="info")
