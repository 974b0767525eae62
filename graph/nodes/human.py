"""Escalation to a person: a task that failed with every registered agent able to do it."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from cdp.db import cdp_session
from graph.approval import read_decision
from graph.context import Context
from graph.messages import HUMAN, SUPERVISOR, record_message
from graph.run_info import thread_id_of
from graph.state import OrchestratorState


def human(
    state: OrchestratorState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["dispatch", "synthesize"]]:
    ctx = runtime.context or Context()
    thread_id = thread_id_of(config, state.get("objective", ""))
    results = state.get("results") or {}
    failed = [
        tid
        for tid, s in (state.get("task_status") or {}).items()
        if s == "failed" and not results.get(tid, {}).get("escalated")
    ]
    if not failed:
        return Command(goto="dispatch")
    tid = failed[0]
    result = results.get(tid, {})
    tried = (state.get("assignments") or {}).get(tid, [])
    with cdp_session(ctx.db_path) as db:
        escalation = record_message(
            db,
            thread_id=thread_id,
            kind="escalation",
            sender=SUPERVISOR,
            recipient=HUMAN,
            task_id=tid,
            payload={
                "summary": f"task {tid} failed with {', '.join(tried)}",
                "error": result.get("error"),
                "options": ["retry", "skip"],
            },
            protocol=ctx.protocol,
            dedupe_key=f"escalation:{tid}:{len(tried)}",
        )
    if ctx.approval == "ask":
        answer = interrupt(
            {
                "kind": "escalation",
                "task_id": tid,
                "question": f"Task {tid} failed: {result.get('error')}. "
                "Retry it or skip it (tasks that depend on it are skipped)?",
                "options": ["retry", "skip"],
            }
        )
        decision = read_decision(answer, ("retry", "skip"))
    else:
        decision = "skip"
    update: dict[str, Any] = {
        "messages": [escalation],
        "escalations": [{"task_id": tid, "decision": decision, "error": result.get("error")}],
    }
    if decision == "retry":
        original = tried[0] if tried else None
        update.update(
            {
                "task_status": {tid: "pending"},
                "assignments": {tid: [original] if original else []},
                "results": {tid: {**result, "status": "retrying"}},
            }
        )
    else:
        update["results"] = {tid: {**result, "escalated": True}}
    return Command(goto="dispatch", update=update)
