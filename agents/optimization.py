"""Optimization specialist: reads a running campaign's results and adjusts it for its next sends.

Its one write tool (`adjust_campaign`) changes allocation or cancels undelivered sends; anything it
sends later is staged as requests and decided by the contact-policy gate.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from agents.base import AgentEnv, AgentRun, ModelSource, Skill, build_specialist
from agents.coordination import propose_tool
from agents.registry import skill_of


def _tools(env: AgentEnv):
    from cdp.tools import insight_tools
    from cdp.tools_lifecycle import lifecycle_tools

    return [*insight_tools(env.session()), *lifecycle_tools(env.session()), propose_tool(env)]


def _collect(run: AgentRun, env: AgentEnv) -> dict[str, Any]:
    adjustments = [
        {k: r.get(k) for k in ("action", "target", "affected")} for r in run.results_of("adjust_campaign")
    ]
    return {"read_results": bool(run.results_of("campaign_results")), "adjustments": adjustments}


SKILL = Skill("optimization", "optimization", _tools, _collect)


def build_optimization_agent(
    model: ModelSource, *, retry: RetryPolicy | None = None, checkpointer: Literal[False] | None = None
) -> CompiledStateGraph:
    """The optimization specialist as a compiled subgraph: model ⇄ tools."""
    return build_specialist(SKILL, model, borrow=skill_of, retry=retry, checkpointer=checkpointer)
