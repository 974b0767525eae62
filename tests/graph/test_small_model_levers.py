"""The small-model levers keep the product's result: the same campaign, the same sends.

- The brief plan (`CDP_AGENTS_PLAN_SCHEMA=brief`): the model fills only its reading of the objective,
  code builds the campaign and the task graph; the run must reach the same audience and sends as the
  whole plan does.
- Tool calls written as text (fenced JSON, as small models write them): read back, so every specialist
  still finishes, with the same sends.
- A plan that carries tasks and a refusal is sent back once, instead of being taken as a refusal.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from graph.plan import PlanBrief
from graph.plan_template import plan_from_brief
from llm.scripted import ScriptedChatModel, ScriptedRequest, default_responder
from tests.graph.helpers import (
    DEFAULT_OBJECTIVE,
    campaign_of,
    compile_graph,
    new_thread,
    run,
    segment_members,
    send_count,
)

OBJECTIVE = "win back lapsed premium customers with 15% off shoes by email"


def _outcome(db, thread: str) -> tuple[int, set[str], dict[str, Any]]:
    camp = campaign_of(db, thread)
    seg = camp["segment_id"]
    fields = {k: camp[k] for k in ("offer_kind", "offer_value", "offer_unit", "discount_pct", "channels")}
    return send_count(db, camp["campaign_id"]), segment_members(db, seg), fields


@pytest.mark.parametrize("objective", [DEFAULT_OBJECTIVE, OBJECTIVE])
def test_the_brief_plan_reaches_the_same_campaign_as_the_whole_plan(
    objective, seeded_cdp_path, tmp_path, monkeypatch
):
    from tests.seeded import seeded_copy

    whole_db, brief_db = seeded_cdp_path, seeded_copy(tmp_path)
    whole = run(compile_graph(), objective, whole_db, "same")
    monkeypatch.setenv("CDP_AGENTS_PLAN_SCHEMA", "brief")
    brief = run(compile_graph(), objective, brief_db, "same")
    assert whole["status"] == brief["status"] == "completed"
    assert [(t["id"], t["agent"], t["depends_on"]) for t in brief["plan"]] == [
        (t["id"], t["agent"], t["depends_on"]) for t in whole["plan"]
    ]
    sends, members, fields = _outcome(brief_db, "same")
    assert sends > 0 and members
    assert (sends, members, fields) == _outcome(whole_db, "same")


def _brief(**over: Any) -> PlanBrief:
    data = {
        "interpretation": {
            "audience": {"text": "vip", "filter": {"field": "tier", "op": "eq", "value": "vip"}}
        },
        "decision": "plan",
        **over,
    }
    return PlanBrief.model_validate(data)


def test_a_brief_never_gets_tasks_or_campaign_fields_its_reading_does_not_hold():
    plan = plan_from_brief(_brief(), {"audience", "content", "activation", "analytics", "budget", "growth"})
    assert [t.id for t in plan.tasks] == ["audience", "baseline", "content", "activation", "results"]
    assert plan.tasks[0].depends_on == [] and plan.tasks[0].inputs["filter"]["value"] == "vip"
    assert plan.campaign.budget is None and plan.campaign.channels == [] and plan.campaign.offer_kind is None
    with_budget = plan_from_brief(
        _brief(interpretation={"budget": {"amount": 500, "currency": "EUR"}}), {"audience", "budget"}
    )
    assert [t.id for t in with_budget.tasks] == ["audience", "budget"]


@pytest.mark.parametrize("decision", ["ask", "refuse"])
def test_a_brief_that_asks_or_refuses_must_say_what(decision):
    from graph.plan import PlanError

    with pytest.raises(PlanError, match="message"):
        plan_from_brief(_brief(decision=decision), {"audience"})
    plan = plan_from_brief(_brief(decision=decision, message="Which country?"), {"audience"})
    assert plan.tasks == [] and (plan.question or plan.refusal) == "Which country?"


def _as_text(request: ScriptedRequest) -> Any:
    """The scripted answer with its tool calls written into the text as fenced JSON, no native calls."""
    answer = default_responder(request)
    if not isinstance(answer, dict) or not answer.get("tool_calls"):
        return answer
    blocks = "\n".join(
        "```json\n" + json.dumps({"name": c["name"], "arguments": c.get("args", {})}) + "\n```"
        for c in answer["tool_calls"]
    )
    return {"content": f"I will call the tools.\n{blocks}"}


def _models(responder):
    def factory(name: str | None = None, **_: Any) -> ScriptedChatModel:
        import llm.scripted.roles  # noqa: F401

        return ScriptedChatModel(responder)

    return factory


def test_tool_calls_written_as_text_still_run_every_task(seeded_cdp_path, tmp_path):
    from tests.seeded import seeded_copy

    native_db = seeded_copy(tmp_path)
    native = run(compile_graph(), DEFAULT_OBJECTIVE, native_db, "same")
    texty = run(compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "same", model_factory=_models(_as_text))
    assert native["status"] == texty["status"] == "completed"
    assert set(texty["task_status"].values()) == {"done"}
    assert _outcome(seeded_cdp_path, "same") == _outcome(native_db, "same")


def test_a_plan_with_tasks_and_a_refusal_is_sent_back_not_taken_as_a_refusal(seeded_cdp_path):
    seen: list[str] = []

    def confused_then_clear(request: ScriptedRequest) -> Any:
        answer = default_responder(request)
        if request.role == "supervisor":
            seen.append(request.human_texts()[-1])
            if len(seen) == 1:
                return {**answer, "refusal": "The objective is unclear."}
        return answer

    out = run(
        compile_graph(),
        DEFAULT_OBJECTIVE,
        seeded_cdp_path,
        new_thread(),
        model_factory=_models(confused_then_clear),
    )
    assert out["status"] == "completed"
    assert len(seen) == 2 and "tasks and also a refusal" in seen[1]
