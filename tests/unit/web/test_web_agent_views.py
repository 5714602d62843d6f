"""Invariant 1 by construction: the only types an agent page renders have an allow-listed set
of fields, none of which can carry a number, an address or a contact id. Adding a field to
these views must be a deliberate, reviewed change to this list."""

from __future__ import annotations

import dataclasses

from gatehouse.web.agent.views import CallView, DeskView, OptionView, QuestionView

ALLOWED = {
    DeskView: {
        "agent_name",
        "state",
        "state_since",
        "version",
        "server_now",
        "pause_reason",
        "pause_reasons",
        "call",
        "wrap_until",
        "training_available",
        "notice",
        "campaigns",
    },
    CallView: {
        "call_ref",
        "campaign_name",
        "agency_line",
        "display_fields",
        "connected_at",
        "question",
        "finished",
        "outcomes",
        "callback_slots",
        "suggested_outcome",
        "training",
        "message",
    },
    QuestionView: {
        "question_id",
        "kind",
        "text",
        "options",
        "items",
        "minimum",
        "maximum",
        "position",
        "total",
        "can_back",
        "help_text",
    },
    OptionView: {"code", "label", "key", "special", "other"},
}
FORBIDDEN_WORDS = ("phone", "number", "e164", "address", "postcode", "email", "contact", "dob")


def test_agent_views_have_only_allow_listed_fields() -> None:
    for view, allowed in ALLOWED.items():
        names = {f.name for f in dataclasses.fields(view)}
        assert names == allowed, view.__name__
        for name in names:
            assert not any(word in name for word in FORBIDDEN_WORDS), (view.__name__, name)
