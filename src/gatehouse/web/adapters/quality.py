"""``QualityPort`` over the quality service (C6) and the dialler's records (names, campaigns).

Agents listed are the people on the dialler roster (simulated agents are never scored). One
transaction per call; a score and its audit entry commit together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.db import transaction
from gatehouse.adapters.storage.dialler import DiallerStore
from gatehouse.domain.quality import QualitySummary, Rubric
from gatehouse.services import quality
from gatehouse.services.scripts import Actor
from gatehouse.web.auth import WebPrincipal
from gatehouse.web.pages.quality import (
    AgentQualityView,
    CallToScore,
    CriterionView,
    RubricView,
    ScoreView,
)


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%d %b %Y, %H:%M")


def _score_view(s: quality.ScoredCall) -> ScoreView:
    return ScoreView(
        attempt_id=s.attempt_id,
        agent_id=s.agent_id,
        scorer=s.scorer_id,
        total=s.total,
        passed=s.passed,
        failed_critical=s.failed_critical,
        scores=dict(s.scores),
        comment=s.comment,
        scored=_when(s.scored_at),
    )


class QualityServices:
    def __init__(self, factory: sessionmaker[Session], rubric: Rubric | None = None) -> None:
        self._factory = factory
        self._store = DiallerStore(factory)
        self._rubric = rubric or quality.default_rubric()

    def _names(self) -> dict[str, str]:
        return {a.agent_id: a.name for a in self._store.agents() if not a.bot}

    def _campaigns(self) -> dict[str, str]:
        return {c.campaign_id: c.name for c in self._store.campaigns()}

    def rubric(self) -> RubricView:
        r = self._rubric
        return RubricView(
            r.rubric_id,
            r.version,
            r.name,
            r.pass_mark,
            tuple(
                CriterionView(
                    c.criterion_id, c.label, c.scale_max, c.weight, c.critical, c.description
                )
                for c in r.criteria
            ),
        )

    @staticmethod
    def _view(agent_id: str, name: str, s: QualitySummary) -> AgentQualityView:
        return AgentQualityView(agent_id, name, s.count, s.mean_total, s.pass_rate)

    def agents(self) -> list[AgentQualityView]:
        names = self._names()
        with transaction(self._factory) as session:
            rows = [
                self._view(a, n, quality.agent_quality_summary(session, a))
                for a, n in names.items()
            ]
        return sorted(rows, key=lambda v: v.name)

    def summary(self, agent_id: str) -> AgentQualityView:
        with transaction(self._factory) as session:
            s = quality.agent_quality_summary(session, agent_id)
        return self._view(agent_id, self._names().get(agent_id, agent_id), s)

    def _call(
        self, c: quality.FinishedCall, names: dict[str, str], campaigns: dict[str, str]
    ) -> CallToScore:
        return CallToScore(
            attempt_id=c.attempt_id,
            agent_id=c.agent_id,
            agent_name=names.get(c.agent_id, c.agent_id),
            campaign=campaigns.get(c.campaign_id, c.campaign_id),
            outcome=c.outcome,
            connected=_when(c.connected_at),
            duration_s=round(c.ended_at - c.connected_at) if c.ended_at else None,
            scored_total=c.scored_total,
            scored_passed=c.scored_passed,
        )

    def calls(self, agent_id: str) -> list[CallToScore]:
        names, campaigns = self._names(), self._campaigns()
        with transaction(self._factory) as session:
            found = quality.finished_calls(session, agent_id)
        return [self._call(c, names, campaigns) for c in found]

    def call(self, attempt_id: str) -> tuple[CallToScore, list[ScoreView]]:
        names, campaigns = self._names(), self._campaigns()
        with transaction(self._factory) as session:
            a = quality.finished_call(session, attempt_id)
            assert a.agent_id is not None and a.outcome is not None and a.connected_at
            scores = quality.scores_for_call(session, attempt_id)
            finished = quality.FinishedCall(
                a.attempt_id,
                a.campaign_id,
                a.agent_id,
                a.outcome,
                a.connected_at,
                a.ended_at or a.outcome_at,
                scores[-1].total if scores else None,
                scores[-1].passed if scores else None,
            )
        return self._call(finished, names, campaigns), [_score_view(s) for s in scores]

    def score(
        self,
        actor: WebPrincipal,
        attempt_id: str,
        agent_id: str,
        scores: dict[str, int],
        comment: str,
    ) -> ScoreView:
        who = Actor(actor.user_id, actor.roles)
        with transaction(self._factory) as session:
            scored = quality.score_call(
                session,
                who,
                attempt_id=attempt_id,
                agent_id=agent_id,
                scores=scores,
                comment=comment,
                rubric=self._rubric,
            )
        return _score_view(scored)
