"""``gatehouse report aapor CAMPAIGN`` and ``gatehouse export CAMPAIGN``: results (C8).

Both act as ``--as USERNAME``: that user's stored roles go through the permission table, so
nobody can report or export by typing a role they do not hold.
Exit codes: 0 done, 2 bad input or nothing to report, 3 refused (permission).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.audit import append_audit
from gatehouse.adapters.storage.db import make_engine, make_session_factory, transaction
from gatehouse.cli.operator import AsUser, acting_account, os_user
from gatehouse.config import get_settings
from gatehouse.domain import aapor
from gatehouse.domain.errors import GatehouseError, PermissionDenied
from gatehouse.services import results

report_app = typer.Typer(help="Reports: AAPOR outcome rates.", no_args_is_help=True)
console = Console()


class Format(StrEnum):
    csv = "csv"
    sav = "sav"
    sss = "sss"


def _factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(get_settings().resolved_database_url()))


def _fail(exc: GatehouseError) -> typer.Exit:
    console.print(f"[red]{exc.error_id}: {exc.message}[/red]")
    return typer.Exit(3 if isinstance(exc, PermissionDenied) else 2)


@report_app.command("aapor")
def report_aapor(
    campaign: Annotated[str, typer.Argument(help="Campaign id.")],
    as_user: AsUser,
    e: Annotated[
        float | None,
        typer.Option(
            "--e", min=0.0, max=1.0, help="Eligible share of unknowns (default: estimated)."
        ),
    ] = None,
) -> None:
    """AAPOR final dispositions and RR1-RR6, COOP1-4, REF1-3, CON1-3 for CAMPAIGN."""
    try:
        account = acting_account(_factory(), as_user, f"campaign:{campaign}")
        with _factory()() as session:
            report = results.aapor_report(session, campaign, roles=account.roles, e=e)
    except GatehouseError as exc:
        raise _fail(exc) from exc
    dispositions = Table(title=f"{campaign}: final dispositions ({report.contacts} contacts)")
    dispositions.add_column("AAPOR")
    dispositions.add_column("disposition")
    dispositions.add_column("class")
    dispositions.add_column("contacts", justify="right")
    for code, count in report.dispositions.items():
        disposition = aapor.Disposition(code)
        name = disposition.name.lower().replace("_", " ")
        dispositions.add_row(code, name, aapor.rate_class(disposition).value, str(count))
    console.print(dispositions)
    rates = Table(title=f"outcome rates (e = {report.rates.e:.3f})")
    rates.add_column("rate")
    rates.add_column("value", justify="right")
    for name in aapor.RATE_NAMES:
        value = report.rates[name]
        rates.add_row(name, "n/a" if value is None else f"{value:.4f}")
    console.print(rates)


def export(
    campaign: Annotated[str, typer.Argument(help="Campaign id.")],
    fmt: Annotated[Format, typer.Option("--format", help="csv, sav (SPSS) or sss (Triple-S).")],
    out: Annotated[Path, typer.Option("--out", help="Output file (Triple-S: the .sss).")],
    as_user: AsUser,
    labels: Annotated[bool, typer.Option(help="CSV: value labels instead of codes.")] = False,
    version: Annotated[
        str | None, typer.Option(help="Only interviews on this script version.")
    ] = None,
) -> None:
    """Export CAMPAIGN's interviews with pseudonymous ids (audited).

    Client-supplied fields approved for export come from the contact vault; the web export
    (which has the vault's export view) adds them, this command exports answers only.
    """
    try:
        account = acting_account(_factory(), as_user, f"campaign:{campaign}")
        # The export and its audit entry share one transaction: no entry, no file reported.
        with transaction(_factory()) as session:
            summary = results.export_campaign(
                session,
                campaign,
                roles=account.roles,
                fmt=fmt.value,
                out=out,
                labels=labels,
                version_id=version,
            )
            append_audit(
                session,
                actor=account.id,
                action="results.export",
                target=f"campaign:{campaign}",
                details={"format": fmt.value, "rows": summary.rows, "via": os_user()},
            )
    except GatehouseError as exc:
        raise _fail(exc) from exc
    except ValueError as exc:
        console.print(f"[red]bad input: {exc}[/red]")
        raise typer.Exit(2) from exc
    files = ", ".join(str(p) for p in summary.paths)
    console.print(
        f"[green]{summary.rows} interviews, {summary.columns} columns[/green] "
        f"(script version {summary.version_id}) -> {files}"
    )
