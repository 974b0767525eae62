"""Optimization specialist: reads a running campaign's results and adjusts it for its next sends.

Its one write tool (`adjust_campaign`) changes allocation or cancels undelivered sends; anything it
sends later is staged as requests and decided by the contact-policy gate.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.base import AgentEnv, AgentRun, Specialist
from agents.coordination import propose_tool


def _tools(env: AgentEnv):
    from cdp.tools import insight_tools
    from cdp.tools_lifecycle import lifecycle_tools

    return [*insight_tools(env.session()), *lifecycle_tools(env.session()), propose_tool(env)]


def _collect(run: AgentRun, env: AgentEnv) -> dict[str, Any]:
    adjustments = [
        {k: r.get(k) for k in ("action", "target", "affected")} for r in run.results_of("adjust_campaign")
    ]
    return {"read_results": bool(run.results_of("campaign_results")), "adjustments": adjustments}


def build_optimization_agent(model: BaseChatModel) -> Specialist:
    return Specialist("optimization", model, "optimization", _tools, _collect)
