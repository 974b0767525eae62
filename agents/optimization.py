"""Optimization specialist: reads a running campaign's results and proposes adjustments."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.base import AgentEnv, AgentRun, Specialist
from agents.coordination import propose_tool


def _tools(env: AgentEnv):
    from cdp.tools import insight_tools

    return [*insight_tools(env.session()), propose_tool(env)]


def _collect(run: AgentRun, env: AgentEnv) -> dict[str, Any]:
    results = run.results_of("campaign_results")
    return {"read_results": bool(results)}


def build_optimization_agent(model: BaseChatModel) -> Specialist:
    return Specialist("optimization", model, "optimization", _tools, _collect)
