"""Analytics specialist: KPIs, holdout and baseline before launch; results after it."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from agents.base import AgentEnv, AgentRun, ModelSource, Skill, build_specialist
from agents.registry import skill_of


def _tools(env: AgentEnv):
    from cdp.tools import audience_tools, insight_tools

    wanted = {"segment_summary"}
    return [t for t in audience_tools(env.session()) if t.name in wanted] + insight_tools(env.session())


def _collect(run: AgentRun, env: AgentEnv) -> dict[str, Any]:
    out: dict[str, Any] = {}
    baseline = run.results_of("segment_baseline")
    if baseline:
        out["baseline"] = {k: v for k, v in baseline[-1].items() if isinstance(v, int | float | str)}
    results = run.results_of("campaign_results")
    if results:
        out["results"] = {k: v for k, v in results[-1].items() if isinstance(v, int | float | str | dict)}
    out["holdout_pct"] = env.policy.holdout_pct
    return out


def _check(run: AgentRun, env: AgentEnv) -> str | None:
    if run.results_of("segment_baseline") or run.results_of("campaign_results"):
        return None
    return "no figures were read: call segment_baseline (before launch) or campaign_results (after)."


SKILL = Skill("analytics", "analytics", _tools, _collect, _check)


def build_analytics_agent(
    model: ModelSource, *, retry: RetryPolicy | None = None, checkpointer: Literal[False] | None = None
) -> CompiledStateGraph:
    """The analytics specialist as a compiled subgraph: model ⇄ tools."""
    return build_specialist(SKILL, model, borrow=skill_of, retry=retry, checkpointer=checkpointer)
