"""Compliance specialist: checks content and audience against claim, language and consent rules."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from agents.base import AgentEnv, AgentRun, ModelSource, Skill, build_specialist
from agents.registry import skill_of


def _tools(env: AgentEnv):
    from cdp.tools_campaign import compliance_tools

    return compliance_tools(env.session())


def _collect(run: AgentRun, env: AgentEnv) -> dict[str, Any]:
    reviews = run.results_of("review_content")
    last = reviews[-1] if reviews else {}
    return {
        "variants_checked": last.get("variants_checked", 0),
        "rejected": [r["variant_id"] for r in last.get("rejected", [])],
    }


def _check(run: AgentRun, env: AgentEnv) -> str | None:
    return None if run.results_of("review_content") else "the content was not reviewed: call review_content."


SKILL = Skill("compliance", "compliance", _tools, _collect, _check)


def build_compliance_agent(
    model: ModelSource, *, retry: RetryPolicy | None = None, checkpointer: Literal[False] | None = None
) -> CompiledStateGraph:
    """The compliance specialist as a compiled subgraph: model ⇄ tools."""
    return build_specialist(SKILL, model, borrow=skill_of, retry=retry, checkpointer=checkpointer)
