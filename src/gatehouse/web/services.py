"""The services the web layer is composed with (built by the CLI's serve/demo or by tests).

Each field is a port the web layer calls; the real implementations live in
``gatehouse.services`` and are adapted in ``gatehouse.web.adapters``. Pages of an area whose
service is absent answer 503 with a clear message rather than invent data.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.web.agent.views import AgentDeskPort
from gatehouse.web.auth import AccountsPort
from gatehouse.web.pages.metrics import MetricsPort
from gatehouse.web.pages.ports import CampaignsPort, ScriptsPort, SecurityPort
from gatehouse.web.pages.quality import QualityPort
from gatehouse.web.pages.recordings import RecordingsPort
from gatehouse.web.pages.supervisor import WallboardPort


@dataclass
class WebServices:
    accounts: AccountsPort
    desk: AgentDeskPort | None = None
    wallboard: WallboardPort | None = None
    campaigns: CampaignsPort | None = None
    scripts: ScriptsPort | None = None
    security: SecurityPort | None = None
    quality: QualityPort | None = None
    metrics: MetricsPort | None = None
    recordings: RecordingsPort | None = None
