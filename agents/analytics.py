"""Analytics specialist: KPIs, holdout and baseline before launch; results after it."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.base import AgentEnv, AgentRun, Specialist


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


def build_analytics_agent(model: BaseChatModel) -> Specialist:
    return Specialist("analytics", model, "analytics", _tools, _collect, _check)
