"""Content specialist: creative strategy and message variants per sub-group, no personal data."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.base import AgentEnv, AgentRun, Specialist


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


def build_content_agent(model: BaseChatModel) -> Specialist:
    return Specialist("content", model, "content", _tools, _collect, _check)
