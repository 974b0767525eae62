"""Specialist nodes: one per registered agent, each running one task and reporting back.

Transient model errors are retried by LangGraph's `RetryPolicy` on the model step inside the
specialist's subgraph; when retries are exhausted or the task fails for good, the node's error handler records a failed result, and the dispatcher then
reassigns the task to the registered fallback or escalates it to a person.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.errors import NodeError
from langgraph.runtime import Runtime
from langgraph.types import Command, RetryPolicy

from agents.base import TaskInput, context_model, run_specialist
from agents.registry import REGISTRY
from cdp.db import cdp_session
from graph.context import Context
from graph.handoffs import launch_request_of
from graph.messages import SUPERVISOR, record_message
from graph.protocols import completion_messages
from graph.run_info import thread_id_of
from graph.state import TaskResult


def make_specialist_node(agent: str, retry: RetryPolicy | None = None):
    """The node for one registered agent: its compiled subgraph, run within the task's step budget.

    The subgraph (model ⇄ tools → collect) checkpoints each step under this node's namespace, so a
    retry or a resume continues at the step that failed rather than re-running the task.
    """
    specialist = REGISTRY[agent].build(context_model, retry=retry)

    def run_task(inp: TaskInput, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
        ctx = runtime.context or Context()
        task = inp["task"]
        thread_id = thread_id_of(config, inp.get("objective", ""))
        outcome = run_specialist(specialist, {**inp, "thread_id": thread_id}, ctx, config)
        result: TaskResult = {
            "agent": agent,
            "status": "done",
            "summary": outcome["summary"],
            "outputs": outcome["outputs"],
            "attempts": inp.get("attempt", 1),
            "llm_calls": outcome["llm_calls"],
            "tools": outcome["tools"],
        }
        with cdp_session(ctx.db_path) as db:
            logged = completion_messages(
                db,
                ctx.protocol,
                thread_id,
                task,
                agent,
                result,
                outcome["outbox"],
                consumers=[(c, a) for c, a in inp.get("consumers", [])],
            )
        request = launch_request_of(task["id"], result, campaign_id=inp.get("campaign_id", ""))
        return {
            **({"launch_request": request} if request else {}),
            "results": {task["id"]: result},
            "task_status": {task["id"]: "done"},
            "llm_calls": outcome["llm_calls"],
            "messages": logged,
            "proposals": outcome["proposals"],
        }

    run_task.__name__ = f"run_{agent}"
    return run_task


def on_specialist_error(
    inp: TaskInput, runtime: Runtime[Context], config: RunnableConfig, error: NodeError
) -> Command:
    """Record the failure as a structured status message; the dispatcher decides what comes next."""
    if not isinstance(error.error, Exception):
        # KeyboardInterrupt, SystemExit: the process is stopping, not the task failing. LangGraph hands
        # these to the handler when the task ran beside others; they must stop the run all the same.
        raise error.error
    ctx = runtime.context or Context()
    task = inp["task"]
    agent = inp.get("agent", task["agent"])
    thread_id = thread_id_of(config, inp.get("objective", ""))
    reason = f"{type(error.error).__name__}: {error.error}"[:500]
    with cdp_session(ctx.db_path) as db:
        msg = record_message(
            db,
            thread_id=thread_id,
            kind="status",
            sender=agent,
            recipient=SUPERVISOR,
            task_id=task["id"],
            payload={"summary": f"task {task['id']} failed", "error": reason, "status": "failed"},
            protocol=ctx.protocol,
            dedupe_key=f"failed:{task['id']}:{agent}",
        )
    return Command(
        goto="dispatch",
        update={
            "results": {
                task["id"]: TaskResult(
                    agent=agent,
                    status="failed",
                    summary="",
                    outputs={},
                    error=reason,
                    attempts=inp.get("attempt", 1),
                )
            },
            "task_status": {task["id"]: "failed"},
            "messages": [msg],
        },
    )
