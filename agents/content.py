"""Content specialist: creative strategy and message variants per sub-group, no personal data."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from agents.base import AgentEnv, AgentRun, ModelSource, Skill, build_specialist
from agents.registry import skill_of


def _tools(env: AgentEnv):
    from cdp.tools import audience_tools
    from cdp.tools_campaign import content_tools

    wanted = {"segment_summary", "segment_subgroups"}
    return [t for t in audience_tools(env.session()) if t.name in wanted] + content_tools(env.session())


def _check(run: AgentRun, env: AgentEnv) -> str | None:
    return None if run.results_of("save_variants") else "no variants were saved: call save_variants."


def _collect(run: AgentRun, env: AgentEnv) -> dict[str, Any]:
    saved = run.results_of("save_variants")[-1]
    return {"variants": saved.get("saved", []), "variant_count": saved.get("count", 0)}


SKILL = Skill("content", "content", _tools, _collect, _check)


def build_content_agent(
    model: ModelSource, *, retry: RetryPolicy | None = None, checkpointer: Literal[False] | None = None
) -> CompiledStateGraph:
    """The content specialist as a compiled subgraph: model ⇄ tools."""
    return build_specialist(SKILL, model, borrow=skill_of, retry=retry, checkpointer=checkpointer)
