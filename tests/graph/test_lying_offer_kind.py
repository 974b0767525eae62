"""A model that leaves the offer out of its plan cannot send contradicting offers.

The supervisor's model is replaced by one that returns the usual plan with `offer_kind` and
`discount_pct` removed. The copy the customer reads still says "Last chance" / "Welcome": the gate
reads the offer kinds from the saved copy too (`campaign_offer_kinds`), so after both objectives run
on one seeded CDP nobody holds both live offers, counted in SQL."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graph.graph import builder
from llm.scripted import ScriptedChatModel, ScriptedRequest, default_responder
from tests.graph.helpers import campaign_of, rows, run, scalar
from tests.invariants import promise_violations
from tests.seeded import seeded_copy

FIRST = "last chance sale for new customers by email"
SECOND = "welcome offer for new customers by email"


def offerless_planner(request: ScriptedRequest) -> Any:
    """The scripted answer with the plan's offer removed (the copy is left as written)."""
    answer = default_responder(request)
    if request.role != "supervisor" or not isinstance(answer, dict) or "campaign" not in answer:
        return answer
    answer = copy.deepcopy(answer)
    answer["campaign"]["offer_kind"] = None
    answer["campaign"]["discount_pct"] = None
    return answer


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

    def load(name: str | None = None, **_: Any) -> ScriptedChatModel:
        return ScriptedChatModel(offerless_planner, latency_ms=0)

    path = seeded_copy(tmp_path_factory.mktemp("offerless"))
    graph = builder.compile(checkpointer=InMemorySaver())
    states = [
        run(graph, FIRST, path, "offerless-a", model_factory=load),
        run(graph, SECOND, path, "offerless-b", model_factory=load),
    ]
    return path, states


def test_the_plan_has_no_offer_but_the_copy_does(two_runs):
    path, states = two_runs
    assert [s["status"] for s in states] == ["completed"] * 2, [s.get("error") for s in states]
    ca, cb = campaign_of(path, "offerless-a"), campaign_of(path, "offerless-b")
    assert (ca["offer_kind"], cb["offer_kind"]) == (None, None)
    derived = {
        r["campaign_id"]: r["kind"]
        for r in rows(
            path, "SELECT DISTINCT campaign_id, kind FROM campaign_offer_kinds WHERE source = 'copy'"
        )
        if r["kind"] in ("last_chance", "welcome")
    }
    assert derived == {ca["campaign_id"]: "last_chance", cb["campaign_id"]: "welcome"}


def test_nobody_holds_both_offers(two_runs):
    path, _ = two_runs
    ca, cb = campaign_of(path, "offerless-a"), campaign_of(path, "offerless-b")
    assert scalar(path, "SELECT count(*) FROM sends WHERE campaign_id = ?", [ca["campaign_id"]]) > 0
    both = scalar(
        path,
        """SELECT count(*) FROM sends a JOIN sends b ON b.profile_id = a.profile_id
           WHERE a.campaign_id = ? AND b.campaign_id = ?
             AND a.status IN ('scheduled', 'delivered') AND b.status IN ('scheduled', 'delivered')""",
        [ca["campaign_id"], cb["campaign_id"]],
    )
    assert both == 0
    stopped = scalar(
        path,
        "SELECT count(*) FROM decisions WHERE campaign_id = ? AND reason_code = 'conflicting_offer'",
        [cb["campaign_id"]],
    )
    assert stopped > 0
    assert promise_violations(path).get("contradicting_offers", []) == []
