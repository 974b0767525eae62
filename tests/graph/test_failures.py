"""Failure handling per task, in order: retry (RetryPolicy), reassign to the fallback, escalate to a person.

Faults are injected through the run's model factory (`Context(model_factory=...)`); the supervisor
and synthesizer keep the normal scripted model, so a plan and a report always exist.
"""

from __future__ import annotations

import json

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from typer.testing import CliRunner

import graph.graph as graph_module
from agents.registry import fallback_of
from graph.graph import build_graph
from llm.scripted import ScriptedTimeoutError
from tests.graph.helpers import (
    DEFAULT_OBJECTIVE,
    FaultyModels,
    campaign_of,
    compile_graph,
    messages,
    run,
    scalar,
    send_count,
    sends_without_consent,
)


def _fast_retry_graph():
    """The real graph with the real retry rule (`retry_on`, attempts), minus the backoff sleeps."""
    fast = graph_module.MODEL_RETRY._replace(initial_interval=0.001, max_interval=0.001, jitter=False)
    return build_graph(retry=fast).compile(checkpointer=InMemorySaver())


def test_transient_fault_is_retried_by_the_retry_policy(seeded_cdp_path, monkeypatch):
    faults = FaultyModels(
        lambda r, n: ScriptedTimeoutError("timed out") if r.role == "activation" and n == 0 else None
    )
    state = run(compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "retry-1", model_factory=faults)
    assert state["status"] == "completed", state["report"]
    assert faults.calls.count("activation") == 2  # the timeout, then the retry that worked
    assert state["results"]["activation"]["agent"] == "activation"
    assert state["assignments"]["activation"] == ["activation"]
    log = messages(seeded_cdp_path, "retry-1")
    assert not [m for m in log if m["payload"].get("status") == "failed"]
    assert send_count(seeded_cdp_path, state["campaign_id"]) > 0


def test_exhausted_retries_then_the_fallback_takes_over(seeded_cdp_path, monkeypatch):
    faults = FaultyModels(lambda r, n: ScriptedTimeoutError("timed out") if r.role == "activation" else None)
    state = run(_fast_retry_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "retry-2", model_factory=faults)
    assert faults.calls.count("activation") == graph_module.MODEL_RETRY.max_attempts
    assert state["status"] == "completed"
    assert state["assignments"]["activation"] == ["activation", fallback_of("activation")]


def test_permanent_failure_is_reassigned_to_the_fallback(seeded_cdp_path, monkeypatch):
    faults = FaultyModels(
        lambda r, n: RuntimeError("activation model is down") if r.role == "activation" else None
    )
    thread = "fallback-1"
    state = run(compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, thread, model_factory=faults)
    fallback = fallback_of("activation")
    assert fallback is not None
    assert state["status"] == "completed", state["report"]
    assert faults.calls.count("activation") == 1  # not transient: no retry, straight to the fallback
    assert state["assignments"]["activation"] == ["activation", fallback]
    assert state["results"]["activation"]["agent"] == fallback
    assert state["replans"] == 1

    log = messages(seeded_cdp_path, thread)
    failed = [
        m
        for m in log
        if m["kind"] == "status" and m["sender"] == "activation" and m["payload"].get("status") == "failed"
    ]
    assert len(failed) == 1 and "activation model is down" in failed[0]["payload"]["error"]
    reassigned = [m for m in log if m["kind"] == "status" and "reassigned" in m["payload"].get("summary", "")]
    assert len(reassigned) == 1
    assert (reassigned[0]["sender"], reassigned[0]["recipient"]) == ("supervisor", fallback)
    assert log.index(failed[0]) < log.index(reassigned[0])
    request = [m for m in log if m["kind"] == "request" and m["task_id"] == "activation"]
    assert [m["recipient"] for m in request] == ["activation", fallback]

    sends = send_count(seeded_cdp_path, state["campaign_id"])
    assert sends > 0 and sends == state["launch"]["scheduled"]
    assert sends_without_consent(seeded_cdp_path, state["campaign_id"]) == 0
    assert f"| activation | {fallback} |" in state["report"]


def test_max_task_attempts_bounds_the_agents_tried_before_a_person(seeded_cdp_path):
    """With one attempt per task there is no fallback: the failed task goes straight to a person."""
    faults = FaultyModels(
        lambda r, n: RuntimeError("activation model is down") if r.role == "activation" else None
    )
    thread = "attempts-1"
    state = run(
        compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, thread, model_factory=faults, max_task_attempts=1
    )
    assert faults.calls.count("activation") == 1
    assert fallback_of("activation") not in faults.calls
    assert state["assignments"].get("activation", ["activation"]) == ["activation"]
    assert state["task_status"]["activation"] == "failed" and state["status"] == "failed"
    assert [e["task_id"] for e in state["escalations"]] == ["activation"]
    assert send_count(seeded_cdp_path, state["campaign_id"]) == 0


def test_failure_keeps_the_results_of_finished_tasks(seeded_cdp_path, monkeypatch):
    """content fails, and so does its fallback: what finished stays, what depends on it is skipped."""
    broken = {"content", fallback_of("content")}
    faults = FaultyModels(lambda r, n: RuntimeError(f"{r.role} is down") if r.role in broken else None)
    state = run(compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "partial-1", model_factory=faults)
    assert state["status"] == "failed"
    status = state["task_status"]
    assert status["audience"] == status["baseline"] == status["service"] == "done"
    assert status["content"] == "failed"
    assert status["activation"] == status["results"] == "skipped"
    for tid in ("audience", "baseline", "service"):
        assert state["results"][tid]["status"] == "done" and state["results"][tid]["outputs"]
    assert state["escalations"] == [
        {"task_id": "content", "decision": "skip", "error": state["results"]["content"]["error"]}
    ]
    assert send_count(seeded_cdp_path, state["campaign_id"]) == 0
    assert campaign_of(seeded_cdp_path, "partial-1")["status"] == "failed"
    assert "## What failed" in state["report"] and "task content" in state["report"]


def _all_fail() -> FaultyModels:
    return FaultyModels(lambda r, n: RuntimeError(f"the {r.role} model is unreachable"))


def test_every_agent_failing_ends_failed_with_a_clear_report(seeded_cdp_path, monkeypatch):
    thread = "allfail-1"
    state = run(compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, thread, model_factory=_all_fail())
    assert state["status"] == "failed"
    assert state["task_status"]["audience"] == "failed"
    assert {s for t, s in state["task_status"].items() if t != "audience"} == {"skipped"}
    report = state["report"]
    assert "**Status:** failed" in report
    assert "## What failed" in report and "model is unreachable" in report
    assert "task audience" in report
    assert send_count(seeded_cdp_path, state["campaign_id"]) == 0
    assert (
        scalar(
            seeded_cdp_path,
            "SELECT count(*) FROM send_requests WHERE campaign_id = ?",
            [state["campaign_id"]],
        )
        == 0
    )
    assert campaign_of(seeded_cdp_path, thread)["status"] == "failed"
    assert scalar(seeded_cdp_path, "SELECT status FROM runs WHERE thread_id = ?", [thread]) == "failed"
    log = messages(seeded_cdp_path, thread)
    escalations = [m for m in log if m["kind"] == "escalation"]
    assert len(escalations) == 1 and escalations[0]["recipient"] == "human"
    assert escalations[0]["payload"]["options"] == ["retry", "skip"]


def test_escalation_asks_a_person_and_retry_recovers(seeded_cdp_path, monkeypatch):
    faults = _all_fail()
    graph = compile_graph()
    thread = "escalate-1"
    state = run(
        graph,
        DEFAULT_OBJECTIVE,
        seeded_cdp_path,
        thread,
        approval="ask",
        approval_threshold=10**6,
        model_factory=faults,
    )
    (interrupt,) = state["__interrupt__"]
    assert interrupt.value["kind"] == "escalation" and interrupt.value["task_id"] == "audience"
    assert interrupt.value["options"] == ["retry", "skip"]
    assert "model is unreachable" in interrupt.value["question"]
    faults.fails = lambda r, n: None  # the outage is over
    state = run(
        graph,
        Command(resume="retry"),
        seeded_cdp_path,
        thread,
        approval="ask",
        approval_threshold=10**6,
        model_factory=faults,
    )
    assert state["status"] == "completed", state["report"]
    assert state["escalations"][0]["decision"] == "retry"
    assert send_count(seeded_cdp_path, state["campaign_id"]) > 0


@pytest.mark.xdist_group("cli")
def test_every_agent_failing_exits_1_from_the_cli(seeded_cdp_path, monkeypatch):
    from cli.main import app

    monkeypatch.setenv("CDP_AGENTS_MODEL_FACTORY", "tests.graph.helpers:unreachable_models")
    result = CliRunner().invoke(
        app,
        [
            "run",
            DEFAULT_OBJECTIVE,
            "--db",
            str(seeded_cdp_path),
            "--json",
            "--approve",
            "auto",
            "--thread",
            "cli-allfail",
        ],
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "failed" and data["sends"] == 0
    assert "model is unreachable" in data["report"]
    assert data["campaign_id"] and send_count(seeded_cdp_path, data["campaign_id"]) == 0
    plain = CliRunner().invoke(
        app,
        [
            "run",
            DEFAULT_OBJECTIVE,
            "--db",
            str(seeded_cdp_path),
            "--approve",
            "auto",
            "--thread",
            "cli-allfail-2",
        ],
    )
    assert plain.exit_code == 1
    lines = [line for line in plain.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: run failed")
