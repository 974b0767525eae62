"""Model faults through the whole graph: each injected fault is retried, repaired, reassigned or escalated.

The scripted model is wrapped with `with_faults(default_responder, FaultPlan(...))` and patched into the
supervisor and the specialists. Whatever happens, no tool runs with arguments the model never gave
(the tool-call log in agent_messages is checked) and no send ever lacks consent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

import graph.graph as graph_module
from graph.graph import build_graph
from llm.scripted import (
    FaultKind,
    FaultPlan,
    ScriptedChatModel,
    ScriptedRequest,
    default_responder,
    with_faults,
)
from tests.graph.helpers import DEFAULT_OBJECTIVE, messages, run, scalar, send_count, sends_without_consent


def _models(plan: FaultPlan, *, supervisor_too: bool = False) -> Callable[..., ScriptedChatModel]:
    """A model factory: specialists (and the supervisor, if asked) answer through the fault plan."""
    import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

    faulty = with_faults(default_responder, plan)
    spared = {"synthesizer"} if supervisor_too else {"synthesizer", "supervisor"}

    def respond(request: ScriptedRequest) -> Any:
        return default_responder(request) if request.role in spared else faulty(request)

    return lambda name=None, **_: ScriptedChatModel(respond, latency_ms=0)


def _graph():
    fast = graph_module.MODEL_RETRY._replace(initial_interval=0.001, max_interval=0.001, jitter=False)
    return build_graph(retry=fast).compile(checkpointer=InMemorySaver())


def _no_made_up_arguments(db_path, thread: str) -> None:
    """The injected bad argument name never reaches a tool that then reports success."""
    for m in messages(db_path, thread):
        text = str(m["payload"])
        assert "unexpected_argument" not in text or "rror" in text, m
        assert "no_such_tool" not in text or "rror" in text, m


@pytest.mark.parametrize(
    "kind", ["timeout", "rate_limit", "truncated_json", "empty", "unknown_tool", "bad_arguments"]
)
def test_each_fault_kind_on_the_first_specialist_call_is_absorbed(kind: FaultKind, seeded_cdp_path):
    plan = FaultPlan(schedule={0: kind, 3: kind}, roles=frozenset({"audience", "activation", "content"}))
    models = _models(plan)
    thread = f"fault-{kind}"
    state = run(_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, thread, model_factory=models)
    assert plan.injected, "the fault was never injected"
    assert state["status"] == "completed", (kind, state.get("error"), state.get("report"))
    assert send_count(seeded_cdp_path, state["campaign_id"]) > 0
    assert sends_without_consent(seeded_cdp_path) == 0
    _no_made_up_arguments(seeded_cdp_path, thread)


@pytest.mark.parametrize("kind", ["truncated_json", "empty", "unknown_tool", "bad_arguments"])
def test_a_supervisor_that_keeps_failing_gives_a_clear_failure_not_a_guess(kind: FaultKind, seeded_cdp_path):
    """Both planning attempts broken: the run fails with a reason and touches no customer."""
    plan = FaultPlan(rate=1.0, kinds=(kind,), roles=frozenset({"supervisor"}))
    models = _models(plan, supervisor_too=True)
    try:
        state = run(_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, f"sup-{kind}", model_factory=models)
    except Exception as exc:  # a structured-output parser error may surface as an exception
        pytest.fail(f"supervisor fault {kind} crashed the run: {type(exc).__name__}: {exc}")
    assert state["status"] in ("failed", "needs_input", "refused")
    assert state.get("error")
    assert scalar(seeded_cdp_path, "SELECT count(*) FROM sends") == 0


def test_transient_supervisor_faults_are_retried(seeded_cdp_path, monkeypatch):
    plan = FaultPlan(schedule={0: "timeout", 1: "rate_limit"}, roles=frozenset({"supervisor"}))
    models = _models(plan, supervisor_too=True)
    state = run(_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "sup-retry", model_factory=models)
    assert [k for _, k in plan.injected] == ["timeout", "rate_limit"]
    assert state["status"] == "completed", state.get("error")


#: Seeds whose 30% draw injects 2-8 faults of mixed kinds into supervisor and specialist calls.
RATE_SEEDS = [1, 3, 5, 8, 11, 14]


@pytest.mark.parametrize("seed", RATE_SEEDS)
def test_default_objective_completes_at_a_30_percent_failure_rate(seed: int, seeded_cdp_path):
    plan = FaultPlan(seed=seed, rate=0.3)
    models = _models(plan, supervisor_too=True)
    thread = f"rate30-{seed}"
    state = run(_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, thread, model_factory=models)
    assert len(plan.injected) >= 2
    assert state["status"] == "completed", (seed, plan.injected, state.get("error"))
    assert send_count(seeded_cdp_path, state["campaign_id"]) > 0
    assert sends_without_consent(seeded_cdp_path) == 0
    _no_made_up_arguments(seeded_cdp_path, thread)


def test_two_bad_plans_in_a_row_are_repaired_on_the_third_attempt(seeded_cdp_path, monkeypatch):
    """Seed 6 breaks the first two planning answers (empty, then bad arguments); the third plan runs."""
    plan = FaultPlan(seed=6, rate=0.3)
    models = _models(plan, supervisor_too=True)
    state = run(_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "rate30-6", model_factory=models)
    assert [k for _, k in plan.injected[:2]] == ["empty", "bad_arguments"]
    assert state["status"] == "completed", state.get("error")
    assert scalar(seeded_cdp_path, "SELECT count(*) FROM sends") > 0
