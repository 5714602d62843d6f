"""In-memory doubles of the web ports, for rendering tests only (the real adapters are
exercised by tests/e2e/web against real services)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from gatehouse.domain.errors import NotFound, ValidationFailed
from gatehouse.web.agent.views import CallView, DeskState, DeskView, OptionView, QuestionView
from gatehouse.web.pages.ports import (
    AgentClearance,
    ApprovalView,
    AuditRow,
    CampaignDetail,
    CampaignSummary,
    ChainStatus,
    ClearanceChange,
    Download,
    ImportRow,
    Metric,
    Problem,
    ScriptRow,
    ScriptVersionView,
    ValidationReport,
)
from gatehouse.web.pages.supervisor import AgentRow, CampaignRow, Intervention, WallboardView

QUESTIONS = [
    QuestionView(
        "intro",
        "readout",
        "Good evening, I am calling from Northgate Research.",
        position=1,
        total=3,
    ),
    QuestionView(
        "q1",
        "single",
        "How satisfied are you with your home insurance?",
        options=(
            OptionView("1", "Very satisfied", "1"),
            OptionView("2", "Fairly satisfied", "2"),
            OptionView("dk", "Don't know", "8", special=True),
        ),
        position=2,
        total=3,
        can_back=True,
    ),
    QuestionView(
        "q2",
        "numeric",
        "How many years have you been with them?",
        minimum=0,
        maximum=60,
        position=3,
        total=3,
        can_back=True,
    ),
]


class FakeDesk:
    def __init__(self) -> None:
        self.state = DeskState.LOGGED_OUT
        self.since = time.time()
        self.version = 1
        self.step: int | None = None
        self.answers: list[tuple[str, list[str]]] = []
        self.outcomes: list[str] = []
        self.reason = ""

    def _bump(self, state: DeskState | None = None) -> None:
        if state is not None:
            self.state, self.since = state, time.time()
        self.version += 1

    def ring(self) -> None:
        self.step = 0
        self._bump(DeskState.ON_CALL)

    def view(self, agent_id: str) -> DeskView:
        call = None
        if self.step is not None:
            finished = self.step >= len(QUESTIONS)
            call = CallView(
                "call-1",
                "Home insurance 2026",
                "Northgate Research for an insurer",
                (("First name", "Margaret"),),
                self.since,
                None if finished else QUESTIONS[self.step],
                finished,
                (OptionView("complete", "Complete"), OptionView("refused", "Refused")),
                (OptionView("s1", "Tomorrow 10:00-11:00"),),
            )
        return DeskView(
            "Agent One",
            self.state,
            self.since,
            self.version,
            time.time(),
            pause_reason=self.reason,
            pause_reasons=("break", "toilet"),
            call=call,
            wrap_until=self.since + 20 if self.state == DeskState.WRAP_UP else None,
        )

    def sign_on(self, agent_id: str) -> None:
        self._bump(DeskState.READY)

    def ready(self, agent_id: str) -> None:
        self._bump(DeskState.READY)

    def pause(self, agent_id: str, reason: str) -> None:
        self.reason = reason
        self._bump(DeskState.PAUSED)

    def sign_off(self, agent_id: str) -> None:
        self._bump(DeskState.LOGGED_OUT)

    def answer(
        self,
        agent_id: str,
        call_ref: str,
        question_id: str,
        values: Sequence[str],
        other_text: str = "",
    ) -> None:
        assert self.step is not None
        q = QUESTIONS[self.step]
        if q.kind != "readout" and not values:
            raise ValidationFailed("Choose an answer first.")
        self.answers.append((question_id, list(values)))
        self.step += 1
        self._bump()

    def back(self, agent_id: str, call_ref: str) -> None:
        assert self.step
        self.step -= 1
        self._bump()

    def finish(self, agent_id: str, call_ref: str, outcome: str, callback_slot: str | None) -> None:
        self.outcomes.append(outcome)
        self.step = None
        self._bump(DeskState.WRAP_UP)

    def start_training(self, agent_id: str) -> None:
        self.ring()

    async def wait_for_change(self, agent_id: str, after_version: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.version == after_version and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.version


class FakeWallboard:
    def __init__(self) -> None:
        self.actions: list[tuple[str, str, str]] = []

    def snapshot(self) -> WallboardView:
        now = time.time()
        return WallboardView(
            now,
            (
                AgentRow("agent1", "Agent One", "on_call", now - 30, "Home insurance 2026", True),
                AgentRow("agent2", "Agent Two", "ready", now - 5, "Home insurance 2026"),
            ),
            (CampaignRow("c1", "Home insurance 2026", "running", 120, 40, 1, 1.8, 900, 3),),
            1,
            3,
        )

    def intervene(
        self, supervisor_id: str, action: Intervention, agent_id: str, reason: str
    ) -> None:
        self.actions.append((supervisor_id, action.value, agent_id))


V1 = ScriptVersionView(
    "v1",
    "s1",
    "Home insurance",
    1,
    "approved",
    "intro: Hello\nq1: How satisfied?\n",
    "manager1",
    "2026-11-20",
)
V2 = ScriptVersionView(
    "v2",
    "s1",
    "Home insurance",
    2,
    "submitted",
    "intro: Hello from Northgate\nq1: How satisfied?\nq2: Years?\n",
    "manager1",
    "2026-11-23",
)


class FakeCampaigns:
    def list_campaigns(self) -> list[CampaignSummary]:
        return [
            CampaignSummary(
                "c1",
                "Home insurance 2026",
                "Northgate Research",
                "running",
                "Home insurance v1",
                10000,
                1843,
                212,
                500,
            )
        ]

    def detail(self, actor: object, campaign_id: str) -> CampaignDetail:
        if campaign_id != "c1":
            raise NotFound("no such campaign")
        return CampaignDetail(
            self.list_campaigns()[0],
            (ImportRow("i1", "contacts.csv", "done", 10002, 10000, 2, has_error_report=True),),
            (("Complete", 212), ("Refusal", 80), ("Non-contact", 400)),
            (
                Metric("RR1", "23.1%", "completes / all eligible and unknown"),
                Metric("COOP1", "61.2%", "completes / contacted eligible"),
            ),
            actions=("pause", "stop"),
        )

    def change_status(self, actor: object, campaign_id: str, action: str) -> None:
        return None

    def start_import(self, actor: object, campaign_id: str, filename: str, data: bytes) -> str:
        return "i2"

    def import_status(self, import_id: str) -> ImportRow:
        return ImportRow(import_id, "more.csv", "running", 500, 498, 2)

    def error_report(self, import_id: str) -> Download:
        return Download("errors.csv", "text/csv", b"row,column,reason\n3,phone,not a number\n")

    def export(self, actor: object, campaign_id: str, fmt: str) -> Download:
        return Download(f"results.{fmt}", "application/octet-stream", b"respondent_id,q1\nR1,1\n")


class FakeScripts:
    def list_scripts(self) -> list[ScriptRow]:
        return [ScriptRow("s1", "Home insurance", 2, "v2", "submitted", "v1")]

    def version(self, version_id: str) -> ScriptVersionView:
        return {"v1": V1, "v2": V2}[version_id]

    def validate(self, source: str) -> ValidationReport:
        lint = (
            (Problem("q9", "asks for a postcode", rule="no-address"),)
            if "postcode" in source
            else ()
        )
        return ValidationReport(not lint, (), lint, "3 questions")

    def save_draft(self, actor: object, script_id: str | None, source: str) -> str:
        return "v2"

    def submit(self, actor: object, version_id: str) -> None:
        return None

    def pending(self) -> list[ScriptVersionView]:
        return [V2]

    def approval(self, version_id: str) -> ApprovalView:
        return ApprovalView(V2, V1, self.validate(V2.source))

    def decide(self, actor: object, version_id: str, approve: bool, note: str) -> None:
        return None


class FakeSecurity:
    def audit_page(self, before: int | None, limit: int) -> list[AuditRow]:
        return [
            AuditRow(2, "2026-11-23 23:00:01", "security1", "script.approve", "v1", "ok", "ab" * 32)
        ]

    def verify_chain(self) -> ChainStatus:
        return ChainStatus(True, 2, "intact")

    def __init__(self) -> None:
        self.changes: list[tuple[str, ClearanceChange]] = []

    def clearances(self) -> list[AgentClearance]:
        return [
            AgentClearance(
                "agent1",
                "Agent One",
                "cleared",
                "2027-05-01",
                ("Home insurance 2026",),
                ("c1",),
                days_left=12,
                warning="clearance expires in 12 days",
            ),
            AgentClearance("agent2", "Agent Two", "not vetted", ""),
        ]

    def campaign_choices(self) -> list[tuple[str, str]]:
        return [("c1", "Home insurance 2026")]

    def set_clearance(self, actor: object, change: ClearanceChange) -> AgentClearance:
        if change.status == "cleared" and not change.cleared_until:
            raise ValidationFailed("a clearance needs the date it runs until")
        self.changes.append((getattr(actor, "user_id", ""), change))
        return self.clearances()[0]
