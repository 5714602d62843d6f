"""The wallboard read model from the database, for a web process that does not host the
dialler workers (PostgreSQL, several worker processes).

Everything here is read from ``dialler_agents`` (written through by every worker on every
agent transition), ``dialler_attempts`` and ``dialler_contacts``/``dialler_workers``; it
carries no PII (agent names, campaign names, counts). In-process deployments can read the
runtimes directly instead (``web/adapters/desk.py``); both give the same figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gatehouse.adapters.storage.dialler import DiallerStore


@dataclass(frozen=True, slots=True)
class BoardAgent:
    agent_id: str
    name: str
    state: str
    since: float
    seconds_in_state: float
    pause_reason: str
    campaigns: tuple[str, ...]
    on_call: bool
    bot: bool


@dataclass(frozen=True, slots=True)
class BoardCampaign:
    campaign_id: str
    name: str
    status: str
    attempts_24h: int
    connects_24h: int
    abandoned_24h: int
    abandon_rate_24h: float
    open_attempts: int  # calls in progress (ringing or connected), all workers
    due_contacts: int  # contacts due to be dialled now (the queue)
    workers: int
    dial_level: float  # open attempts per ready agent of the campaign


@dataclass(frozen=True, slots=True)
class Board:
    at: float
    agents: tuple[BoardAgent, ...]
    campaigns: tuple[BoardCampaign, ...]


def snapshot(store: DiallerStore, now: float) -> Board:
    agents = tuple(
        BoardAgent(
            agent_id=a.agent_id,
            name=a.name,
            state=a.state,
            since=a.since,
            seconds_in_state=max(0.0, now - a.since),
            pause_reason=a.pause_reason,
            campaigns=tuple(json.loads(a.campaigns)),
            on_call=a.state in ("reserved", "on_call"),
            bot=a.bot,
        )
        for a in store.agents()
    )
    campaigns = []
    for rec in store.campaigns():
        c = store.counts(rec.campaign_id, since=now - 86400.0)
        ready = sum(1 for a in agents if a.state == "ready" and rec.campaign_id in a.campaigns)
        campaigns.append(
            BoardCampaign(
                campaign_id=rec.campaign_id,
                name=rec.name,
                status=rec.status.value,
                attempts_24h=c.attempts,
                connects_24h=c.connects + c.connected_open,
                abandoned_24h=c.abandoned,
                abandon_rate_24h=c.abandon_rate,
                open_attempts=c.open_attempts,
                due_contacts=store.hopper_depth(rec.campaign_id, now),
                workers=len(store.live_workers(rec.campaign_id, now)),
                dial_level=c.open_attempts / ready if ready else 0.0,
            )
        )
    return Board(now, agents, tuple(campaigns))
