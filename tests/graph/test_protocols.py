"""The three protocols: the same objective, the same safety outcome, and each routing rule honoured in
`agent_messages` (hub: via the supervisor; p2p: direct but supervised; blackboard: no direct messages)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.registry import REGISTRY
from cdp.db import cdp_session
from graph.protocols import completion_messages
from llm.scripted import ScriptedChatModel
from tests.graph.helpers import (
    DEFAULT_OBJECTIVE,
    compile_graph,
    messages,
    rows,
    run,
    send_count,
    sends_without_consent,
    suppression_counts,
)
from tests.seeded import seeded_copy

PROTOCOLS = ("hub", "p2p", "blackboard")
THREAD = "protocol-run"  # the same thread id on each copy: same campaign id, same holdout draw
AGENTS = set(REGISTRY)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Any, dict[str, Any]]]:
    graph = compile_graph()
    out = {}
    for protocol in PROTOCOLS:
        path = seeded_copy(tmp_path_factory.mktemp(protocol))
        out[protocol] = (path, run(graph, DEFAULT_OBJECTIVE, path, THREAD, protocol=protocol))
    return out


def _peer(m: dict[str, Any]) -> bool:
    return m["sender"] in AGENTS and m["recipient"] in AGENTS


def test_same_outcome_under_every_protocol(runs):
    outcomes = {}
    for protocol, (path, state) in runs.items():
        assert state["status"] == "completed", (protocol, state["report"])
        campaign = state["campaign_id"]
        assert sends_without_consent(path, campaign) == 0
        sent = {
            (r[0], r[1])
            for r in rows(path, "SELECT profile_id, channel FROM sends WHERE campaign_id = ?", [campaign])
        }
        outcomes[protocol] = (send_count(path, campaign), suppression_counts(path, campaign), sent)
        assert {m["protocol"] for m in messages(path, THREAD)} == {protocol}
    hub = outcomes["hub"]
    assert hub[0] > 0 and hub[1]
    assert outcomes["p2p"] == hub and outcomes["blackboard"] == hub


def test_hub_routes_everything_through_the_supervisor(runs):
    path, _ = runs["hub"]
    log = messages(path, THREAD)
    assert log
    assert all("supervisor" in (m["sender"], m["recipient"]) for m in log if m["recipient"] != "human")
    assert not [m for m in log if _peer(m)]
    # the service agent's pause note reaches activation, forwarded by the supervisor
    forwarded = [
        m
        for m in log
        if m["sender"] == "supervisor"
        and m["recipient"] == "activation"
        and m["payload"].get("forwarded_from") == "service"
    ]
    assert forwarded and forwarded[0]["payload"]["topic"] == "pause_customers"
    # upstream outputs travel inside the supervisor's requests
    request = next(m for m in log if m["kind"] == "request" and m["task_id"] == "activation")
    assert "content" in request["payload"]["inputs"]


def test_p2p_lets_agents_talk_directly_under_supervision(runs):
    path, state = runs["p2p"]
    log = messages(path, THREAD)
    peers = [m for m in log if _peer(m)]
    assert peers
    pause = [
        m for m in peers if (m["kind"], m["sender"], m["recipient"]) == ("status", "service", "activation")
    ]
    assert pause and pause[0]["payload"]["topic"] == "pause_customers"
    assert all(m["payload"].get("observed_by") == "supervisor" for m in peers if m["kind"] == "status")
    # hand-offs: each finished task sends its outputs to the agents of the tasks that depend on it
    handoffs = {(m["task_id"], m["payload"]["for_task"]) for m in peers if m["kind"] == "response"}
    plan = state["plan"]
    agent_of = {t["id"]: t["agent"] for t in plan}
    expected = {(dep, t["id"]) for t in plan for dep in t["depends_on"] if agent_of[dep] != t["agent"]}
    assert handoffs == expected
    # the supervisor still hears every task's result, and no vetoed message was delivered
    assert {m["task_id"] for m in log if m["kind"] == "response" and m["recipient"] == "supervisor"} == set(
        agent_of
    )
    _assert_no_vetoed_delivery(log)
    request = next(m for m in log if m["kind"] == "request" and m["task_id"] == "activation")
    assert "inputs" not in request["payload"] and "content" in request["payload"]["inputs_from"]


def test_blackboard_has_no_direct_messages_only_notes(runs):
    path, state = runs["blackboard"]
    log = messages(path, THREAD)
    assert not [m for m in log if _peer(m)]
    assert all("supervisor" in (m["sender"], m["recipient"]) for m in log)
    notes = rows(path, "SELECT task_id, agent, key, value FROM task_notes WHERE thread_id = ?", [THREAD])
    by_task: dict[str, dict[str, Any]] = {}
    for n in notes:
        by_task.setdefault(n["task_id"], {})[n["key"]] = json.loads(n["value"])
    done = {tid for tid, s in state["task_status"].items() if s == "done"}
    assert done and set(by_task) == done
    assert all("outputs" in keys for keys in by_task.values())
    assert (
        by_task["audience"]["outputs"]["segment_id"] == state["results"]["audience"]["outputs"]["segment_id"]
    )
    pause_notes = [v for k, v in by_task["service"].items() if k.startswith("note_")]
    assert pause_notes and pause_notes[0]["topic"] == "pause_customers"
    # requests carry no outputs: agents read them from the board
    for m in log:
        if m["kind"] == "request":
            assert "inputs" not in m["payload"]


def _assert_no_vetoed_delivery(log: list[dict[str, Any]]) -> None:
    for veto in (m for m in log if m["payload"].get("vetoed")):
        note = veto["payload"]["vetoed"]
        delivered = [
            m
            for m in log
            if m["sender"] == veto["recipient"]
            and m["recipient"] == note["recipient"]
            and m["payload"].get("topic") == note["topic"]
        ]
        assert not delivered, veto


def test_p2p_vetoes_a_message_to_someone_who_is_not_an_agent(seeded_cdp_path):
    """A peer note to an address outside the registry is stopped by the supervisor, not delivered."""
    from llm.scripted import default_responder

    def responder(request: Any) -> Any:
        answer: Any = default_responder(request)
        if request.role == "service":
            for call in answer["tool_calls"]:
                if call["name"] == "notify":
                    call["args"]["recipient"] = "all_customers"
        return answer

    state = run(
        compile_graph(),
        DEFAULT_OBJECTIVE,
        seeded_cdp_path,
        "veto-1",
        protocol="p2p",
        model_factory=lambda name=None, **_: ScriptedChatModel(responder),
    )
    assert state["status"] == "completed"
    log = messages(seeded_cdp_path, "veto-1")
    assert not [m for m in log if m["recipient"] == "all_customers"]
    vetoes = [m for m in log if m["payload"].get("vetoed")]
    assert len(vetoes) == 1 and vetoes[0]["recipient"] == "service"
    assert vetoes[0]["payload"]["vetoed"]["recipient"] == "all_customers"


@pytest.mark.parametrize(
    ("protocol", "topic", "recipient", "delivered"),
    [
        ("p2p", "pause_customers", "activation", True),
        ("p2p", "discount_override", "activation", False),
        ("p2p", "note", "human", False),
        ("hub", "pause_customers", "activation", False),
        ("blackboard", "pause_customers", "activation", False),
    ],
)
def test_peer_note_routing_rule(seeded_cdp_path, protocol, topic, recipient, delivered):
    """The routing rule itself, for notes the tools would never let through (a topic outside the list)."""
    outbox = [{"recipient": recipient, "topic": topic, "note": "x", "data": {}}]
    task = {"id": "service", "agent": "service", "goal": "g"}
    result = {"summary": "s", "status": "done", "outputs": {}}
    with cdp_session(str(seeded_cdp_path)) as db:
        completion_messages(db, protocol, f"route-{protocol}-{topic}", task, "service", result, outbox, [])
    log = messages(seeded_cdp_path, f"route-{protocol}-{topic}")
    direct = [m for m in log if (m["sender"], m["recipient"]) == ("service", recipient)]
    assert bool(direct) is delivered
    if protocol == "p2p" and not delivered:
        assert [m for m in log if m["payload"].get("vetoed")]
