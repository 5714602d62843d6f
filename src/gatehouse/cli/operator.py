"""Who a command acts as: a named user in the database, never a role typed on the line.

Commands that act for a person (script approval, results exports and reports, recordings)
take ``--as USERNAME``; that user's roles, as stored, go through the one permission table.
An unknown or deactivated name is refused, and the refusal is audited with the operating
system account that tried it (decision 0056).
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.audit import append_audit
from gatehouse.adapters.storage.db import transaction
from gatehouse.domain.errors import PermissionDenied
from gatehouse.services import accounts
from gatehouse.services.accounts import Account

REFUSED = "cli.refused"

AsUser = Annotated[
    str,
    typer.Option("--as", "--user", help="Your username: your stored roles are checked."),
]


def os_user() -> str:
    """The operating-system account running the command, as the audit log names it."""
    return f"cli:{getpass.getuser()}"


def acting_account(
    factory: sessionmaker[Session], username: str, target: str, *, refused_action: str = REFUSED
) -> Account:
    """The active user named ``username``; otherwise the attempt is audited and refused."""
    with factory() as session:
        account = accounts.get_by_username(session, username)
    if account is not None:
        return account
    with transaction(factory) as session:
        append_audit(
            session,
            actor=os_user(),
            action=refused_action,
            target=target,
            details={"as": username, "refused": "unknown-user"},
        )
    raise PermissionDenied(f"there is no active user {username!r}", action="cli.as")
