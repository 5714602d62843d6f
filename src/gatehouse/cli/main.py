"""Entry point of the ``gatehouse`` command.

Exit codes scripts can trust: 0 success, 1 a check failed (e.g. audit chain broken,
simulation not compliant), 2 bad usage or bad input, 3 refused (permission, compliance).
Each command group lives in its own module and is registered here.
"""

from __future__ import annotations

import typer

from gatehouse.cli import audit, contacts, db, pstn_peer, simulate, users
from gatehouse.cli import demo as demo_cli
from gatehouse.cli import dialler as dialler_cli
from gatehouse.cli import recordings as recordings_cli
from gatehouse.cli import results as results_cli
from gatehouse.cli import scripts as scripts_cli
from gatehouse.cli import serve as serve_cli

app = typer.Typer(
    name="gatehouse",
    help="Gatehouse: secure contact centre and telephony for prisons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(db.app, name="db")
app.add_typer(audit.app, name="audit")
app.add_typer(users.app, name="users")
app.add_typer(contacts.contacts_app, name="contacts")
app.add_typer(contacts.suppress_app, name="suppress")
app.command("simulate")(simulate.run)
app.add_typer(pstn_peer.app, name="pstn-peer")
# Each command group registers itself below (one line per group; keep the order).
app.add_typer(dialler_cli.dialler_app, name="dialler")
app.add_typer(dialler_cli.campaigns_app, name="campaigns")
app.add_typer(results_cli.report_app, name="report")
app.add_typer(scripts_cli.app, name="scripts")
app.add_typer(recordings_cli.app, name="recordings")
app.command("export")(results_cli.export)
app.command("serve")(serve_cli.serve)
app.command("demo")(demo_cli.demo)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
