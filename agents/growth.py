"""Growth specialist: argues for reach by sizing a wider audience and proposing it."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from agents.base import AgentEnv, AgentRun, ModelSource, Skill, build_specialist
from agents.coordination import propose_tool
from agents.registry import skill_of


def _tools(env: AgentEnv):
    from cdp.tools import audience_tools

    wanted = {"describe_cdp", "count_audience", "segment_summary", "save_segment"}
    return [t for t in audience_tools(env.session()) if t.name in wanted] + [propose_tool(env)]


def _collect(run: AgentRun, env: AgentEnv) -> dict[str, Any]:
    counts = [r for r in run.results_of("count_audience") if isinstance(r, dict)]
    wider = counts[-1].get("size") if counts else None
    if wider is not None and not any(p["agent"] == env.agent for p in env.proposals):
        # Growth's position is the reach it measured: propose it without a second model call.
        env.proposals.append(
            {
                "decision_key": "audience_size",
                "value": wider,
                "agent": env.agent,
                "task_id": env.task_id,
                "rationale": "the wider audience it sized adds reach",
                "expected_value": None,
            }
        )
    return {"wider_audience": wider}


SKILL = Skill("growth", "growth", _tools, _collect)


def build_growth_agent(
    model: ModelSource, *, retry: RetryPolicy | None = None, checkpointer: Literal[False] | None = None
) -> CompiledStateGraph:
    """The growth specialist as a compiled subgraph: model ⇄ tools."""
    return build_specialist(SKILL, model, borrow=skill_of, retry=retry, checkpointer=checkpointer)
