"""``AccountsPort`` over the persistent accounts service (database users and sessions)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.db import transaction
from gatehouse.domain.errors import AccountLocked, AuthenticationFailed
from gatehouse.domain.permissions import Role
from gatehouse.services import accounts
from gatehouse.web.auth import WebPrincipal


class DbAccounts:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def add_user(self, username: str, password: str, display_name: str, role: Role) -> str:
        with transaction(self._factory) as session:
            return accounts.create_user(
                session,
                username=username,
                password=password,
                roles={role},
                display_name=display_name,
            ).id

    def login(self, username: str, password: str, *, client: str) -> tuple[str, WebPrincipal]:
        # A failed sign-in must still commit its audit entry and failure count, so the
        # check runs in its own transaction and the error is raised after it commits.
        error: Exception | None = None
        token = ""
        account = None
        with transaction(self._factory) as session:
            try:
                account = accounts.authenticate(session, username, password, client=client)
                token = accounts.open_session(session, account, client=client)
            except (AuthenticationFailed, AccountLocked) as exc:
                error = exc
        if error is not None:
            raise error
        assert account is not None
        return token, WebPrincipal(
            account.id, account.username, account.display_name, account.roles, token[:12]
        )

    def resolve(self, token: str) -> WebPrincipal | None:
        with transaction(self._factory) as session:
            account = accounts.resolve_session(session, token)
        if account is None:
            return None
        return WebPrincipal(
            account.id, account.username, account.display_name, account.roles, token[:12]
        )

    def logout(self, token: str) -> None:
        with transaction(self._factory) as session:
            accounts.revoke_session(session, token)
