"""The compiled graph's shape: a mermaid snapshot (rewrite with UPDATE_SNAPSHOTS=1), and the nodes and
edges Studio must show: the supervisor, the dispatcher, one node per registered agent, and the rest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agents.registry import REGISTRY
from graph.graph import RECURSION_LIMIT, graph

SNAPSHOT = Path(__file__).with_name("graph.mmd")
CORE = {"supervisor", "dispatch", "synthesize", "launch", "resolve", "human", "lifecycle"}


def test_mermaid_matches_the_snapshot():
    drawn = graph.get_graph().draw_mermaid()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(drawn, encoding="utf-8")
    if not SNAPSHOT.exists():
        pytest.fail(f"no snapshot at {SNAPSHOT}: run with UPDATE_SNAPSHOTS=1 once and review the file")
    assert drawn == SNAPSHOT.read_text(encoding="utf-8"), (
        "the graph changed; if on purpose, rerun with UPDATE_SNAPSHOTS=1 and review the diff of graph.mmd"
    )


def test_nodes_are_the_core_plus_one_per_registered_agent():
    nodes = set(graph.get_graph().nodes) - {"__start__", "__end__"}
    handlers = {n for n in nodes if n.startswith("__error_handler__")}
    assert nodes - handlers == CORE | set(REGISTRY)
    # every specialist, and only specialists, has an error handler (a failure becomes a status message)
    assert handlers == {f"__error_handler__{agent}" for agent in REGISTRY}
    assert len(REGISTRY) >= 9


def test_edges_studio_shows():
    edges = {(e.source, e.target) for e in graph.get_graph().edges}
    assert ("__start__", "supervisor") in edges
    assert {("supervisor", "dispatch"), ("supervisor", "synthesize")} <= edges
    assert ("synthesize", "__end__") in edges
    for agent in REGISTRY:
        assert ("dispatch", agent) in edges, agent
        assert (agent, "dispatch") in edges, agent
    for node in ("launch", "resolve", "human"):
        assert ("dispatch", node) in edges and (node, "dispatch") in edges
    assert ("human", "synthesize") in edges and ("dispatch", "synthesize") in edges


def test_graph_studio_loads_has_an_explicit_recursion_limit_and_no_checkpointer():
    assert (graph.config or {})["recursion_limit"] == RECURSION_LIMIT <= 1000
    assert graph.checkpointer is None
    assert graph.name == "cdp-agents"


def test_the_settings_form_studio_shows_builds_and_leaves_out_the_model_factory():
    form = graph.get_context_jsonschema()
    assert form is not None and {"model", "db_path", "max_agent_steps", "max_task_attempts"} <= set(
        form["properties"]
    )
    assert "model_factory" not in form["properties"]  # injected in code, never typed into a form
