"""The ``gatehouse`` command line: one Typer app, subcommands grouped by noun."""
