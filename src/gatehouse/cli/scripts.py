"""``gatehouse scripts``: validate, lint, submit, approve, go live, diff and show scripts.

``validate`` and ``lint`` read a YAML file and touch no database. The others act on the
database as ``--as USERNAME``: that user's stored roles are checked against the permission
table, and their id is recorded in the script's lifecycle history and the audit log.
Exit codes: 0 done, 1 lint findings, 2 bad input (with path and line), 3 refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.db import make_engine, make_session_factory, transaction
from gatehouse.cli.operator import AsUser, acting_account
from gatehouse.config import get_settings
from gatehouse.domain.errors import GatehouseError, PermissionDenied
from gatehouse.domain.scripts.lint import (
    LintFailed,
    LintFinding,
    RuleSet,
    lint,
    merge_rules,
    parse_rules,
)
from gatehouse.domain.scripts.model import Script, ScriptInvalid, load_script
from gatehouse.services import scripts as svc

app = typer.Typer(help="Scripts: validate, lint, approve, go live.", no_args_is_help=True)
console = Console()

RulesOpt = Annotated[
    Path | None, typer.Option("--rules", help="Tenant lint rules (added to the defaults).")
]


def _factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(get_settings().resolved_database_url()))


def _actor(username: str, target: str) -> svc.Actor:
    account = acting_account(_factory(), username, target)
    return svc.Actor(account.id, account.roles)


def _fail(exc: GatehouseError) -> typer.Exit:
    if isinstance(exc, ScriptInvalid):
        for issue in exc.issues:
            where = f"line {issue.line}: " if issue.line else ""
            console.print(f"[red]{where}{escape(issue.path or 'script')}: {escape(issue.message)}")
    elif isinstance(exc, LintFailed):
        _print_findings(exc.findings)
    else:
        console.print(f"[red]{exc.error_id}: {escape(exc.message)}[/red]")
    if isinstance(exc, PermissionDenied):
        return typer.Exit(3)
    return typer.Exit(1 if isinstance(exc, LintFailed) else 2)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        console.print(f"[red]cannot read {path}: {exc}[/red]")
        raise typer.Exit(2) from exc


def _rules(path: Path | None) -> RuleSet | None:
    return parse_rules(_read(path)) if path else None


def _print_findings(findings: Sequence[LintFinding]) -> None:
    table = Table(title="lint findings")
    table.add_column("element")
    table.add_column("rule")
    table.add_column("reason")
    table.add_column("text")
    for f in findings:
        table.add_row(f.element, f.rule, f.reason, escape(f.excerpt))
    console.print(table)


def _load(path: Path) -> Script:
    try:
        return load_script(_read(path))
    except GatehouseError as exc:
        raise _fail(exc) from exc


@app.command("validate")
def validate(path: Annotated[Path, typer.Argument(help="Script YAML file.")]) -> None:
    """Parse and check a script (structure, routes, expressions, quotas)."""
    script = _load(path)
    questions = sum(1 for _ in script.questions())
    console.print(
        f"[green]valid[/green]: {script.id} ({len(script.elements)} elements, "
        f"{questions} questions, {len(script.quotas)} quotas)"
    )


@app.command("lint")
def lint_command(
    path: Annotated[Path, typer.Argument(help="Script YAML file.")], rules: RulesOpt = None
) -> None:
    """Check a script against the forbidden-content and MRS introduction rules."""
    script = _load(path)
    try:
        findings = lint(script, merge_rules(svc.default_rules(), _rules(rules)))
    except GatehouseError as exc:
        raise _fail(exc) from exc
    if findings:
        _print_findings(findings)
        raise typer.Exit(1)
    console.print(f"[green]clean[/green]: {script.id}")


@app.command("submit")
def submit(
    path: Annotated[Path, typer.Argument(help="Script YAML file.")],
    as_user: AsUser,
    rules: RulesOpt = None,
) -> None:
    """Store the file as a new draft version and submit it for approval (lint must pass)."""
    source = _read(path)
    tenant = _rules(rules)
    try:
        actor = _actor(as_user, f"script_file:{path.name}")
        with transaction(_factory()) as session:
            draft = svc.save_draft(session, actor, source, tenant_rules=tenant)
        with transaction(_factory()) as session:
            info = svc.submit(session, actor, draft.id, tenant_rules=tenant)
    except GatehouseError as exc:
        raise _fail(exc) from exc
    console.print(f"[green]submitted[/green] {info.slug} v{info.number}: {info.id}")


@app.command("diff")
def diff(version: Annotated[str, typer.Argument(help="Script version id.")]) -> None:
    """The version against the last approved version of the same script."""
    try:
        with _factory()() as session:
            text = svc.diff_against_approved(session, version)
    except GatehouseError as exc:
        raise _fail(exc) from exc
    console.print(Syntax(text or "(no changes)\n", "diff", theme="ansi_dark"))


@app.command("approve")
def approve(
    version: Annotated[str, typer.Argument(help="Script version id.")],
    as_user: AsUser,
    note: Annotated[str, typer.Option(help="The decision's reason.")] = "",
    reject: Annotated[bool, typer.Option(help="Reject instead of approving.")] = False,
) -> None:
    """A security officer approves (or rejects) a submitted version; the diff is shown first."""
    try:
        actor = _actor(as_user, f"script_version:{version}")
        with _factory()() as session:
            console.print(Syntax(svc.diff_against_approved(session, version) or "", "diff"))
        with transaction(_factory()) as session:
            info = svc.decide(session, actor, version, approve=not reject, note=note)
    except GatehouseError as exc:
        raise _fail(exc) from exc
    console.print(f"[green]{info.status}[/green] {info.slug} v{info.number}")


@app.command("live")
def live(
    version: Annotated[str, typer.Argument(help="Script version id.")],
    as_user: AsUser,
) -> None:
    """Make an approved version live (the previous live version retires)."""
    try:
        actor = _actor(as_user, f"script_version:{version}")
        with transaction(_factory()) as session:
            info = svc.go_live(session, actor, version)
    except GatehouseError as exc:
        raise _fail(exc) from exc
    console.print(f"[green]live[/green] {info.slug} v{info.number}")


@app.command("show")
def show(
    version: Annotated[str | None, typer.Argument(help="A version id; omit to list all.")] = None,
) -> None:
    """List script versions, or show one version with its lifecycle history."""
    try:
        with _factory()() as session:
            if version is None:
                table = Table(title="script versions")
                for name in ("id", "script", "v", "status", "author", "lint"):
                    table.add_column(name)
                for info in svc.list_versions(session):
                    table.add_row(
                        info.id,
                        info.slug,
                        str(info.number),
                        info.status,
                        info.created_by,
                        str(len(info.lint)),
                    )
                console.print(table)
                return
            info = svc.get_version(session, version)
            events = svc.history(session, version)
    except GatehouseError as exc:
        raise _fail(exc) from exc
    console.print(
        f"{info.slug} v{info.number} [bold]{info.status}[/bold] sha256 {info.content_hash}"
    )
    for event in events:
        console.print(f"  {event['action']:<22} by {event['actor']}")
    console.print(Syntax(info.source, "yaml"))
