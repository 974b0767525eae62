"""The orchestrator graph: plan once, dispatch many, resolve, launch through the gate, optionally
run the campaign's simulated lifecycle (measure and optimise day by day), synthesize.

`builder` is the uncompiled graph (tests compile it with their own checkpointer); `graph` is the
compiled graph LangGraph Studio loads (`langgraph.json`), without a checkpointer of its own.
"""

from __future__ import annotations

from langgraph.graph import START, StateGraph
from langgraph.types import RetryPolicy

from agents.base import TaskInput
from agents.registry import REGISTRY, validate_registry
from graph.context import Context
from graph.nodes.dispatch import dispatch
from graph.nodes.human import human
from graph.nodes.launch import launch
from graph.nodes.lifecycle import after_day, build_lifecycle_graph
from graph.nodes.resolve import resolve
from graph.nodes.specialists import make_specialist_node, on_specialist_error
from graph.nodes.supervisor import supervisor
from graph.nodes.synthesize import synthesize
from graph.state import InputState, OrchestratorState
from llm.loader import is_transient_error

RECURSION_LIMIT = 200
MODEL_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.2, max_interval=5.0, retry_on=is_transient_error)


def build_graph(
    retry: RetryPolicy = MODEL_RETRY,
) -> StateGraph[OrchestratorState, Context, InputState, OrchestratorState]:
    """The orchestrator; `retry` is the rule for every model step (tests pass one without backoff)."""
    validate_registry()
    g = StateGraph(OrchestratorState, context_schema=Context, input_schema=InputState)
    g.add_node("supervisor", supervisor, retry_policy=retry, destinations=("dispatch", "synthesize"))
    g.add_node(
        "dispatch",
        dispatch,
        destinations=(*REGISTRY, "launch", "resolve", "human", "lifecycle", "synthesize"),
    )
    for name in REGISTRY:
        g.add_node(
            name,
            make_specialist_node(name, retry),
            input_schema=TaskInput,
            error_handler=on_specialist_error,
        )
        g.add_edge(name, "dispatch")
    g.add_node("launch", launch, destinations=("dispatch",))
    g.add_node("resolve", resolve, destinations=("dispatch",))
    g.add_node("human", human, destinations=("dispatch", "synthesize"))
    # One simulated day per step of the orchestrator (clock → wave → deliver → measure → review → guard).
    g.add_node("lifecycle", build_lifecycle_graph(retry))
    g.add_conditional_edges("lifecycle", after_day, ["lifecycle", "synthesize"])
    g.add_node("synthesize", synthesize, retry_policy=retry)
    g.add_edge(START, "supervisor")
    return g


builder = build_graph()
graph = builder.compile(name="cdp-agents").with_config(recursion_limit=RECURSION_LIMIT)
