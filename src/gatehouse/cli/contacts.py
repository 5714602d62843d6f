"""``gatehouse contacts`` and ``gatehouse suppress``: the contact vault from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.importing.reader import BadFile
from gatehouse.adapters.storage.db import make_engine, make_session_factory, transaction
from gatehouse.config import get_settings
from gatehouse.domain.errors import GatehouseError
from gatehouse.services import vault

contacts_app = typer.Typer(help="Contact lists (the vault).", no_args_is_help=True)
suppress_app = typer.Typer(help="Do-not-call and opt-out lists.", no_args_is_help=True)
console = Console()


def _open() -> tuple[object, KeyRing]:
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    return engine, KeyRing.from_file(settings.resolved_master_key_file())


@contacts_app.command("create-campaign")
def create_campaign(
    slug: str,
    name: Annotated[str, typer.Option(help="Display name.")],
    tenant: Annotated[str, typer.Option(help="The client organisation that owns the contacts.")],
    display: Annotated[
        str, typer.Option(help="Comma-separated fields agents may see.")
    ] = "first_name",
    export: Annotated[str, typer.Option(help="Comma-separated fields approved for export.")] = "",
) -> None:
    """Create a campaign in the vault, with the fields approved for agents and exports."""
    engine, _ = _open()
    factory = make_session_factory(engine)  # type: ignore[arg-type]
    with transaction(factory) as session:
        vault.create_campaign(
            session,
            slug=slug,
            name=name,
            tenant=tenant,
            display_fields=[f for f in display.split(",") if f],
            export_fields=[f for f in export.split(",") if f],
        )
    console.print(f"[green]campaign {slug} created[/green]")


@contacts_app.command("import")
def import_contacts(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX.")],
    campaign: Annotated[str, typer.Option(help="Campaign slug.")],
    region: Annotated[str, typer.Option(help="Default region for national numbers.")] = "GB",
) -> None:
    """Import a contact list; rejected rows go to FILE.errors.csv. Exit 2 on a bad file."""
    engine, keyring = _open()
    factory = make_session_factory(engine)  # type: ignore[arg-type]
    try:
        with Progress(
            TextColumn("importing {task.fields[name]}"),
            BarColumn(),
            TextColumn("{task.completed:,} rows"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("import", total=None, name=file.name)
            report = vault.import_contacts(
                factory,
                keyring,
                file,
                campaign,
                region=region,
                progress=lambda n: progress.update(task, completed=n),
            )
    except BadFile as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    except GatehouseError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    console.print(
        f"[green]{report.imported:,} imported[/green], {len(report.rejected):,} rejected "
        f"of {report.rows_seen:,} rows; report: {report.error_report}"
    )


@suppress_app.command("import")
def import_suppressions(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    tenant: Annotated[str, typer.Option(help="Client organisation, or * for every client.")] = "*",
    source: Annotated[
        str, typer.Option(help="Where the list came from, e.g. TPS, opt-out.")
    ] = "opt-out",
) -> None:
    """Add numbers to a do-not-call list (stored as keyed hashes, never in clear)."""
    engine, keyring = _open()
    factory = make_session_factory(engine)  # type: ignore[arg-type]
    try:
        added, rejected = vault.import_suppressions(
            factory, keyring, file, tenant=tenant, source=source
        )
    except BadFile as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    console.print(f"[green]{added:,} numbers suppressed[/green], {len(rejected):,} rejected")
