"""The site the web app is composed over: accounts, contacts, scripts, dialler, results.

Contacts go through the contact vault (W1-A: encrypted at rest, dial-time resolver, the
agents' ``AgentContactView``); scripts, interviews, results, the dialler and the audit chain
are the real, persistent services. Accounts are provided here for the *demo process only*,
for as long as the platform's persistent accounts service (W1-A) is not installed: see
decision 0054. They are a real implementation, not stand-in data: passwords hashed with
argon2id, lockout after repeated failures, server-side sessions with idle expiry, every
sign-in in the audit chain. They are not written to disk, and ``gatehouse serve`` (a real
site) refuses to start on them.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.storage.audit import append_audit
from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.adapters.storage.vault import resolve_destination
from gatehouse.config import Settings
from gatehouse.domain.clearance import ClearanceStatus
from gatehouse.domain.errors import AccountLocked, AuthenticationFailed, NotFound
from gatehouse.domain.permissions import Role
from gatehouse.services import clearance as clearance_service
from gatehouse.services import scripts as script_service
from gatehouse.services import vault
from gatehouse.telephony.port import DestinationResolver
from gatehouse.web.adapters.campaigns import CampaignServices
from gatehouse.web.adapters.desk import RuntimeDesk
from gatehouse.web.adapters.interviews import InterviewStarter
from gatehouse.web.adapters.metrics import RuntimeMetrics
from gatehouse.web.adapters.quality import QualityServices
from gatehouse.web.adapters.recordings import RecordingsServices
from gatehouse.web.adapters.scripts import ScriptServices
from gatehouse.web.adapters.security import SecurityServices
from gatehouse.web.auth import WebPrincipal
from gatehouse.web.pages.ports import Download, ImportRow
from gatehouse.web.services import WebServices

log = structlog.get_logger(__name__)

EXAMPLE_SCRIPT = Path(__file__).resolve().parents[4] / "examples" / "insurance-survey.yaml"
MAX_FAILURES = 5
LOCKOUT_S = 15 * 60.0
SESSION_IDLE_S = 8 * 3600.0
#: Only these contact fields may reach an agent's screen (the campaign's approval).
AGENT_DISPLAY_FIELDS = ("first_name",)
#: Only these client-supplied fields may appear in exports.
EXPORT_FIELDS: tuple[str, ...] = ("region",)


def audit(session: Session, actor: str, action: str, target: str, details: dict[str, Any]) -> None:
    """One entry in the platform's hash-chained audit log, in the caller's transaction."""
    append_audit(session, actor=actor, action=action, target=target, details=details)


# ---------------------------------------------------------------------------- accounts


@dataclass
class _User:
    user_id: str
    username: str
    display_name: str
    roles: frozenset[Role]
    password_hash: str
    failures: int = 0
    locked_until: float = 0.0


@dataclass
class _Session:
    principal: WebPrincipal
    last_seen: float


class ProcessAccounts:
    """``AccountsPort``: argon2id hashes, lockout after repeated failures, server-side
    sessions with idle expiry, every sign-in, failure, lockout and sign-out in the audit
    log. Process lifetime only (decision 0054)."""

    def __init__(self, factory: sessionmaker[Session] | None = None) -> None:
        self._factory = factory
        self._hasher = PasswordHasher()
        self._users: dict[str, _User] = {}
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def add_user(self, username: str, password: str, display_name: str, role: Role) -> str:
        user_id = f"u-{secrets.token_hex(6)}"
        self._users[username] = _User(
            user_id, username, display_name, frozenset({role}), self._hasher.hash(password)
        )
        return user_id

    def login(self, username: str, password: str, *, client: str) -> tuple[str, WebPrincipal]:
        now = time.time()
        with self._lock:
            user = self._users.get(username)
            if user is None:
                # Same work as a real check, so timing does not reveal which names exist.
                with contextlib.suppress(VerificationError):
                    self._hasher.verify(self._hasher.hash("x"), password)
                raise AuthenticationFailed("bad credentials")
            if user.locked_until > now:
                raise AccountLocked("account locked", username=username)
            try:
                self._hasher.verify(user.password_hash, password)
            except VerifyMismatchError:
                user.failures += 1
                if user.failures >= MAX_FAILURES:
                    user.locked_until = now + LOCKOUT_S
                    user.failures = 0
                    log.warning("account_locked", username=username, client=client)
                    self._record(user.user_id, "auth.locked", {"client": client})
                self._record(user.user_id, "auth.failed", {"client": client})
                raise AuthenticationFailed("bad credentials") from None
            user.failures = 0
            token = secrets.token_urlsafe(32)
            principal = WebPrincipal(
                user.user_id, user.username, user.display_name, user.roles, token[:12]
            )
            self._sessions[token] = _Session(principal, now)
            self._record(user.user_id, "auth.login", {"client": client})
            return token, principal

    def resolve(self, token: str) -> WebPrincipal | None:
        now = time.time()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now - session.last_seen > SESSION_IDLE_S:
                del self._sessions[token]
                return None
            session.last_seen = now
            return session.principal

    def logout(self, token: str) -> None:
        with self._lock:
            session = self._sessions.pop(token, None)
        if session is not None:
            self._record(session.principal.user_id, "auth.logout", {})

    def _record(self, user_id: str, action: str, details: dict[str, Any]) -> None:
        if self._factory is not None:
            with transaction(self._factory) as session:
                audit(session, user_id, action, f"user:{user_id}", details)


# ---------------------------------------------------------------------------- contacts


@dataclass
class _Contact:
    e164: str
    fields: dict[str, str]


@dataclass
class _Import:
    row: ImportRow
    campaign_id: str
    errors: list[tuple[int, str, str]] = field(default_factory=list)


def _bump(row: ImportRow, **kw: Any) -> ImportRow:
    return ImportRow(
        row.import_id,
        row.filename,
        kw.get("status", row.status),
        row.rows_seen + kw.get("seen", 0),
        row.rows_imported + kw.get("imported", 0),
        row.rows_rejected + kw.get("rejected", 0),
        kw.get("message", row.message),
        kw.get("report", row.has_error_report),
    )


# ---------------------------------------------------------------------------- the vault


class VaultContacts:
    """The contact vault (W1-A): encrypted PII, the engine's dial-time resolver, the agents'
    ``AgentContactView`` (approved fields only), approved export values, and the manager's
    uploads (``ImportPort``) streamed through the vault's import with its error report."""

    def __init__(
        self, factory: sessionmaker[Session], keyring: KeyRing, store: DiallerStore, tenant: str
    ) -> None:
        self._factory = factory
        self._keyring = keyring
        self._store = store
        self.tenant = tenant
        self._imports: dict[str, _Import] = {}
        self._reports: dict[str, Path] = {}

    def create_campaign(self, campaign_id: str, name: str, actor: str) -> None:
        with transaction(self._factory) as session:
            vault.create_campaign(
                session,
                slug=campaign_id,
                name=name,
                tenant=self.tenant,
                display_fields=AGENT_DISPLAY_FIELDS,
                export_fields=EXPORT_FIELDS,
                actor=actor,
            )

    def import_file(
        self, campaign_id: str, path: Path, actor: str, imp: _Import | None = None
    ) -> list[tuple[str, str]]:
        def progress(rows: int) -> None:
            if imp is not None:
                imp.row = _bump(imp.row, seen=rows - imp.row.rows_seen)

        report = vault.import_contacts(
            self._factory, self._keyring, path, campaign_id, actor=actor, progress=progress
        )
        if imp is not None:
            imp.row = ImportRow(
                imp.row.import_id,
                imp.row.filename,
                "done",
                report.rows_seen,
                report.imported,
                len(report.rejected),
                "",
                bool(report.rejected),
            )
            if report.error_report is not None:
                self._reports[imp.row.import_id] = report.error_report
        with transaction(self._factory) as session:
            return vault.dialable(session, campaign_id)

    def resolve(self, contact_ref: str) -> str:
        with transaction(self._factory) as session:
            return resolve_destination(session, self._keyring, contact_ref)

    def display(self, campaign_id: str, contact_ref: str) -> dict[str, str]:
        with transaction(self._factory) as session:
            return dict(vault.contact_view(session, self._keyring, contact_ref).fields)

    def export_values(self, contact_ref: str) -> dict[str, str]:
        with transaction(self._factory) as session:
            return vault.export_values(session, self._keyring, contact_ref)

    # ImportPort
    def start(self, actor: WebPrincipal, campaign_id: str, filename: str, data: bytes) -> str:
        import_id = f"imp-{secrets.token_hex(6)}"
        imp = _Import(ImportRow(import_id, filename, "running", 0, 0, 0), campaign_id)
        self._imports[import_id] = imp
        safe = "".join(ch for ch in filename if ch.isalnum() or ch in "._-") or "upload.csv"
        folder = Path(tempfile.mkdtemp(prefix="gatehouse-upload-"))
        path = folder / safe
        path.write_bytes(data)

        def run() -> None:
            try:
                before = {r for r, _ in self._dialable(campaign_id)}
                refs = self.import_file(campaign_id, path, actor.user_id, imp)
                self._store.add_contacts(
                    campaign_id, [(r, tz, 0) for r, tz in refs if r not in before]
                )
            except Exception as error:  # shown on the page; the vault imported nothing
                imp.row = _bump(imp.row, status="failed", message=str(error)[:200])
            finally:
                path.unlink(missing_ok=True)

        threading.Thread(target=run, name=f"import-{import_id}", daemon=True).start()
        return import_id

    def _dialable(self, campaign_id: str) -> list[tuple[str, str]]:
        with transaction(self._factory) as session:
            return vault.dialable(session, campaign_id)

    def status(self, import_id: str) -> ImportRow:
        imp = self._imports.get(import_id)
        if imp is None:
            raise NotFound("no such import")
        return imp.row

    def for_campaign(self, campaign_id: str) -> list[ImportRow]:
        return [i.row for i in self._imports.values() if i.campaign_id == campaign_id]

    def error_report(self, import_id: str) -> Download:
        report = self._reports.get(import_id)
        if report is None or not report.exists():
            raise NotFound("this import has no error report")
        return Download(f"{import_id}-errors.csv", "text/csv", report.read_bytes())


# ---------------------------------------------------------------------------- the site


class Site:
    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        *,
        persistent_accounts: bool = False,
    ) -> None:
        from gatehouse.web.adapters.accounts import DbAccounts

        self.settings = settings
        self.factory = factory
        self.store = DiallerStore(factory)
        # serve: the database's users and sessions; demo: process-lifetime accounts (0054).
        self.accounts: ProcessAccounts | DbAccounts = (
            DbAccounts(factory) if persistent_accounts else ProcessAccounts(factory)
        )
        keyring = self.keyring = KeyRing.from_file(settings.resolved_master_key_file())
        self.contacts = VaultContacts(factory, keyring, self.store, tenant="demo-prison")
        self.client_name = "Northfield Research (demo client)"
        self.vault_note = "through the vault, encrypted at rest"

    def add_user(self, username: str, password: str, display_name: str, role: Role) -> str:
        return self.accounts.add_user(username, password, display_name, role)

    def approve_example_script(self, manager_id: str, security_id: str) -> str:
        manager = script_service.Actor(manager_id, frozenset({Role.CAMPAIGN_MANAGER}))
        officer = script_service.Actor(security_id, frozenset({Role.SECURITY_OFFICER}))
        with transaction(self.factory) as session:
            version = script_service.save_draft(session, manager, EXAMPLE_SCRIPT.read_text())
            script_service.submit(session, manager, version.id)
            script_service.decide(
                session, officer, version.id, approve=True, note="demo: reviewed in full"
            )
        return version.id

    def import_contacts(
        self, campaign_id: str, name: str, csv_path: Path, user_id: str
    ) -> list[tuple[str, str]]:
        """Import through the vault; returns (contact ref, time zone) for the dialler."""
        self.contacts.create_campaign(campaign_id, name, user_id)
        return self.contacts.import_file(campaign_id, csv_path, user_id)

    def clearance_check(self, agent_id: str, campaign_id: str) -> None:
        """The desk's ``ClearanceCheck``: raises ``NotCleared`` unless the agent's vetting
        is in force today for this campaign."""
        with transaction(self.factory) as session:
            clearance_service.check_can_work(session, agent_id, campaign_id)

    def clear_agent(
        self, officer_id: str, agent_id: str, campaigns: list[str], until: date
    ) -> None:
        """Record a security officer's clearance of an agent (audited, like the page does)."""
        officer = script_service.Actor(officer_id, frozenset({Role.SECURITY_OFFICER}))
        with transaction(self.factory) as session:
            clearance_service.set_clearance(
                session,
                officer,
                agent_id=agent_id,
                status=ClearanceStatus.CLEARED,
                cleared_until=until,
                campaigns=campaigns,
                note="demo: vetted at set-up",
            )

    def dial_time_resolver(self) -> DestinationResolver:
        return self.contacts.resolve

    def display_fields(self, campaign_id: str, contact_ref: str) -> dict[str, str]:
        return self.contacts.display(campaign_id, contact_ref)

    def audit_now(self, actor: str, action: str, target: str, details: dict[str, Any]) -> None:
        with transaction(self.factory) as session:
            audit(session, actor, action, target, details)

    def interview_factory(self) -> InterviewStarter:
        return InterviewStarter(self.factory)

    def web_services(self, desk: RuntimeDesk) -> WebServices:
        return WebServices(
            accounts=self.accounts,
            desk=desk,
            wallboard=desk,
            campaigns=CampaignServices(
                self.factory,
                audit=audit,
                imports=self.contacts,
                clients=lambda _c: self.client_name,
                export_fields=lambda _c: list(EXPORT_FIELDS),
                field_values=self.contacts.export_values,
            ),
            scripts=ScriptServices(self.factory),
            security=SecurityServices(self.factory),
            quality=QualityServices(self.factory),
            metrics=RuntimeMetrics(desk.runtimes),
            recordings=RecordingsServices(self.factory, self.keyring),
        )


def seed_site(settings: Settings, factory: sessionmaker[Session]) -> Site:
    return Site(settings, factory)


def open_site(settings: Settings, factory: sessionmaker[Session]) -> Site:
    """The site as ``gatehouse serve`` runs it: database users and sessions, the vault."""
    return Site(settings, factory, persistent_accounts=True)
