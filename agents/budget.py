"""Budget specialist: forecasts cost and proposes the largest audience the budget allows."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from agents.base import AgentEnv, AgentRun, ModelSource, Skill, build_specialist
from agents.coordination import propose_tool
from agents.registry import skill_of


def _tools(env: AgentEnv):
    from cdp.tools_campaign import budget_tools

    return [*budget_tools(env.session(), env.policy.channel_costs), propose_tool(env)]


def _collect(run: AgentRun, env: AgentEnv) -> dict[str, Any]:
    forecasts = run.results_of("forecast_cost")
    last = forecasts[-1] if forecasts else {}
    cap, size = last.get("max_affordable_audience"), last.get("audience_size")
    if cap is not None and size is not None and not any(p["agent"] == env.agent for p in env.proposals):
        # The budget's position follows from the forecast by arithmetic: no second model call needed.
        env.proposals.append(
            {
                "decision_key": "audience_size",
                "value": min(cap, size),
                "agent": env.agent,
                "task_id": env.task_id,
                "rationale": f"the budget of {last.get('budget')} covers {cap} recipients at "
                f"{last.get('cost_per_recipient')} each",
                "expected_value": None,
            }
        )
    return {
        "forecast_total": last.get("forecast_total"),
        "cost_per_recipient": last.get("cost_per_recipient"),
        "max_affordable_audience": last.get("max_affordable_audience"),
        "budget": last.get("budget"),
    }


SKILL = Skill("budget", "budget", _tools, _collect)


def build_budget_agent(
    model: ModelSource, *, retry: RetryPolicy | None = None, checkpointer: Literal[False] | None = None
) -> CompiledStateGraph:
    """The budget specialist as a compiled subgraph: model ⇄ tools."""
    return build_specialist(SKILL, model, borrow=skill_of, retry=retry, checkpointer=checkpointer)
