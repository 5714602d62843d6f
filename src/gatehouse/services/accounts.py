"""Accounts: organisations, sites, users with roles, passwords, throttling, server-side sessions.

Passwords are hashed with argon2id (argon2-cffi; re-hashed on sign-in when the parameters
change). Five failed sign-ins lock the account for 15 minutes; an unknown name costs the same
hashing work as a known one, so timing does not reveal which names exist. Sessions are
server-side: the browser holds a random token, the database only its SHA-256; a session ends
after 30 minutes idle or 12 hours in all, or when revoked. Every security event is audited.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from gatehouse.adapters.storage.audit import append_audit
from gatehouse.adapters.storage.tables.platform import Organisation, Site, User, UserSession
from gatehouse.domain.errors import AccountLocked, AuthenticationFailed, Conflict, ValidationFailed
from gatehouse.domain.permissions import Role

MAX_FAILURES = 5
LOCKOUT_S = 15 * 60
SESSION_IDLE_S = 30 * 60
SESSION_ABSOLUTE_S = 12 * 3600
MIN_PASSWORD = 12

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    username: str
    display_name: str
    roles: frozenset[Role]


def _account(user: User) -> Account:
    return Account(
        user.id,
        user.username,
        user.display_name,
        frozenset(Role(r) for r in json.loads(user.roles)),
    )


def create_organisation(
    session: Session, *, org_id: str, name: str, kind: str, actor: str
) -> Organisation:
    if kind not in ("prison", "client"):
        raise ValidationFailed("an organisation is a prison or a client")
    org = Organisation(id=org_id, name=name, kind=kind)
    session.add(org)
    append_audit(
        session, actor=actor, action="org.create", target=f"org:{org_id}", details={"kind": kind}
    )
    return org


def create_site(
    session: Session, *, site_id: str, organisation_id: str, name: str, actor: str
) -> Site:
    site = Site(id=site_id, organisation_id=organisation_id, name=name)
    session.add(site)
    append_audit(session, actor=actor, action="site.create", target=f"site:{site_id}", details={})
    return site


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    roles: set[Role] | frozenset[Role],
    display_name: str = "",
    organisation_id: str | None = None,
    site_id: str | None = None,
    actor: str = "system",
) -> Account:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"passwords need at least {MIN_PASSWORD} characters")
    if not roles:
        raise ValidationFailed("a user needs at least one role")
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise Conflict(f"user {username!r} exists")
    user = User(
        id="u-" + secrets.token_hex(8),
        username=username,
        display_name=display_name or username,
        organisation_id=organisation_id,
        site_id=site_id,
        password_hash=_hasher.hash(password),
        roles=json.dumps(sorted(r.value for r in roles)),
        active=True,
        failed_logins=0,
        locked_until=0.0,
        created_at=time.time(),
    )
    session.add(user)
    session.flush()
    append_audit(
        session,
        actor=actor,
        action="user.create",
        target=f"user:{user.id}",
        details={"username": username, "roles": sorted(r.value for r in roles)},
    )
    return _account(user)


def authenticate(
    session: Session, username: str, password: str, *, client: str, now: float | None = None
) -> Account:
    """Check a password; raises AuthenticationFailed or AccountLocked (and audits either)."""
    now = time.time() if now is None else now
    user = session.scalars(select(User).where(User.username == username).with_for_update()).first()
    if user is None or not user.active:
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(_DUMMY_HASH, password)
        append_audit(
            session,
            actor=f"anonymous@{client}",
            action="auth.failed",
            target=f"username:{username[:64]}",
            details={"reason": "unknown or inactive"},
        )
        raise AuthenticationFailed("bad credentials")
    if user.locked_until > now:
        append_audit(
            session,
            actor=user.id,
            action="auth.refused_locked",
            target=f"user:{user.id}",
            details={"client": client},
        )
        raise AccountLocked("account locked; try again later", until=user.locked_until)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        user.failed_logins += 1
        locked = user.failed_logins >= MAX_FAILURES
        if locked:
            user.locked_until = now + LOCKOUT_S
            user.failed_logins = 0
        append_audit(
            session,
            actor=user.id,
            action="auth.locked" if locked else "auth.failed",
            target=f"user:{user.id}",
            details={"client": client},
        )
        raise AuthenticationFailed("bad credentials") from None
    user.failed_logins = 0
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    append_audit(
        session,
        actor=user.id,
        action="auth.login",
        target=f"user:{user.id}",
        details={"client": client},
    )
    return _account(user)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    session: Session, account: Account, *, client: str, now: float | None = None
) -> str:
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_digest(token),
            user_id=account.id,
            client=client[:100],
            created_at=now,
            last_seen=now,
            revoked=False,
        )
    )
    return token


def resolve_session(session: Session, token: str, *, now: float | None = None) -> Account | None:
    now = time.time() if now is None else now
    row = session.get(UserSession, _digest(token))
    if row is None or row.revoked:
        return None
    if now - row.last_seen > SESSION_IDLE_S or now - row.created_at > SESSION_ABSOLUTE_S:
        row.revoked = True
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_seen = now
    return _account(user)


def revoke_session(session: Session, token: str) -> None:
    row = session.get(UserSession, _digest(token))
    if row is not None and not row.revoked:
        row.revoked = True
        append_audit(
            session,
            actor=row.user_id,
            action="auth.logout",
            target=f"user:{row.user_id}",
            details={},
        )


def list_users(session: Session) -> list[Account]:
    return [_account(u) for u in session.scalars(select(User).order_by(User.username))]


def get_by_username(session: Session, username: str) -> Account | None:
    """The active account with this username, or None (for operator commands run as someone)."""
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    return _account(user) if user is not None and user.active else None
