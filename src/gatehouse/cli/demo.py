"""``gatehouse demo``: a fresh demo site on SQLite, live on the simulated phone network.

What it builds (every step through the real services, nothing hard-coded into pages):
a fresh database under ``var/demo/``; a demo prison and client; logins for a human agent, a
supervisor, a campaign manager and a security officer (printed); the human agents cleared by
the security officer for the campaign (audited; uncleared agents cannot go ready); the example
script approved;
10,000 fake UK contacts (Faker ``en_GB``, Ofcom drama-range numbers) imported through the
vault; the dialler runtime in real time on the simulated network with a dozen simulated
agents; and the web app on http://127.0.0.1:8000. Ctrl-C stops it cleanly.

``--engine sip`` runs the same demo over real SIP on loopback (``cli/demo_sip.py``): a PSTN
peer process answers the calls and plays the agents' headsets, the SIP engine's media worker
dials and records them.

The calling window is widened to the whole day in the demo only: the network is simulated,
nobody real is called, and a newcomer at 22:00 should still see calls flowing.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from gatehouse.adapters.storage import migrate
from gatehouse.adapters.storage.db import make_engine, make_session_factory
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.cli.demo_data import write_demo_contacts
from gatehouse.config import Settings
from gatehouse.domain.dialler.config import CampaignConfig, CampaignStatus, TimeRange
from gatehouse.domain.permissions import Role
from gatehouse.services.dialler.bots import BotHandler
from gatehouse.services.dialler.runtime import DiallerRuntime
from gatehouse.services.dialler.simnet import Population, SimulatedNetwork
from gatehouse.telephony.clock import RealClock
from gatehouse.web.adapters.desk import RoutingHandler, RuntimeDesk, RuntimeHost
from gatehouse.web.app import create_app
from gatehouse.web.services import WebServices

if TYPE_CHECKING:
    from gatehouse.cli.demo_sip import SipLine

console = Console()

DEMO_DIR = Path("var/demo")
CAMPAIGN_ID = "home-insurance-2026"
CAMPAIGN_NAME = "Home insurance satisfaction 2026"
#: The demo's agents are cleared (by the demo security officer, audited) for this long.
DEMO_CLEARANCE_DAYS = 180
ENGINES = ("simulated", "sip")
ALL_DAY: dict[int, tuple[TimeRange, ...]] = dict.fromkeys(
    range(7), (TimeRange(start=dtime(0, 0), end=dtime(23, 59, 59)),)
)


@dataclass
class Login:
    role: Role
    username: str
    password: str
    display_name: str


@dataclass
class DemoSystem:
    settings: Settings
    services: WebServices
    host: RuntimeHost
    logins: list[Login] = field(default_factory=list)
    agent_logins: list[Login] = field(default_factory=list)
    contacts: int = 0
    #: ``--engine sip``: the PSTN peer and SIP engine, started before the runtime host
    sip: SipLine | None = None

    def app(self) -> Any:
        background: list[Any] = [self.host] if self.sip is None else [self.sip, self.host]
        return create_app(self.settings, self.services, background=background)


def _password() -> str:
    return secrets.token_urlsafe(9)


def build_demo(
    data_dir: Path,
    *,
    contacts: int = 10_000,
    bots: int = 12,
    extra_agents: int = 0,
    port: int = 8000,
    progress: Progress | None = None,
    contacts_csv: Path | None = None,
    population: Population | None = None,
    call_log: Path | None = None,
    engine: str = "simulated",
) -> DemoSystem:
    """Build the demo site from nothing. ``extra_agents`` adds human agent logins (bench);
    ``contacts_csv`` replaces the generated contacts (the canary crawl); ``population``
    replaces the simulated network's population; ``call_log`` makes the network keep its
    durable log of every call it received (tests). ``engine="sip"`` dials over real SIP on
    loopback: the peer and engine start with the web app (``DemoSystem.sip``)."""
    from gatehouse.web.adapters import platform

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")

    def step(text: str) -> None:
        if progress is not None:
            progress.console.print(f"  [green]✓[/green] {text}")

    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    settings = Settings(
        data_dir=data_dir,
        database_url="",
        host="127.0.0.1",
        port=port,
        secure_cookies=False,  # plain HTTP on the loopback only
    )
    url = settings.resolved_database_url()
    migrate.upgrade(url)
    step("fresh database migrated")
    factory = make_session_factory(make_engine(url))

    site = platform.seed_site(settings, factory)
    logins = [
        Login(Role.AGENT, "agent", _password(), "Alex Agent"),
        Login(Role.SUPERVISOR, "supervisor", _password(), "Sam Supervisor"),
        Login(Role.CAMPAIGN_MANAGER, "manager", _password(), "Morgan Manager"),
        Login(Role.SECURITY_OFFICER, "security", _password(), "Robin Security"),
    ]
    agent_logins = [
        Login(Role.AGENT, f"benchagent{i:03d}", _password(), f"Bench agent {i:03d}")
        for i in range(extra_agents)
    ]
    user_ids = {
        login.username: site.add_user(
            login.username, login.password, login.display_name, login.role
        )
        for login in [*logins, *agent_logins]
    }
    step(f"demo prison and client; {len(user_ids)} logins")

    script = site.approve_example_script(user_ids["manager"], user_ids["security"])
    step(f"example script approved ({script})")

    csv_path = contacts_csv or write_demo_contacts(data_dir / "demo-contacts.csv", contacts)
    refs = site.import_contacts(CAMPAIGN_ID, CAMPAIGN_NAME, csv_path, user_ids["manager"])
    if contacts_csv is None:
        csv_path.unlink()  # the plain-text file is not left lying around; the vault has it
    step(f"{len(refs):,} contacts imported ({site.vault_note})")

    store = DiallerStore(factory)
    now = time.time()
    store.create_campaign(
        CAMPAIGN_ID,
        CAMPAIGN_NAME,
        CampaignConfig(windows=ALL_DAY, wrap_up_s=15.0, pacer="power:1.6"),
        at=now,
        script_version_id=script,
    )
    store.add_contacts(CAMPAIGN_ID, [(ref, tz, 0) for ref, tz in refs])
    store.save_campaign(CAMPAIGN_ID, at=now, status=CampaignStatus.RUNNING)

    clock = RealClock()
    agent_ids = [user_ids[login.username] for login in [logins[0], *agent_logins]]
    bot_ids = [f"sim-{i + 1:02d}" for i in range(bots)]
    sip: SipLine | None = None
    network: Any
    if engine == "sip":
        numbers = _sip_numbers(contacts if contacts_csv is None else 0)
        sip = _sip_line(site, factory, data_dir, numbers, [*agent_ids, *bot_ids])
        network = sip.engine
    else:
        network = SimulatedNetwork(
            clock,
            site.dial_time_resolver(),
            population=population
            or Population(human=0.45, machine=0.12, busy=0.05, ring_median_s=6.0),
            seed=2026,
            call_log=call_log,
        )
    desk = RuntimeDesk(
        [],
        display_fields=site.display_fields,
        interviews=site.interview_factory(),
        clearance=site.clearance_check,
        audit=site.audit_now,
    )
    # over SIP the bots talk shorter (real calls hold real lines), and a stop drains for
    # a few seconds only: what is still open then is closed by the engine and reconciled
    talk_s, wrap_s = (20.0, 5.0) if sip is not None else (45.0, 8.0)
    runtime = DiallerRuntime(
        store=store,
        engine=network,
        clock=clock,
        campaign_id=CAMPAIGN_ID,
        handler=RoutingHandler(
            desk,
            BotHandler(
                seed=11,
                talk_median_s=talk_s,
                wrap_s=wrap_s,
                # simulated agents hear an answering machine and record it (decision 0044)
                hears_machine=None if sip is not None else network.answered_by_machine,
            ),
        ),
        tick_s=0.5,
        drain_s=5.0 if sip is not None else 600.0,
    )
    desk.runtimes.append(runtime)
    until = date.today() + timedelta(days=DEMO_CLEARANCE_DAYS)
    for login in [logins[0], *agent_logins]:
        runtime.add_agent(user_ids[login.username], name=login.display_name)
        site.clear_agent(user_ids["security"], user_ids[login.username], [CAMPAIGN_ID], until)
    for i, bot_id in enumerate(bot_ids):
        runtime.add_agent(bot_id, name=f"Simulated agent {i + 1:02d}", bot=True)
        runtime.login(bot_id)
        runtime.ready(bot_id)
    where = (
        f"real SIP on loopback (PSTN peer {sip.peer.listen})"
        if sip is not None
        else "simulated network"
    )
    step(f"dialler ready: {bots} simulated agents, real time, {where}")

    services = site.web_services(desk)
    return DemoSystem(
        settings, services, RuntimeHost(desk), logins, agent_logins, len(refs), sip=sip
    )


def _sip_numbers(contacts: int) -> list[str]:
    from gatehouse.cli.demo_sip import contact_numbers

    return contact_numbers(contacts)


def _sip_line(
    site: Any, factory: Any, data_dir: Path, numbers: list[str], agents: list[str]
) -> SipLine:
    """The PSTN peer (configured, not started) and the SIP engine dialling it."""
    from gatehouse.cli.demo_sip import DemoPeer, SipLine, peer_numbers
    from gatehouse.services.dialler import sipnet

    peer = DemoPeer(data_dir, peer_numbers(numbers, agents))
    peer.write_config()
    engine = sipnet.campaign_sip_engine(
        factory,
        site.keyring,
        DiallerStore(factory).campaign(CAMPAIGN_ID).config,
        trunk=peer.listen,
        phones=sipnet.agent_phones(agents, f"sip:{{agent}}@{peer.listen}"),
        resolver=site.dial_time_resolver(),
        tenant=sipnet.campaign_tenant(factory, CAMPAIGN_ID) or site.contacts.tenant,
        organisation="Northfield Research",
        recordings_dir=data_dir / "recordings",
        prompts_dir=data_dir / "prompts",
    )
    return SipLine(peer, engine)


def _print_logins(system: DemoSystem, url: str) -> None:
    table = Table(title="Gatehouse demo: sign in at " + url, show_lines=False)
    table.add_column("role")
    table.add_column("user name")
    table.add_column("password")
    table.add_column("opens")
    opens = {
        Role.AGENT: "/agent (the desk: go Ready, calls arrive)",
        Role.SUPERVISOR: "/supervisor (live wallboard)",
        Role.CAMPAIGN_MANAGER: "/campaigns (progress, exports)",
        Role.SECURITY_OFFICER: "/security/scripts (approvals, audit)",
    }
    for login in system.logins:
        table.add_row(login.role.value, login.username, login.password, opens[login.role])
    console.print(table)
    console.print("Passwords are new on every start. Ctrl-C stops everything.")


def demo(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8000,
    contacts: Annotated[
        int, typer.Option(min=100, max=13_000, help="Fake contacts to import.")
    ] = 10_000,
    bots: Annotated[int, typer.Option(min=0, max=200, help="Simulated agents.")] = 12,
    data_dir: Annotated[Path, typer.Option(help="Wiped and rebuilt on every start.")] = DEMO_DIR,
    engine: Annotated[
        str,
        typer.Option(
            help="simulated: the simulated phone network; sip: real SIP on loopback to a "
            "PSTN peer process (needs espeak-ng, sox and baresip)."
        ),
    ] = "simulated",
) -> None:
    """Build a fresh demo site and run it live on the simulated phone network (or SIP)."""
    import uvicorn

    if engine not in ENGINES:
        console.print(f"[red]--engine must be one of: {', '.join(ENGINES)}[/red]")
        raise typer.Exit(2)
    if engine == "sip":
        from gatehouse.cli.demo_sip import missing_for_sip

        missing = missing_for_sip()
        if missing is not None:
            console.print(f"[red]{missing}[/red]")
            raise typer.Exit(2)
    started = time.perf_counter()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        progress.add_task("building the demo site", total=None)
        system = build_demo(
            data_dir, contacts=contacts, bots=bots, port=port, progress=progress, engine=engine
        )
    url = f"http://127.0.0.1:{port}"
    console.print(f"[bold]ready in {time.perf_counter() - started:.1f} s[/bold]")
    _print_logins(system, url)
    if system.sip is not None:
        peer = system.sip.peer
        console.print(
            f"Calls go over SIP to the PSTN peer on {peer.listen} (config {peer.config_file}, "
            f"log {peer.log}); recordings in {data_dir / 'recordings'}."
        )
    config = uvicorn.Config(
        system.app(), host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=3
    )
    with suppress(KeyboardInterrupt):
        uvicorn.Server(config).run()
    console.print("demo stopped")


@contextmanager
def hosted_demo(
    *, agents: int, contacts: int = 13_000
) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A demo site with ``agents`` human agent logins served on a free port (for benches)."""
    import socket
    import tempfile
    import threading

    import uvicorn

    with tempfile.TemporaryDirectory(prefix="gatehouse-bench-") as tmp:
        system = build_demo(Path(tmp) / "demo", contacts=contacts, bots=0, extra_agents=agents)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        server = uvicorn.Server(
            uvicorn.Config(system.app(), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield (
                f"http://127.0.0.1:{port}",
                [(login.username, login.password) for login in system.agent_logins],
            )
        finally:
            server.should_exit = True
            thread.join(timeout=15)
