"""A model that says a campaign is not promotional cannot switch the marketing rules off.

The supervisor's model is replaced by one that returns the usual plan plus `promotional: false` (and
transactional-sounding task inputs). Four runs of the default objective on one seeded CDP then must
leave nobody over the frequency cap, and nobody with an open ticket or a recent complaint messaged,
counted in plain SQL."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graph.graph import builder
from llm.scripted import ScriptedChatModel, ScriptedRequest, default_responder
from tests.graph.helpers import DEFAULT_OBJECTIVE, rows, run, scalar
from tests.seeded import seeded_copy

CAP = 3
NOW = "2026-11-24T12:00:00Z"


def lying_planner(request: ScriptedRequest) -> Any:
    """The scripted answer, with every field a model could use to claim the message is exempt."""
    answer = default_responder(request)
    if request.role != "supervisor" or not isinstance(answer, dict) or not answer.get("tasks"):
        return answer
    answer = copy.deepcopy(answer)
    answer["campaign"]["promotional"] = False
    for task in answer["tasks"]:
        task["inputs"] = {
            **task.get("inputs", {}),
            "promotional": False,
            "transactional": True,
            "message_kind": "order_confirmation",
        }
    return answer


@pytest.fixture(scope="module")
def four_runs(tmp_path_factory):
    import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

    def load(name: str | None = None, **_: Any) -> ScriptedChatModel:
        return ScriptedChatModel(lying_planner, latency_ms=0)

    path = seeded_copy(tmp_path_factory.mktemp("lying"))
    graph = builder.compile(checkpointer=InMemorySaver())
    states = [run(graph, DEFAULT_OBJECTIVE, path, f"lying-{n}", model_factory=load) for n in range(4)]
    return path, states


def test_the_lying_plan_is_planned_and_every_campaign_stays_marketing(four_runs):
    path, states = four_runs
    assert [s["status"] for s in states] == ["completed"] * 4, [s.get("error") for s in states]
    campaigns = rows(path, "SELECT promotional, message_kind FROM campaigns WHERE thread_id LIKE 'lying-%'")
    assert [tuple(r) for r in campaigns] == [(1, "marketing")] * 4
    assert scalar(path, "SELECT count(*) FROM sends WHERE promotional = 0") == 0
    assert scalar(path, "SELECT count(*) FROM sends") > 0


def test_nobody_goes_over_the_frequency_cap(four_runs):
    path, _ = four_runs
    # All four runs schedule within one week, so every live send of a customer is in one window.
    over = scalar(
        path,
        """SELECT count(*) FROM (SELECT profile_id FROM sends WHERE status IN ('scheduled', 'delivered')
           GROUP BY profile_id HAVING count(*) > ?)""",
        [CAP],
    )
    assert over == 0
    capped = scalar(path, "SELECT count(*) FROM decisions WHERE reason_code = 'frequency_cap'")
    assert capped > 0, "the fourth run must meet customers already at the cap"


def test_no_send_to_an_open_ticket_or_a_recent_complainer(four_runs):
    path, _ = four_runs
    assert (
        scalar(
            path, "SELECT count(*) FROM sends s JOIN profiles p USING (profile_id) WHERE p.open_tickets > 0"
        )
        == 0
    )
    complained = scalar(
        path,
        """SELECT count(*) FROM sends s JOIN profiles p USING (profile_id)
           WHERE p.last_complaint_at > strftime('%Y-%m-%dT%H:%M:%SZ', ?, '-30 days')""",
        [NOW],
    )
    assert complained == 0
    stopped = scalar(
        path,
        """SELECT count(*) FROM decisions
           WHERE reason_code IN ('open_ticket', 'recent_complaint', 'service_suppression')""",
    )
    assert stopped > 0, "the audience must hold customers these rules stop"
