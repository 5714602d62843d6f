"""``gatehouse audit``: verify the tamper-evident audit chain, print its head for anchoring."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from gatehouse.adapters.storage.audit import verify_chain
from gatehouse.adapters.storage.db import make_engine, make_session_factory
from gatehouse.config import get_settings

app = typer.Typer(help="The audit log.", no_args_is_help=True)
console = Console()


def _parse_anchor(value: str) -> tuple[int, str]:
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise typer.BadParameter("an anchor is SEQ:SHA256HEX, as printed by 'gatehouse audit head'")
    return int(seq), digest.lower()


@app.command("verify")
def verify(
    anchor: Annotated[
        list[str] | None,
        typer.Option(help="SEQ:HASH printed earlier by 'audit head'; may repeat."),
    ] = None,
) -> None:
    """Walk the whole chain; exit 1 naming the first entry edited, removed or reordered."""
    anchors = [_parse_anchor(a) for a in anchor or []]
    engine = make_engine(get_settings().resolved_database_url())
    try:
        with make_session_factory(engine)() as session:
            report = verify_chain(session, anchors)
    finally:
        engine.dispose()
    if report.ok:
        console.print(
            f"[green]audit chain intact[/green]: {report.entries} entries, head {report.head_seq}"
        )
        return
    console.print(
        f"[red]audit chain BROKEN at entry {report.first_bad}[/red] "
        f"({report.problem}): {report.message}"
    )
    raise typer.Exit(1)


@app.command("head")
def head() -> None:
    """Print the chain head as SEQ:HASH, to record outside the system (the daily log)."""
    engine = make_engine(get_settings().resolved_database_url())
    try:
        with make_session_factory(engine)() as session:
            report = verify_chain(session)
    finally:
        engine.dispose()
    if not report.ok:
        console.print(
            f"[red]audit chain BROKEN at entry {report.first_bad}[/red]: {report.message}"
        )
        raise typer.Exit(1)
    typer.echo(f"{report.head_seq}:{report.head_hash}")
