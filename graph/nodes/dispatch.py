"""Dispatcher: sends every ready task with `Send` (parallel when independent) and routes the rest.

Order of concerns on each pass: open conflicts, a waiting `launch_request`, failed tasks (reassign to
the registered fallback, else escalate), ready tasks, and when nothing is left, the simulated lifecycle
of a launched campaign (when the run asks for one) or synthesis.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from agents.registry import REGISTRY, fallback_of
from cdp.db import cdp_session
from graph.conflicts import open_conflicts
from graph.context import Context
from graph.handoffs import wants_lifecycle
from graph.messages import SUPERVISOR, record_message
from graph.protocols import gather_inputs, request_message
from graph.run_info import thread_id_of
from graph.state import OrchestratorState

AGENT_NODES = tuple(REGISTRY)
TERMINAL = {"done", "failed", "skipped"}


def dispatch(
    state: OrchestratorState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal[*AGENT_NODES, "launch", "resolve", "human", "lifecycle", "synthesize"]]:  # type: ignore[valid-type]
    ctx = runtime.context or Context()
    plan = state.get("plan") or []
    status = dict(state.get("task_status") or {})
    results = state.get("results") or {}
    assignments = state.get("assignments") or {}
    if state.get("status") != "running":
        return Command(goto="synthesize")
    if open_conflicts(state.get("proposals") or [], state.get("resolutions") or []):
        return Command(goto="resolve")
    if state.get("launch_request"):
        return Command(goto="launch")
    thread_id = thread_id_of(config, state.get("objective", ""))
    by_id = {t["id"]: t for t in plan}
    updates: dict[str, Any] = {"task_status": {}, "messages": [], "assignments": {}}
    sends: list[Send] = []
    with cdp_session(ctx.db_path) as db:
        for task in plan:
            tid = task["id"]
            if status.get(tid) != "failed" or results.get(tid, {}).get("escalated"):
                continue
            tried = assignments.get(tid, [task["agent"]])
            fallback = fallback_of(tried[-1])
            if fallback and fallback not in tried and len(tried) < ctx.max_task_attempts:
                updates["assignments"][tid] = [*tried, fallback]
                updates["replans"] = updates.get("replans", 0) + 1
                status[tid] = "pending"
                updates["task_status"][tid] = "pending"
                updates["messages"].append(
                    record_message(
                        db,
                        thread_id=thread_id,
                        kind="status",
                        sender=SUPERVISOR,
                        recipient=fallback,
                        task_id=tid,
                        payload={
                            "summary": f"task {tid} reassigned from {tried[-1]} to fallback {fallback}",
                            "error": results.get(tid, {}).get("error"),
                        },
                        protocol=ctx.protocol,
                        dedupe_key=f"reassign:{tid}:{fallback}",
                    )
                )
            else:
                return Command(goto="human", update={k: v for k, v in updates.items() if v})
        for task in plan:
            tid = task["id"]
            if status.get(tid) != "pending":
                continue
            deps = task.get("depends_on") or []
            if any(status.get(d) in ("failed", "skipped") for d in deps):
                status[tid] = "skipped"
                updates["task_status"][tid] = "skipped"
                continue
            if not all(status.get(d) == "done" for d in deps):
                continue
            agent = (updates["assignments"].get(tid) or assignments.get(tid) or [task["agent"]])[-1]
            attempt = len(updates["assignments"].get(tid) or assignments.get(tid) or [task["agent"]])
            inputs = gather_inputs(db, ctx.protocol, thread_id, task, results, plan)
            updates["messages"].append(
                request_message(db, ctx.protocol, thread_id, task, agent, inputs, attempt)
            )
            updates["task_status"][tid] = "running"
            sends.append(
                Send(
                    agent,
                    {
                        "task": task,
                        "agent": agent,
                        "objective": state.get("objective", ""),
                        "campaign_id": state.get("campaign_id", ""),
                        "inputs": inputs,
                        "attempt": attempt,
                        "consumers": [
                            [t["id"], t["agent"]] for t in plan if tid in (t.get("depends_on") or [])
                        ],
                    },
                )
            )
    clean = {k: v for k, v in updates.items() if v}
    if sends:
        return Command(goto=sends, update=clean)
    if any(s == "running" for s in status.values()):
        return Command(update=clean)  # results still to come
    if by_id and any(s not in TERMINAL for s in status.values()):
        return Command(goto="synthesize", update={**clean, "error": "some tasks could never become ready"})
    if wants_lifecycle(state, ctx) and all(s == "done" for s in status.values()):
        return Command(goto="lifecycle", update=clean)
    return Command(goto="synthesize", update=clean)
