"""Customer-service specialist: reads tickets and complaints, pauses promotions, tells the others."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from agents.base import AgentEnv, AgentRun, ModelSource, Skill, build_specialist
from agents.coordination import notify_tool
from agents.registry import skill_of


def _tools(env: AgentEnv):
    from cdp.tools_campaign import service_tools

    return [*service_tools(env.session()), notify_tool(env)]


def _collect(run: AgentRun, env: AgentEnv) -> dict[str, Any]:
    paused = run.results_of("pause_customers")
    issues = run.results_of("service_issues")
    return {
        "paused": paused[-1].get("paused", 0) if paused else 0,
        "open_tickets": issues[-1].get("open_tickets", 0) if issues else None,
        "recent_complaints": issues[-1].get("recent_complaints", 0) if issues else None,
    }


SKILL = Skill("service", "service", _tools, _collect)


def build_service_agent(
    model: ModelSource, *, retry: RetryPolicy | None = None, checkpointer: Literal[False] | None = None
) -> CompiledStateGraph:
    """The service specialist as a compiled subgraph: model ⇄ tools."""
    return build_specialist(SKILL, model, borrow=skill_of, retry=retry, checkpointer=checkpointer)
