"""Ports and read models for the manager and security pages.

The web layer renders these frozen views and calls these methods; the adapters in
``gatehouse.web.adapters`` implement them over the real services (accounts, vault imports,
scripts and approvals, reports and exports, audit). Every mutating method takes the acting
user's id so the service can audit it in the same transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from gatehouse.web.auth import WebPrincipal


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    campaign_id: str
    name: str
    client: str
    status: str
    script_label: str
    contacts: int
    attempts: int
    completes: int
    target: int = 0


@dataclass(frozen=True, slots=True)
class ImportRow:
    import_id: str
    filename: str
    status: str  # running | done | failed
    rows_seen: int
    rows_imported: int
    rows_rejected: int
    message: str = ""
    has_error_report: bool = False

    @property
    def done(self) -> bool:
        return self.status != "running"


@dataclass(frozen=True, slots=True)
class Metric:
    label: str
    value: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class CampaignDetail:
    summary: CampaignSummary
    imports: tuple[ImportRow, ...]
    dispositions: tuple[tuple[str, int], ...]  # AAPOR final disposition -> count
    rates: tuple[Metric, ...]  # RR1..RR6, COOP, REF, CON
    export_formats: tuple[tuple[str, str], ...] = (
        ("csv", "CSV (UTF-8)"),
        ("sav", "SPSS .sav"),
        ("sss", "Triple-S (zip)"),
    )
    actions: tuple[str, ...] = ()  # start | pause | stop allowed now


@dataclass(frozen=True, slots=True)
class Download:
    filename: str
    media_type: str
    content: bytes


class CampaignsPort(Protocol):
    def list_campaigns(self) -> list[CampaignSummary]: ...

    def detail(self, actor: WebPrincipal, campaign_id: str) -> CampaignDetail: ...

    def change_status(self, actor: WebPrincipal, campaign_id: str, action: str) -> None: ...

    def start_import(
        self, actor: WebPrincipal, campaign_id: str, filename: str, data: bytes
    ) -> str:
        """Begin importing an uploaded file; returns the import id (progress via ``imports``)."""
        ...

    def import_status(self, import_id: str) -> ImportRow: ...

    def error_report(self, import_id: str) -> Download: ...

    def export(self, actor: WebPrincipal, campaign_id: str, fmt: str) -> Download: ...


@dataclass(frozen=True, slots=True)
class Problem:
    where: str  # path or element id
    message: str
    line: int | None = None
    rule: str = ""


@dataclass(frozen=True, slots=True)
class ValidationReport:
    ok: bool
    errors: tuple[Problem, ...]
    lint: tuple[Problem, ...]
    summary: str = ""  # e.g. "14 questions, 2 routes, 1 quota"


@dataclass(frozen=True, slots=True)
class ScriptRow:
    script_id: str
    name: str
    versions: int
    latest_version_id: str
    latest_status: str
    approved_label: str = ""


@dataclass(frozen=True, slots=True)
class ScriptVersionView:
    version_id: str
    script_id: str
    name: str
    number: int
    status: str
    source: str
    author: str = ""
    created: str = ""


@dataclass(frozen=True, slots=True)
class ApprovalView:
    version: ScriptVersionView
    previous: ScriptVersionView | None
    report: ValidationReport


class ScriptsPort(Protocol):
    def list_scripts(self) -> list[ScriptRow]: ...

    def version(self, version_id: str) -> ScriptVersionView: ...

    def validate(self, source: str) -> ValidationReport: ...

    def save_draft(self, actor: WebPrincipal, script_id: str | None, source: str) -> str:
        """Store a new draft version; returns its id."""
        ...

    def submit(self, actor: WebPrincipal, version_id: str) -> None: ...

    def pending(self) -> list[ScriptVersionView]: ...

    def approval(self, version_id: str) -> ApprovalView: ...

    def decide(self, actor: WebPrincipal, version_id: str, approve: bool, note: str) -> None: ...


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    at: str
    actor: str
    action: str
    target: str
    detail: str
    entry_hash: str


@dataclass(frozen=True, slots=True)
class ChainStatus:
    ok: bool
    entries: int
    message: str
    first_bad: int | None = None


@dataclass(frozen=True, slots=True)
class AgentClearance:
    agent_id: str
    name: str
    status: str  # effective today: cleared | suspended | expired | not vetted
    expires: str  # the last valid day, ISO date ("" if none)
    campaigns: tuple[str, ...] = field(default_factory=tuple)  # names, for people
    campaign_ids: tuple[str, ...] = field(default_factory=tuple)
    days_left: int | None = None
    warning: str = ""  # "clearance expires in N days" when close
    vetted_by: str = ""
    vetted_at: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class ClearanceChange:
    agent_id: str
    status: str  # cleared | suspended
    cleared_until: str  # ISO date; required when cleared
    campaigns: tuple[str, ...]
    note: str = ""


class SecurityPort(Protocol):
    def audit_page(self, before: int | None, limit: int) -> list[AuditRow]: ...

    def verify_chain(self) -> ChainStatus: ...

    def clearances(self) -> list[AgentClearance]: ...

    def campaign_choices(self) -> list[tuple[str, str]]:
        """(campaign id, name) an agent can be cleared for."""
        ...

    def set_clearance(self, actor: WebPrincipal, change: ClearanceChange) -> AgentClearance: ...
