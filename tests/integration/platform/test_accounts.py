"""Accounts: argon2 passwords, lockout after repeated failures, server-side sessions, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.audit import verify_chain
from gatehouse.adapters.storage.tables.platform import AuditLogRow, User, UserSession
from gatehouse.domain.errors import AccountLocked, AuthenticationFailed, Conflict, ValidationFailed
from gatehouse.domain.permissions import Role
from gatehouse.services import accounts
from gatehouse.web.adapters.accounts import DbAccounts

PASSWORD = "correct horse battery"
T0 = 1_800_000_000.0


@pytest.fixture
def sam(session_factory: sessionmaker[Session]) -> accounts.Account:
    with session_factory() as session, session.begin():
        return accounts.create_user(
            session, username="sam", password=PASSWORD, roles={Role.SUPERVISOR}
        )


def test_password_is_hashed_with_argon2_and_policy_applies(
    session_factory: sessionmaker[Session], sam: accounts.Account
) -> None:
    with session_factory() as session:
        stored = session.scalars(select(User.password_hash)).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(ValidationFailed), session_factory() as session, session.begin():
        accounts.create_user(session, username="short", password="short", roles={Role.AGENT})
    with pytest.raises(Conflict), session_factory() as session, session.begin():
        accounts.create_user(session, username="sam", password=PASSWORD, roles={Role.AGENT})


def test_five_failures_lock_the_account_and_every_attempt_is_audited(
    session_factory: sessionmaker[Session], sam: accounts.Account
) -> None:
    web = DbAccounts(session_factory)
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(AuthenticationFailed):
            web.login("sam", "wrong password!!", client="test")
    with pytest.raises(AccountLocked):
        web.login("sam", PASSWORD, client="test")  # right password, but locked
    with pytest.raises(AuthenticationFailed):
        web.login("nobody", PASSWORD, client="test")
    with session_factory() as session:
        actions = [
            a for (a,) in session.execute(select(AuditLogRow.action).order_by(AuditLogRow.seq))
        ]
        assert actions.count("auth.failed") == 5 and "auth.locked" in actions
        assert "auth.refused_locked" in actions
        assert verify_chain(session).ok


def test_the_lock_expires(session_factory: sessionmaker[Session], sam: accounts.Account) -> None:
    with session_factory() as session, session.begin():
        for _ in range(accounts.MAX_FAILURES):
            with pytest.raises(AuthenticationFailed):
                accounts.authenticate(session, "sam", "nope nope nope", client="t", now=T0)
    with session_factory() as session, session.begin(), pytest.raises(AccountLocked):
        accounts.authenticate(session, "sam", PASSWORD, client="t", now=T0 + 60)
    with session_factory() as session, session.begin():
        assert accounts.authenticate(
            session, "sam", PASSWORD, client="t", now=T0 + accounts.LOCKOUT_S + 1
        )


def test_sessions_are_server_side_and_expire(
    session_factory: sessionmaker[Session], sam: accounts.Account
) -> None:
    with session_factory() as session, session.begin():
        token = accounts.open_session(session, sam, client="t", now=T0)
    with session_factory() as session:
        stored = session.scalars(select(UserSession.token_hash)).one()
    assert token not in stored  # only a hash is kept
    with session_factory() as session, session.begin():
        assert accounts.resolve_session(session, token, now=T0 + 60) == sam
    with session_factory() as session, session.begin():
        assert (
            accounts.resolve_session(session, token, now=T0 + 60 + accounts.SESSION_IDLE_S + 1)
            is None
        )
    with session_factory() as session, session.begin():
        fresh = accounts.open_session(session, sam, client="t", now=T0)
    with session_factory() as session, session.begin():  # kept alive, but past the absolute limit
        for minute in range(0, int(accounts.SESSION_ABSOLUTE_S), 1200):
            assert accounts.resolve_session(session, fresh, now=T0 + minute) == sam
        assert (
            accounts.resolve_session(session, fresh, now=T0 + accounts.SESSION_ABSOLUTE_S + 1)
            is None
        )


def test_logout_revokes(session_factory: sessionmaker[Session], sam: accounts.Account) -> None:
    web = DbAccounts(session_factory)
    token, principal = web.login("sam", PASSWORD, client="t")
    assert principal.roles == frozenset({Role.SUPERVISOR})
    assert web.resolve(token) is not None
    web.logout(token)
    assert web.resolve(token) is None
    assert web.resolve("not-a-token") is None
