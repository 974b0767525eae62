"""The lifecycle subgraph step by step: each step is drawn and checkpointed, a review's transient model
error is retried by the review step's RetryPolicy, and a review that keeps failing is recorded (state,
agent messages, report) while the campaign goes on under the guard.

Faults are injected through the run's model factory (`Context(model_factory=...)`), on the
optimization agent's daily review only; planning, the tasks and the report keep the normal scripted model.
"""

from __future__ import annotations

import json
import threading
from itertools import pairwise
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

import graph.graph as graph_module
from graph.graph import build_graph, graph
from graph.nodes.lifecycle import STEPS
from llm.scripted import ScriptedTimeoutError
from tests.graph.helpers import FaultyModels, rows, run, scalar
from tests.seeded import seeded_copy

BROAD = "grow revenue with a 10% discount for all customers by email and push"
WHOLE_BASE = 1.0
DAYS = 2
THREAD = "steps"

pytestmark = pytest.mark.xdist_group("lifecycle")


def _is_review(request, agent: str) -> bool:
    return request.role == agent and any("of the running campaign" in t for t in request.human_texts())


class Reviews(FaultyModels):
    """Scripted lifecycle models whose optimization review raises `error` on the calls `fail_on` picks."""

    def __init__(self, error: BaseException | None, fail_on=lambda n: True):
        self.review_calls = 0
        self.failed = 0
        lock = threading.Lock()

        def fails(request, _n: int) -> BaseException | None:
            if error is None or not _is_review(request, "optimization"):
                return None
            with lock:
                k = self.review_calls
                self.review_calls += 1
                if fail_on(k):
                    self.failed += 1
                    return error
            return None

        super().__init__(fails)


def _graph():
    fast = graph_module.MODEL_RETRY._replace(initial_interval=0.001, max_interval=0.001, jitter=False)
    return build_graph(retry=fast).compile(checkpointer=InMemorySaver())


def _run(tmp_path, models: Reviews) -> tuple[Any, dict[str, Any], Any]:
    path = seeded_copy(tmp_path)
    compiled = _graph()
    out = run(
        compiled,
        BROAD,
        path,
        THREAD,
        audience_warn_share=WHOLE_BASE,
        simulate_days=DAYS,
        model_factory=models,
    )
    return path, out, compiled


def _cdp(path) -> dict[str, Any]:
    return {
        "results": [
            tuple(r) for r in rows(path, "SELECT day, treated_n, holdout_n, lift FROM campaign_results")
        ],
        "adjustments": [
            tuple(r) for r in rows(path, "SELECT day, action, target, decided_by FROM campaign_adjustments")
        ],
        "sends": scalar(path, "SELECT count(*) FROM sends WHERE status = 'delivered'"),
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path, out, _ = _run(tmp_path_factory.mktemp("ref"), Reviews(None))
    assert out["status"] == "completed" and out["lifecycle"]["day"] == DAYS
    return out, _cdp(path)


def test_studio_draws_the_steps_in_order_and_the_daily_loop():
    drawn = graph.get_graph(xray=True)
    steps = [f"lifecycle:{s}" for s in ("clock", "wave", "deliver", "measure", "review", "guard")]
    assert set(steps) <= set(drawn.nodes)
    edges = {(e.source, e.target) for e in drawn.edges}
    assert set(pairwise(steps)) <= edges
    assert ("dispatch", steps[0]) in edges
    assert {(steps[-1], steps[0]), (steps[-1], "synthesize")} <= edges


def test_every_step_of_every_day_is_checkpointed(tmp_path, reference):
    _, out, compiled = _run(tmp_path, Reviews(None))
    checkpoints: dict[str, int] = {}
    triggered: dict[str, set[str]] = {}
    for tup in compiled.checkpointer.list({"configurable": {"thread_id": THREAD}}):
        ns = tup.config["configurable"].get("checkpoint_ns", "")
        if ns.startswith("lifecycle:"):
            checkpoints[ns] = checkpoints.get(ns, 0) + 1
            triggered.setdefault(ns, set()).update(
                c.removeprefix("branch:to:")
                for c in tup.checkpoint["channel_versions"]
                if c.startswith("branch:to:")
            )
    assert len(checkpoints) == DAYS  # one subgraph run per simulated day
    steps = set(STEPS)
    for ns, n in checkpoints.items():
        assert triggered[ns] == steps, ns
        assert n >= len(steps) + 1, (ns, n)  # the input, then one checkpoint after each step
    assert out["lifecycle"] == reference[0]["lifecycle"]


def test_a_transient_review_error_is_retried_and_changes_nothing(tmp_path, reference):
    models = Reviews(ScriptedTimeoutError("timed out"), fail_on=lambda n: n == 0)
    path, out, _ = _run(tmp_path, models)
    ref_out, ref_cdp = reference
    assert models.failed == 1 and models.review_calls >= DAYS + 1  # the timeout, then the retry
    assert out["status"] == "completed"
    assert out["lifecycle"] == ref_out["lifecycle"] and "review_failures" not in out["lifecycle"]
    assert out["llm_calls"] == ref_out["llm_calls"]
    assert _cdp(path) == ref_cdp
    failed = scalar(path, "SELECT count(*) FROM agent_messages WHERE task_id LIKE 'day%-optimization'")
    assert failed == 0


@pytest.mark.parametrize(
    "error, attempts",
    [(RuntimeError("the optimizer is down"), 1), (ScriptedTimeoutError("timed out"), None)],
    ids=["permanent", "transient-every-time"],
)
def test_a_review_that_keeps_failing_is_recorded_and_the_campaign_goes_on(
    tmp_path, reference, error, attempts
):
    models = Reviews(error)
    path, out, _ = _run(tmp_path, models)
    attempts = attempts or graph_module.MODEL_RETRY.max_attempts
    # a permanent error is not retried; a transient one is, up to the policy's attempts, every day
    assert models.review_calls == models.failed == attempts * DAYS
    assert out["status"] == "completed"
    info = out["lifecycle"]
    assert info["day"] == DAYS
    assert [(f["day"], f["agent"]) for f in info["review_failures"]] == [
        (d, "optimization") for d in range(1, DAYS + 1)
    ]
    assert all(type(error).__name__ in f["error"] for f in info["review_failures"])
    # recorded as a failed status message, the way a failed task is
    logged = rows(
        path,
        "SELECT task_id, sender, payload FROM agent_messages WHERE kind = 'status' AND task_id LIKE 'day%-optimization'",
    )
    assert [r["task_id"] for r in logged] == [f"day{d}-optimization" for d in range(1, DAYS + 1)]
    assert all(json.loads(r["payload"])["status"] == "failed" for r in logged)
    assert len([m for m in out["messages"] if str(m.get("task_id")).endswith("-optimization")]) == DAYS
    # the analytics review still ran, the guard still measured every day, the model changed nothing
    assert scalar(path, "SELECT count(*) FROM campaign_results") == DAYS
    assert scalar(path, "SELECT count(*) FROM campaign_adjustments WHERE decided_by = 'optimization'") == 0
    day_logs = rows(path, "SELECT payload FROM agent_messages WHERE task_id LIKE 'day_' ORDER BY message_id")
    reviews = [json.loads(r["payload"])["reviews"] for r in day_logs]
    assert [r["analytics"]["status"] for r in reviews] == ["done"] * DAYS
    assert [r["optimization"]["status"] for r in reviews] == ["failed"] * DAYS
    assert "Reviews that failed" in out["report"] and "day 1, optimization" in out["report"]
