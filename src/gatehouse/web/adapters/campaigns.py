"""``CampaignsPort`` over the dialler's campaign records (W1-D), the results services (W1-C:
AAPOR report, exports) and the vault's contact imports (W1-A, through ``ImportPort``).

Campaign status changes go through the domain's ``apply_command`` and the dialler store, with
the audit entry written in the same transaction (``save_campaign(audit=...)``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.adapters.storage.tables.dialler import DialContact
from gatehouse.adapters.storage.tables.scripts import ScriptRecord, ScriptVersionRecord
from gatehouse.domain import aapor
from gatehouse.domain.dialler.config import CampaignCommand, CampaignStatus, apply_command
from gatehouse.domain.errors import Conflict, ValidationFailed
from gatehouse.domain.permissions import Action, require
from gatehouse.services import results
from gatehouse.web.auth import WebPrincipal
from gatehouse.web.errors import ServiceUnavailable
from gatehouse.web.pages.ports import (
    CampaignDetail,
    CampaignSummary,
    Download,
    ImportRow,
    Metric,
)

RATE_HINTS = {
    "RR1": "completes / (eligible + unknown)",
    "RR2": "completes and partials / (eligible + unknown)",
    "RR3": "completes / (eligible + e x unknown)",
    "RR5": "completes / known eligible",
    "COOP1": "completes / contacted eligible",
    "REF1": "refusals / (eligible + unknown)",
    "CON1": "contacted / (eligible + unknown)",
}
MEDIA = {
    "csv": ("text/csv", ".csv"),
    "sav": ("application/x-spss-sav", ".sav"),
    "sss": ("application/zip", ".zip"),
}

Auditor = Callable[[Session, str, str, str, dict[str, Any]], None]
"""(session, actor id, action, target, details): writes one audit entry in ``session``."""


class ImportPort(Protocol):
    """Contact imports through the vault (W1-A)."""

    def start(self, actor: WebPrincipal, campaign_id: str, filename: str, data: bytes) -> str: ...

    def status(self, import_id: str) -> ImportRow: ...

    def for_campaign(self, campaign_id: str) -> list[ImportRow]: ...

    def error_report(self, import_id: str) -> Download: ...


class CampaignServices:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        audit: Auditor,
        imports: ImportPort | None = None,
        clients: Callable[[str], str] | None = None,
        export_fields: Callable[[str], list[str]] | None = None,
        field_values: Callable[[str], dict[str, str]] | None = None,
    ) -> None:
        self._factory = factory
        self._store = DiallerStore(factory)
        self._audit = audit
        self._imports = imports
        self._clients = clients or (lambda _campaign: "")
        self._export_fields = export_fields or (lambda _campaign: [])
        self._field_values = field_values

    def _script_label(self, session: Session, version_id: str | None) -> str:
        if not version_id:
            return ""
        version = session.get(ScriptVersionRecord, version_id)
        script = session.get(ScriptRecord, version.script_id) if version else None
        return f"{script.title} v{version.number}" if version and script else ""

    def _summary(self, session: Session, record: Any) -> CampaignSummary:
        counts = self._store.counts(record.campaign_id)
        contacts = session.scalar(
            select(func.count())
            .select_from(DialContact)
            .where(DialContact.campaign_id == record.campaign_id)
        )
        return CampaignSummary(
            campaign_id=record.campaign_id,
            name=record.name,
            client=self._clients(record.campaign_id),
            status=record.status.value,
            script_label=self._script_label(session, record.script_version_id),
            contacts=int(contacts or 0),
            attempts=counts.attempts,
            completes=counts.by_outcome.get("complete", 0),
        )

    def list_campaigns(self) -> list[CampaignSummary]:
        with transaction(self._factory) as session:
            return [self._summary(session, r) for r in self._store.campaigns()]

    def detail(self, actor: WebPrincipal, campaign_id: str) -> CampaignDetail:
        record = self._store.campaign(campaign_id)
        dispositions: tuple[tuple[str, int], ...] = ()
        rates: tuple[Metric, ...] = ()
        with transaction(self._factory) as session:
            summary = self._summary(session, record)
            if actor.can(Action.REPORT_VIEW):
                report = results.aapor_report(session, campaign_id, roles=actor.roles, e=None)
                dispositions = tuple(
                    (f"{code} {aapor.Disposition(code).name.replace('_', ' ').lower()}", n)
                    for code, n in report.dispositions.items()
                )
                rates = tuple(
                    Metric(name, _pct(report.rates[name]), RATE_HINTS.get(name, ""))
                    for name in aapor.RATE_NAMES
                )
        actions = {
            CampaignStatus.DRAFT: ("start",),
            CampaignStatus.RUNNING: ("pause", "stop"),
            CampaignStatus.PAUSED: ("start", "stop"),
            CampaignStatus.STOPPED: ("start",),
        }[record.status]
        imports = tuple(self._imports.for_campaign(campaign_id)) if self._imports else ()
        return CampaignDetail(summary, imports, dispositions, rates, actions=actions)

    def change_status(self, actor: WebPrincipal, campaign_id: str, action: str) -> None:
        require(actor.roles, Action.CAMPAIGN_MANAGE)
        try:
            command = CampaignCommand(action)
            record = self._store.campaign(campaign_id)
            status = apply_command(record.status, command)
        except ValueError as bad:
            raise Conflict(str(bad)) from bad
        self._store.save_campaign(
            campaign_id,
            at=time.time(),
            status=status,
            stop_now=command == CampaignCommand.STOP_NOW,
            audit=lambda s: self._audit(
                s,
                actor.user_id,
                f"campaign.{command.value}",
                f"campaign:{campaign_id}",
                {"status": status.value},
            ),
        )

    def _importer(self) -> ImportPort:
        if self._imports is None:
            raise ServiceUnavailable("Contact import is not configured on this server.")
        return self._imports

    def start_import(
        self, actor: WebPrincipal, campaign_id: str, filename: str, data: bytes
    ) -> str:
        require(actor.roles, Action.CONTACTS_IMPORT)
        self._store.campaign(campaign_id)  # 404 before accepting a file for nothing
        return self._importer().start(actor, campaign_id, filename, data)

    def import_status(self, import_id: str) -> ImportRow:
        return self._importer().status(import_id)

    def error_report(self, import_id: str) -> Download:
        return self._importer().error_report(import_id)

    def export(self, actor: WebPrincipal, campaign_id: str, fmt: str) -> Download:
        if fmt not in MEDIA:
            raise ValidationFailed(f"unknown export format {fmt!r}")
        media_type, suffix = MEDIA[fmt]
        with tempfile.TemporaryDirectory(prefix="gatehouse-export-") as tmp:
            out = Path(tmp) / f"{campaign_id}{'.sss' if fmt == 'sss' else suffix}"
            # a long read (the whole campaign) then the audit write, while the dialler
            # writes: hold SQLite's write lock from the start (decision 0013)
            with transaction(self._factory, write_lock=True) as session:
                summary = results.export_campaign(
                    session,
                    campaign_id,
                    roles=actor.roles,
                    fmt=fmt,  # type: ignore[arg-type]
                    out=out,
                    export_fields=self._export_fields(campaign_id),
                    field_values=self._field_values,
                )
                self._audit(
                    session,
                    actor.user_id,
                    "results.export",
                    f"campaign:{campaign_id}",
                    {"format": fmt, "rows": summary.rows},
                )
            if fmt == "sss":
                import zipfile

                bundle = Path(tmp) / f"{campaign_id}-triple-s.zip"
                with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as zf:
                    for path in summary.paths:
                        zf.write(path, path.name)
                return Download(bundle.name, media_type, bundle.read_bytes())
            return Download(out.name, media_type, out.read_bytes())


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
