"""Specialists are compiled subgraphs: every model and tool step is a checkpointed superstep of its own.

What that buys, each proved here on the real graph with the scripted model at the LLM boundary:
- Studio draws each specialist's steps (`model` ⇄ `tools`);
- a transient error is retried on the step that failed, not by re-running the task;
- a crash in the middle of a task resumes at the step it stopped on;
- the step budget is LangGraph's recursion limit and stops a model that never finishes;
- a task's tools share one CDP connection.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

import graph.graph as graph_module
from agents.registry import REGISTRY
from cdp import tools_base
from graph.graph import build_graph, graph
from llm.scripted import ScriptedChatModel, ScriptedRequest, ScriptedTimeoutError
from tests.graph.helpers import (
    DEFAULT_OBJECTIVE,
    compile_graph,
    config_for,
    messages,
    one_tool_per_turn,
    run,
    send_count,
)

STEPS = ("model", "tools")


class Counted:
    """A model factory counting model calls per role; `fault(request, n)` may raise instead.

    The audience agent calls one tool per turn, so its task takes several model steps.
    """

    def __init__(self, fault=None):
        self.fault = fault
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def respond(self, request: ScriptedRequest) -> Any:
        role = request.role or ""
        with self._lock:
            n = self.calls.get(role, 0)
            self.calls[role] = n + 1
        error = self.fault(request, n) if self.fault else None
        if error is not None:
            raise error
        return one_tool_per_turn(request, roles=("audience",))

    def __call__(self, name: str | None = None, **_: Any) -> ScriptedChatModel:
        import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

        return ScriptedChatModel(self.respond, latency_ms=0)


def _fast_graph():
    fast = graph_module.MODEL_RETRY._replace(initial_interval=0.001, max_interval=0.001, jitter=False)
    return build_graph(retry=fast).compile(checkpointer=InMemorySaver())


def test_studio_draws_every_specialists_steps():
    drawn = graph.get_graph(xray=True)
    for agent in REGISTRY:
        for step in STEPS:
            assert f"{agent}:{step}" in drawn.nodes, (agent, step)
        edges = {(e.source, e.target) for e in drawn.edges}
        assert (f"{agent}:model", f"{agent}:tools") in edges
        assert (f"{agent}:tools", f"{agent}:model") in edges


def test_every_model_and_tool_step_is_checkpointed(seeded_cdp_path):
    saver = InMemorySaver()
    thread = "sub-ckpt"
    state = run(compile_graph(saver), DEFAULT_OBJECTIVE, seeded_cdp_path, thread, model_factory=Counted())
    assert state["status"] == "completed"
    audience_calls = state["results"]["audience"]["llm_calls"]
    assert audience_calls >= 2
    steps: dict[str, int] = {}
    for item in saver.list(config_for(thread)):
        ns = item.config["configurable"].get("checkpoint_ns", "")
        if ns.startswith("audience:"):
            source = (item.metadata or {}).get("step")
            steps[ns] = max(steps.get(ns, -1), int(source if source is not None else -1))
    (last_step,) = steps.values()  # one audience task, one subgraph namespace
    # model + tools per model call: every step left a checkpoint (steps count from 0)
    assert last_step >= 2 * audience_calls - 1


def test_a_transient_error_is_retried_on_its_step_only(seeded_cdp_path):
    # The audience's second model call times out once; its first call (and its tools) are not redone.
    faults = Counted(
        lambda r, n: ScriptedTimeoutError("timed out") if r.role == "audience" and n == 1 else None
    )
    state = run(_fast_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "sub-retry", model_factory=faults)
    assert state["status"] == "completed", state.get("report")
    calls = state["results"]["audience"]["llm_calls"]
    assert faults.calls["audience"] == calls + 1  # one extra call: the retried step, nothing more
    assert state["assignments"].get("audience", ["audience"]) == ["audience"]


class Crash(BaseException):
    """Stands in for the process dying: nothing in the graph catches it."""


def test_a_crash_mid_task_resumes_at_the_step_it_stopped_on(seeded_cdp_path):
    crashed = threading.Event()

    def fault(request: ScriptedRequest, n: int) -> BaseException | None:
        if request.role == "audience" and n == 1 and not crashed.is_set():
            crashed.set()
            return Crash()
        return None

    models = Counted(fault)
    g = compile_graph(InMemorySaver())
    thread = "sub-crash"
    with pytest.raises(Crash):
        run(g, DEFAULT_OBJECTIVE, seeded_cdp_path, thread, model_factory=models)
    before = models.calls["audience"]
    assert before == 2  # the first call finished (and was checkpointed), the second crashed
    state = run(g, None, seeded_cdp_path, thread, model_factory=models)
    assert state["status"] == "completed", state.get("report")
    calls = state["results"]["audience"]["llm_calls"]
    # resumed at the crashed step: the first model call was not made again
    assert models.calls["audience"] == calls + 1
    assert send_count(seeded_cdp_path, state["campaign_id"]) > 0


def test_the_step_budget_stops_a_model_that_never_finishes(seeded_cdp_path):
    def stalls(request: ScriptedRequest, n: int):
        return None

    class NeverFinishes(Counted):
        def respond(self, request: ScriptedRequest) -> Any:
            if request.role != "content":
                return super().respond(request)
            with self._lock:
                self.calls["content"] = self.calls.get("content", 0) + 1
            return {"content": "", "tool_calls": [{"name": "segment_summary", "args": {"segment_id": "x"}}]}

    models = NeverFinishes(stalls)
    state = run(
        compile_graph(),
        DEFAULT_OBJECTIVE,
        seeded_cdp_path,
        "sub-budget",
        model_factory=models,
        max_agent_steps=3,
    )
    # the content agent got exactly its budget of model calls, then failed; its fallback took over
    assert models.calls["content"] == 3
    (failed,) = [m for m in messages(seeded_cdp_path, "sub-budget") if m["payload"].get("status") == "failed"]
    assert failed["sender"] == "content" and failed["task_id"] == "content"
    assert (
        "StepBudgetExceeded" in failed["payload"]["error"] and "3 model calls" in failed["payload"]["error"]
    )
    assert state["assignments"]["content"] == ["content", REGISTRY["content"].fallback]
    assert state["results"]["content"]["agent"] == REGISTRY["content"].fallback


def test_a_tasks_tools_share_one_connection(seeded_cdp_path, monkeypatch):
    opened: list[str] = []
    real = tools_base.open_cdp

    def counting(path, **kwargs):
        opened.append(str(path))
        return real(path, **kwargs)

    monkeypatch.setattr(tools_base, "open_cdp", counting)
    state = run(compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "sub-conn")
    assert state["status"] == "completed"
    tool_calls = sum(len(r.get("tools") or []) for r in state["results"].values())
    tasks_with_cdp_tools = len(state["results"])
    assert tool_calls > 2 * tasks_with_cdp_tools  # several tool calls per task ...
    assert len(opened) <= tasks_with_cdp_tools  # ... and at most one connection per task
    assert not tools_base._OPEN  # every task closed its connection
