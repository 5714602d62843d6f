"""``gatehouse users``: accounts and roles."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gatehouse.adapters.storage.db import make_engine, make_session_factory, transaction
from gatehouse.config import get_settings
from gatehouse.domain.errors import GatehouseError
from gatehouse.domain.permissions import Role
from gatehouse.services import accounts

app = typer.Typer(help="Users and roles.", no_args_is_help=True)
console = Console()


@app.command("add")
def add(
    username: str,
    role: Annotated[list[Role], typer.Option(help="Repeat for several roles.")],
    display_name: Annotated[str, typer.Option(help="Name shown in the app.")] = "",
    password_file: Annotated[
        Path | None, typer.Option(help="Read the password from this file.")
    ] = None,
) -> None:
    """Create a user; the password is prompted for (never echoed) or read from a file."""
    if password_file is not None:
        password = password_file.read_text(encoding="utf-8").strip()
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            console.print("[red]the passwords differ[/red]")
            raise typer.Exit(2)
    engine = make_engine(get_settings().resolved_database_url())
    try:
        with transaction(make_session_factory(engine)) as session:
            account = accounts.create_user(
                session,
                username=username,
                password=password,
                roles=set(role),
                display_name=display_name,
                actor="cli",
            )
    except GatehouseError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    console.print(
        f"[green]user {account.username} created[/green] ({', '.join(sorted(account.roles))})"
    )


@app.command("list")
def list_users() -> None:
    """Every user with their roles."""
    engine = make_engine(get_settings().resolved_database_url())
    try:
        with make_session_factory(engine)() as session:
            users = accounts.list_users(session)
    finally:
        engine.dispose()
    table = Table("username", "name", "roles")
    for user in users:
        table.add_row(user.username, user.display_name, ", ".join(sorted(user.roles)))
    console.print(table)
