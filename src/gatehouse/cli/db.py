"""``gatehouse db``: schema migrations."""

from __future__ import annotations

import typer
from rich.console import Console

from gatehouse.adapters.storage import migrate
from gatehouse.config import get_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)
console = Console()


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    url = get_settings().resolved_database_url()
    migrate.upgrade(url, revision)
    console.print(f"[green]database at {revision}[/green]")


@app.command("downgrade")
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Revert migrations down to REVISION."""
    migrate.downgrade(get_settings().resolved_database_url(), revision)
    console.print(f"[yellow]database at {revision}[/yellow]")
