"""Conflicts between agents' proposals: detected in code, resolved by priority rule, then by expected
value, then by a person, and recorded in the `conflicts` table, the campaign and the report."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langgraph.types import Command

from graph.conflicts import open_conflicts
from llm.scripted import ScriptedChatModel, default_responder
from tests.graph.helpers import (
    HIGH_VALUE_SQL,
    campaign_of,
    compile_graph,
    ids,
    messages,
    rows,
    run,
    scalar,
    segment_members,
    sends_without_consent,
)

OBJECTIVE = "grow holiday revenue from premium customers with a $2,000 budget"


def _conflict_rows(path: Any, thread: str) -> list[dict[str, Any]]:
    found = rows(path, "SELECT * FROM conflicts WHERE thread_id = ?", [thread])
    return [
        {**dict(r), "proposals": json.loads(r["proposals"]), "resolution": json.loads(r["resolution"])}
        for r in found
    ]


def _proposal(state: dict[str, Any], agent: str) -> dict[str, Any]:
    return next(p for p in state["proposals"] if p["agent"] == agent)


@pytest.mark.xdist_group("cdp10k")
def test_worked_example_budget_beats_growth_by_rule(tmp_path):
    """10,000 customers, so growth's wider audience costs more than $2,000 at the forecast price."""
    from tests.seeded import seeded_copy

    path = seeded_copy(tmp_path, customers=10_000, seed=7)
    thread = "conflict-rule"
    state = run(compile_graph(), OBJECTIVE, path, thread)
    assert state["status"] == "completed", state["report"]
    budget, growth = _proposal(state, "budget"), _proposal(state, "growth")
    forecast = state["results"]["budget"]["outputs"]
    affordable = forecast["max_affordable_audience"]
    premium = ids(path, "SELECT profile_id FROM customer_360 WHERE tier = 'premium'")
    wider = ids(
        path, f"SELECT profile_id FROM customer_360 WHERE tier IN ('premium', 'vip') OR {HIGH_VALUE_SQL}"
    )
    assert growth["value"] == len(wider) > affordable, "growth asks for more than the budget buys"
    assert budget["value"] == min(affordable, len(premium)) < growth["value"]

    # detected and resolved by the default priority rule: budget beats growth
    (resolution,) = state["resolutions"]
    assert resolution["decision_key"] == "audience_size"
    assert (resolution["winner"], resolution["resolved_by"]) == ("budget", "rule")
    assert resolution["value"] == budget["value"]
    assert "budget > growth" in resolution["reasons"]
    (row,) = _conflict_rows(path, thread)
    assert row["conflict_id"] == resolution["conflict_id"]
    assert (row["winner"], row["resolved_by"], row["resolution"]) == ("budget", "rule", budget["value"])
    assert {p["agent"]: p["value"] for p in row["proposals"]} == {
        "budget": budget["value"],
        "growth": growth["value"],
    }
    # applied to the campaign, and the campaign stays inside it and inside the budget
    campaign = campaign_of(path, thread)
    assert campaign["max_audience"] == budget["value"]
    assert segment_members(path, campaign["segment_id"]) == premium
    sends = rows(path, "SELECT profile_id, cost FROM sends WHERE campaign_id = ?", [campaign["campaign_id"]])
    assert 0 < len(sends) <= campaign["max_audience"]
    assert {r["profile_id"] for r in sends} <= premium
    assert sum(r["cost"] for r in sends) <= campaign["budget"] == 2000
    assert sends_without_consent(path, campaign["campaign_id"]) == 0
    # shown in the report and the message log
    assert "## Conflicts between agents" in state["report"]
    assert f"Decision: budget ({budget['value']:g}), by rule" in state["report"]
    notes = [m for m in messages(path, thread) if m["payload"].get("conflict") == row["conflict_id"]]
    assert len(notes) == 1 and notes[0]["recipient"] == "budget"


def test_rule_order_is_a_setting(seeded_cdp_path):
    thread = "conflict-growth-first"
    state = run(
        compile_graph(), OBJECTIVE, seeded_cdp_path, thread, priority_rules="compliance,growth,budget"
    )
    (resolution,) = state["resolutions"]
    assert (resolution["winner"], resolution["resolved_by"]) == ("growth", "rule")
    growth = _proposal(state, "growth")["value"]
    assert campaign_of(seeded_cdp_path, thread)["max_audience"] == growth
    assert _conflict_rows(seeded_cdp_path, thread)[0]["winner"] == "growth"


#: What budget and growth measure before they take a position, and the value they then propose.
MEASURE = {
    "budget": ("forecast_cost", lambda r: min(r["max_affordable_audience"], r["audience_size"])),
    "growth": ("count_audience", lambda r: r["size"]),
}


def _tool_results(request: Any) -> dict[str, Any]:
    names = {c["id"]: c["name"] for m in request.messages for c in getattr(m, "tool_calls", None) or []}
    out: dict[str, Any] = {}
    for m in request.messages:
        if isinstance(m, ToolMessage) and m.status != "error":
            out[names.get(m.tool_call_id, "")] = json.loads(m.text)
    return out


def _with_expected_values(values: dict[str, float]) -> Callable[..., ScriptedChatModel]:
    """Budget and growth measure, then propose with an expected value (as a real model may do)."""

    def responder(request: Any) -> Any:
        answer: Any = default_responder(request)
        if request.role not in values:
            return answer
        tool, value_of = MEASURE[request.role]
        measured = _tool_results(request).get(tool)
        if measured is None:  # first turn: measure, and wait for the result before proposing
            return {"content": "", "tool_calls": [c for c in answer["tool_calls"] if c["name"] == tool]}
        proposal = {
            "decision_key": "audience_size",
            "value": value_of(measured),
            "rationale": "measured",
            "expected_value": values[request.role],
        }
        return {
            "content": "",
            "tool_calls": [
                {"name": "propose", "args": proposal},
                {"name": "finish", "args": {"summary": "proposed"}},
            ],
        }

    return lambda name=None, **_: ScriptedChatModel(responder)


@pytest.mark.parametrize(
    ("values", "winner"),
    [({"budget": 900.0, "growth": 1500.0}, "growth"), ({"budget": 1200.0, "growth": 300.0}, "budget")],
)
def test_score_decides_when_no_rule_covers_both(seeded_cdp_path, values, winner):
    thread = f"conflict-score-{winner}"
    state = run(
        compile_graph(),
        OBJECTIVE,
        seeded_cdp_path,
        thread,
        priority_rules="compliance,service",
        model_factory=_with_expected_values(values),
    )
    assert state["status"] == "completed"
    (resolution,) = state["resolutions"]
    assert (resolution["winner"], resolution["resolved_by"]) == (winner, "score")
    assert f"{values[winner]:.2f}" in resolution["reasons"]
    assert campaign_of(seeded_cdp_path, thread)["max_audience"] == _proposal(state, winner)["value"]
    assert _conflict_rows(seeded_cdp_path, thread)[0]["resolved_by"] == "score"
    assert "by score" in state["report"]
    assert {p["agent"]: p["expected_value"] for p in state["proposals"]} == values


def test_without_rule_or_score_an_automatic_run_takes_the_smaller_value(seeded_cdp_path):
    thread = "conflict-default"
    state = run(compile_graph(), OBJECTIVE, seeded_cdp_path, thread, priority_rules="compliance")
    (resolution,) = state["resolutions"]
    assert resolution["resolved_by"] == "conservative-default"
    smaller = min(p["value"] for p in state["proposals"])
    assert resolution["value"] == smaller
    assert campaign_of(seeded_cdp_path, thread)["max_audience"] == smaller


def test_without_rule_or_score_a_person_decides(seeded_cdp_path):
    graph = compile_graph()
    thread = "conflict-human"
    settings: dict[str, Any] = {
        "approval": "ask",
        "approval_threshold": 10**6,
        "priority_rules": "compliance",
    }
    state = run(graph, OBJECTIVE, seeded_cdp_path, thread, **settings)
    (interrupt,) = state["__interrupt__"]
    question = interrupt.value
    assert question["kind"] == "conflict"
    assert sorted(question["options"]) == ["budget", "growth"]
    assert {p["agent"] for p in question["proposals"]} == {"budget", "growth"}
    assert "audience_size" in question["question"]
    # nothing decided, nothing sent while the person thinks
    assert not _conflict_rows(seeded_cdp_path, thread)
    assert campaign_of(seeded_cdp_path, thread)["max_audience"] is None
    assert (
        scalar(seeded_cdp_path, "SELECT count(*) FROM sends WHERE campaign_id = ?", [state["campaign_id"]])
        == 0
    )

    state = run(graph, Command(resume="budget"), seeded_cdp_path, thread, **settings)
    assert state["status"] == "completed", state["report"]
    (resolution,) = state["resolutions"]
    assert (resolution["winner"], resolution["resolved_by"]) == ("budget", "human")
    budget = _proposal(state, "budget")["value"]
    assert campaign_of(seeded_cdp_path, thread)["max_audience"] == budget
    (row,) = _conflict_rows(seeded_cdp_path, thread)
    assert (row["winner"], row["resolved_by"]) == ("budget", "human")
    assert "a person chose budget" in state["report"]


def test_detection_tolerates_small_differences():
    def prop(agent: str, value: float) -> dict[str, Any]:
        return {"agent": agent, "decision_key": "audience_size", "value": value}

    assert open_conflicts([prop("budget", 1000), prop("growth", 1040)], []) == []
    found = open_conflicts([prop("budget", 1000), prop("growth", 1100)], [])
    assert len(found) == 1 and found[0]["decision_key"] == "audience_size"
    # a later proposal by the same agent replaces its earlier one; a resolved conflict stays closed
    assert open_conflicts([prop("budget", 1000), prop("growth", 1100), prop("growth", 1010)], []) == []
    assert (
        open_conflicts(
            [prop("budget", 1000), prop("growth", 1100)], [{"conflict_id": found[0]["conflict_id"]}]
        )
        == []
    )
    # one agent alone is never a conflict, whatever it proposes
    assert open_conflicts([prop("budget", 1), prop("budget", 10**6)], []) == []
