"""``ScriptsPort`` over the script services (W1-C): drafts, submission, approval with the
diff against the last approved version, and live validation + lint for the editor."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.db import transaction
from gatehouse.domain.errors import ValidationFailed
from gatehouse.domain.scripts.lint import lint
from gatehouse.domain.scripts.model import ScriptInvalid, load_script
from gatehouse.services import scripts as svc
from gatehouse.web.auth import WebPrincipal
from gatehouse.web.pages.ports import (
    ApprovalView,
    Problem,
    ScriptRow,
    ScriptVersionView,
    ValidationReport,
)

MAX_SOURCE = 500_000


def _actor(principal: WebPrincipal) -> svc.Actor:
    return svc.Actor(principal.user_id, principal.roles)


def _view(info: svc.VersionInfo) -> ScriptVersionView:
    return ScriptVersionView(
        version_id=info.id,
        script_id=info.script_id,
        name=info.title,
        number=info.number,
        status=info.status,
        source=info.source,
        author=info.created_by,
        created=time.strftime("%Y-%m-%d %H:%M", time.gmtime(info.created_at)),
    )


class ScriptServices:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def list_scripts(self) -> list[ScriptRow]:
        with transaction(self._factory) as session:
            versions = svc.list_versions(session)
        rows: dict[str, list[svc.VersionInfo]] = {}
        for v in versions:
            rows.setdefault(v.script_id, []).append(v)
        out = []
        for script_id, vs in rows.items():
            latest = max(vs, key=lambda v: v.number)
            live = [v for v in vs if v.status in ("live", "approved")]
            approved = max(live, key=lambda v: v.number) if live else None
            out.append(
                ScriptRow(
                    script_id=script_id,
                    name=latest.title,
                    versions=len(vs),
                    latest_version_id=latest.id,
                    latest_status=latest.status,
                    approved_label=f"v{approved.number} ({approved.status})" if approved else "",
                )
            )
        return sorted(out, key=lambda r: r.name)

    def version(self, version_id: str) -> ScriptVersionView:
        with transaction(self._factory) as session:
            return _view(svc.get_version(session, version_id))

    def validate(self, source: str) -> ValidationReport:
        if len(source) > MAX_SOURCE:
            return ValidationReport(False, (Problem("script", "The script is too long."),), ())
        try:
            script = load_script(source)
        except ScriptInvalid as invalid:
            errors = tuple(Problem(i.path or "script", i.message, i.line) for i in invalid.issues)
            return ValidationReport(False, errors, ())
        except ValidationFailed as bad:  # YAML syntax, aliases, depth, size
            line = bad.details.get("line")
            return ValidationReport(
                False,
                (Problem("script", bad.message, line if isinstance(line, int) else None),),
                (),
            )
        findings = lint(script, svc.default_rules())
        problems = tuple(Problem(f.element, f.reason, rule=f.rule) for f in findings)
        questions = sum(1 for e in script.elements if e.type != "text")
        summary = f"{questions} questions, {len(script.quotas)} quota(s), agency {script.agency}"
        return ValidationReport(not problems, (), problems, summary)

    def save_draft(self, actor: WebPrincipal, script_id: str | None, source: str) -> str:
        with transaction(self._factory) as session:
            return svc.save_draft(session, _actor(actor), source).id

    def submit(self, actor: WebPrincipal, version_id: str) -> None:
        with transaction(self._factory) as session:
            svc.submit(session, _actor(actor), version_id)

    def pending(self) -> list[ScriptVersionView]:
        with transaction(self._factory) as session:
            return [_view(v) for v in svc.list_versions(session, status="submitted")]

    def approval(self, version_id: str) -> ApprovalView:
        with transaction(self._factory) as session:
            info = svc.get_version(session, version_id)
            basis = svc.last_approved(session, info.script_id, before=info.number)
            previous = _view(svc.get_version(session, basis.id)) if basis else None
        return ApprovalView(_view(info), previous, self.validate(info.source))

    def decide(self, actor: WebPrincipal, version_id: str, approve: bool, note: str) -> None:
        with transaction(self._factory) as session:
            svc.decide(session, _actor(actor), version_id, approve=approve, note=note)
