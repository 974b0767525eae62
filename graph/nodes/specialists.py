"""Specialist nodes: one per registered agent, each running one task and reporting back.

Transient model errors are retried by LangGraph's `RetryPolicy`; when retries are exhausted or the
task fails for good, the node's error handler records a failed result, and the dispatcher then
reassigns the task to the registered fallback or escalates it to a person.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.errors import NodeError
from langgraph.runtime import Runtime
from langgraph.types import Command

from agents.base import AgentEnv, Specialist
from agents.registry import REGISTRY
from graph.context import Context
from graph.launch_request import launch_request_of
from graph.messages import SUPERVISOR, record_message
from graph.protocols import completion_messages
from graph.run_info import cdp_session, thread_id_of
from graph.state import TaskInput
from llm.loader import load_chat_model


def specialist_for(agent: str, task_agent: str, model) -> Specialist:
    """The agent doing the task; a fallback borrows the original's tools and acceptance checks."""
    spec = REGISTRY[agent].build(model)
    if agent == task_agent:
        return spec
    original = REGISTRY[task_agent].build(model)

    def tools(env: AgentEnv):
        merged = {t.name: t for t in original.tools(env)}
        for t in spec.tools(env):
            merged.setdefault(t.name, t)
        return list(merged.values())

    return Specialist(agent, model, spec.prompt, tools, original.collect, original.check)


def make_specialist_node(agent: str):
    def run_task(inp: TaskInput, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
        ctx = runtime.context or Context()
        task = inp["task"]
        thread_id = thread_id_of(config, inp.get("objective", ""))
        env = AgentEnv(
            db_path=ctx.db_path,
            thread_id=thread_id,
            task_id=task["id"],
            agent=agent,
            campaign_id=inp.get("campaign_id", ""),
            objective=inp.get("objective", ""),
            goal=task["goal"],
            inputs={
                **(task.get("inputs") or {}),
                "upstream": inp.get("inputs", {}),
                "task_kind": task["agent"],
            },
            protocol=ctx.protocol,
            policy=ctx.policy(),
            max_steps=ctx.max_agent_steps,
        )
        specialist = specialist_for(agent, task["agent"], load_chat_model(ctx.model))
        run, outputs = specialist.run(env)
        result = {
            "agent": agent,
            "status": "done",
            "summary": run.summary,
            "outputs": outputs,
            "attempts": inp.get("attempt", 1),
            "llm_calls": run.llm_calls,
            "tools": [r.name for r in run.tool_calls],
        }
        with cdp_session(ctx.db_path) as db:
            logged = completion_messages(
                db,
                ctx.protocol,
                thread_id,
                task,
                agent,
                result,
                env.outbox,
                consumers=[(c, a) for c, a in inp.get("consumers", [])],
            )
        request = launch_request_of(task["id"], result, campaign_id=inp.get("campaign_id", ""))
        return {
            **({"launch_request": request} if request else {}),
            "results": {task["id"]: result},
            "task_status": {task["id"]: "done"},
            "llm_calls": run.llm_calls,
            "messages": logged,
            "proposals": env.proposals,
        }

    run_task.__name__ = f"run_{agent}"
    return run_task


def on_specialist_error(
    inp: TaskInput, runtime: Runtime[Context], config: RunnableConfig, error: NodeError
) -> Command:
    """Record the failure as a structured status message; the dispatcher decides what comes next."""
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
                task["id"]: {
                    "agent": agent,
                    "status": "failed",
                    "summary": "",
                    "outputs": {},
                    "error": reason,
                    "attempts": inp.get("attempt", 1),
                }
            },
            "task_status": {task["id"]: "failed"},
            "messages": [msg],
        },
    )
