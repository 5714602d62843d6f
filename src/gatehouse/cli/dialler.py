"""``gatehouse dialler run`` and ``gatehouse campaigns ...``: run and steer campaigns.

Exit codes: 0 done, 2 bad input, 3 refused (e.g. a second worker on SQLite).
"""

from __future__ import annotations

import getpass
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gatehouse.adapters.storage.db import make_engine, make_session_factory
from gatehouse.adapters.storage.dialler import DiallerStore, WorkerRefused
from gatehouse.config import get_settings
from gatehouse.domain.dialler.config import CampaignCommand, CampaignConfig
from gatehouse.domain.errors import GatehouseError
from gatehouse.services.dialler.harness import seed_synthetic_contacts
from gatehouse.services.dialler.worker import WorkerOptions, run_worker

console = Console()
dialler_app = typer.Typer(help="Run the dialler.", no_args_is_help=True)
campaigns_app = typer.Typer(help="Create, configure and steer campaigns.", no_args_is_help=True)


def _actor() -> str:
    """Who ran the command, for the audit log: the operating-system account."""
    return f"cli:{getpass.getuser()}"


def _store() -> tuple[DiallerStore, str]:
    url = get_settings().resolved_database_url()
    return DiallerStore(make_session_factory(make_engine(url))), url


@dialler_app.command("run")
def run(
    campaign: str = typer.Option(..., "--campaign", help="Campaign id (slug)."),
    engine: str = typer.Option("simulated", help="Telephony engine: simulated or sip."),
    agents: int = typer.Option(10, min=0, max=1000, help="Simulated agents (bots)."),
    speed: float = typer.Option(1.0, min=0.01, help="Clock speed (1 = real time)."),
    virtual: bool = typer.Option(False, "--virtual", help="Virtual time: as fast as the CPU."),
    duration: float = typer.Option(0.0, help="Stop after this many clock seconds (0: never)."),
    metrics_port: int = typer.Option(0, help="Serve Prometheus /metrics on this port."),
    call_log: Annotated[
        Path | None, typer.Option(help="Append the network's call log here.")
    ] = None,
    worker_id: str = typer.Option("", help="Stable worker id (default: random)."),
    script: Annotated[
        Path | None, typer.Option(help="Script YAML the simulated agents run (interview runner).")
    ] = None,
    start_at: str = typer.Option(
        "", help="Clock start for --virtual/--speed runs, ISO 8601 (default: now)."
    ),
    trunk: str = typer.Option("", help="SIP engine: the trunk host:port that routes numbers."),
    agent_phone: str = typer.Option(
        "", help="SIP engine: agents' phones, a URI template, e.g. sip:{agent}@127.0.0.1:5080"
    ),
    talk_median: float = typer.Option(
        90.0, min=1.0, help="Simulated agents' median talk time, seconds."
    ),
    organisation: str = typer.Option(
        "Gatehouse", help="SIP engine: who the information message says is calling."
    ),
    media_workers: int = typer.Option(
        1, min=1, max=16, help="SIP engine: media worker processes (≤ 200 legs each)."
    ),
) -> None:
    """Dial CAMPAIGN with simulated agents until stopped (Ctrl-C stops cleanly)."""
    if engine not in ("simulated", "sip"):
        console.print(f"[red]unknown engine {engine!r}: simulated or sip[/red]")
        raise typer.Exit(2)
    if engine == "sip" and (not trunk or "{agent}" not in agent_phone):
        console.print(
            "[red]--engine sip needs --trunk HOST:PORT and --agent-phone with {agent}[/red]"
        )
        raise typer.Exit(2)
    if engine == "sip" and (virtual or speed != 1.0):
        console.print("[red]the SIP engine runs in real time only (no --virtual, no --speed)[/red]")
        raise typer.Exit(2)
    settings = get_settings()
    _, url = _store()
    start = datetime.fromisoformat(start_at).timestamp() if start_at else None
    try:
        outcomes = run_worker(
            WorkerOptions(
                database_url=url,
                campaign_id=campaign,
                agents=agents,
                speed=speed,
                virtual=virtual,
                duration_s=duration or (8 * 3600.0 if virtual else None),
                call_log=call_log,
                worker_id=worker_id or None,
                metrics_port=metrics_port,
                start=start,
                script_path=script,
                sip_trunk=trunk if engine == "sip" else None,
                agent_phone=agent_phone,
                organisation=organisation,
                media_workers=media_workers,
                talk_median_s=talk_median,
                recordings_dir=settings.data_dir / "recordings",
                master_key_file=settings.resolved_master_key_file(),
            )
        )
    except WorkerRefused as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(3) from exc
    except GatehouseError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    console.print(json.dumps(outcomes, sort_keys=True))


def _config_from(options: dict[str, Any], base: CampaignConfig | None = None) -> CampaignConfig:
    data = (base or CampaignConfig()).model_dump(mode="json")
    data.update({k: v for k, v in options.items() if v is not None})
    return CampaignConfig.model_validate(data)


@campaigns_app.command("create")
def create(
    campaign: str = typer.Argument(..., help="Campaign id (slug)."),
    name: str = typer.Option("", help="Display name."),
    config_file: Annotated[
        Path | None, typer.Option("--config", help="JSON campaign config.")
    ] = None,
    synthetic_contacts: int = typer.Option(
        0, help="Add N synthetic contacts (simulated network only; for demos and benches)."
    ),
) -> None:
    """Create the dialler configuration of a campaign."""
    from gatehouse.services.dialler import campaigns

    store, _ = _store()
    try:
        options = json.loads(config_file.read_text()) if config_file else {}
        cfg = _config_from(options)
        campaigns.create(store, campaign, name or campaign, cfg, at=time.time(), actor_id=_actor())
        if synthetic_contacts:
            seed_synthetic_contacts(store, campaign, synthetic_contacts)
    except (GatehouseError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"campaign {campaign} created (draft)")


@campaigns_app.command("configure")
def configure(
    campaign: str = typer.Argument(...),
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="key=JSON value, e.g. max_attempts=4")
    ] = None,
    script_version: str = typer.Option("", help="Script version id the campaign runs."),
) -> None:
    """Change configuration keys (validated; the Ofcom floors cannot be lowered; audited)."""
    from gatehouse.services.dialler import campaigns

    store, _ = _store()
    try:
        changes: dict[str, Any] = {}
        for item in set_ or []:
            key, _, value = item.partition("=")
            try:
                changes[key] = json.loads(value)
            except json.JSONDecodeError:
                changes[key] = value
        campaigns.configure(
            store,
            campaign,
            changes,
            at=time.time(),
            actor_id=_actor(),
            script_version_id=script_version or None,
        )
    except (GatehouseError, ValueError) as exc:
        console.print(f"[red]{getattr(exc, 'message', exc)}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"campaign {campaign} configured")


def _command(campaign: str, command: CampaignCommand, *, without_script: bool = False) -> None:
    from gatehouse.services.dialler.campaigns import change_status

    store, _ = _store()
    try:
        rec = change_status(
            store,
            campaign,
            command,
            at=time.time(),
            actor_id=_actor(),
            allow_without_script=without_script,
        )
    except (GatehouseError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"campaign {campaign}: {rec.status.value}")


@campaigns_app.command("start")
def start(
    campaign: str = typer.Argument(...),
    without_script: bool = typer.Option(
        False, "--without-script", help="Simulation only: start a campaign that has no script."
    ),
) -> None:
    """Start (or resume) dialling; the campaign's script version must be approved or live."""
    _command(campaign, CampaignCommand.START, without_script=without_script)


@campaigns_app.command("pause")
def pause(campaign: str = typer.Argument(...)) -> None:
    """No new dials; calls in progress finish."""
    _command(campaign, CampaignCommand.PAUSE)


@campaigns_app.command("stop")
def stop(campaign: str = typer.Argument(...)) -> None:
    """Stop dialling; calls in progress finish."""
    _command(campaign, CampaignCommand.STOP)


@campaigns_app.command("stop-now")
def stop_now(campaign: str = typer.Argument(...)) -> None:
    """Stop at once: workers hang up ringing lines (each after its 15 s minimum ring)."""
    _command(campaign, CampaignCommand.STOP_NOW)


@campaigns_app.command("status")
def status(campaign: str = typer.Argument("", help="One campaign (default: all).")) -> None:
    """Status and the runtime's 24-hour counts."""
    store, _ = _store()
    records = [store.campaign(campaign)] if campaign else store.campaigns()
    table = Table(
        "campaign", "status", "pacer", "attempts 24h", "live", "abandoned", "rate", "open"
    )
    now = time.time()
    for rec in records:
        c = store.counts(rec.campaign_id, since=now - 86400.0)
        table.add_row(
            rec.campaign_id,
            rec.status.value,
            rec.config.pacer,
            str(c.attempts),
            str(c.live),
            str(c.abandoned),
            f"{100 * c.abandon_rate:.2f}%",
            str(c.open_attempts),
        )
    console.print(table)


@campaigns_app.command("compliance")
def compliance_cmd(campaign: str = typer.Argument(...)) -> None:
    """Ofcom figures from the dialler's own records; exit 1 on any breach."""
    from gatehouse.services.dialler.compliance import report

    store, _ = _store()
    try:
        rep = report(store, campaign)
    except GatehouseError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    table = Table("figure", "value")
    table.add_row("live calls", str(rep.live))
    table.add_row("abandoned", str(rep.abandoned))
    table.add_row("abandon rate (all)", f"{100 * rep.abandon_rate:.2f}%")
    table.add_row("worst calendar day", f"{100 * rep.max_rate_calendar_day:.2f}%")
    table.add_row("worst rolling 24 h", f"{100 * rep.max_rate_rolling_24h:.2f}%")
    table.add_row("max message latency", f"{rep.max_message_latency_s:.2f} s")
    ring = rep.min_unanswered_ring_s
    table.add_row("min unanswered ring", "-" if ring is None else f"{ring:.1f} s")
    table.add_row("redials < 72 h after abandon", str(rep.redials_within_72h_of_abandon))
    table.add_row("compliant", "yes" if rep.compliant else "[red]NO[/red]")
    console.print(table)
    if not rep.compliant:
        raise typer.Exit(1)


@campaigns_app.command("sync")
def sync(campaign: str = typer.Argument(..., help="The vault campaign slug.")) -> None:
    """Add the vault's contacts of CAMPAIGN to the dialler (refs and time zones only)."""
    from gatehouse.services.dialler import campaigns

    store, _ = _store()
    try:
        added = campaigns.sync_from_vault(store, campaign, actor_id=_actor())
    except GatehouseError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"campaign {campaign}: {added} new contact(s) from the vault")
