"""Activation specialist: channel and timing per customer, staged for the contact-policy gate."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from agents.base import AgentEnv, AgentRun, ModelSource, Skill, build_specialist
from agents.registry import skill_of


def _tools(env: AgentEnv):
    from cdp.tools_activation import activation_tools
    from cdp.tools_campaign import activation_stage_tools

    # Scheduling for real happens at launch, after approval: the agent stages and previews.
    read_only = {"plan_channels", "gate_preview"}
    return [
        t for t in activation_tools(env.session(), env.policy) if t.name in read_only
    ] + activation_stage_tools(env.session(), env.policy)


def _check(run: AgentRun, env: AgentEnv) -> str | None:
    return None if run.results_of("stage_sends") else "nothing was staged: call stage_sends."


def _collect(run: AgentRun, env: AgentEnv) -> dict[str, Any]:
    staged = run.results_of("stage_sends")[-1]
    return {
        "staged": staged.get("staged", 0),
        "preview": staged.get("preview", {}),
        "needs_launch": True,
    }


SKILL = Skill("activation", "activation", _tools, _collect, _check)


def build_activation_agent(
    model: ModelSource, *, retry: RetryPolicy | None = None, checkpointer: Literal[False] | None = None
) -> CompiledStateGraph:
    """The activation specialist as a compiled subgraph: model ⇄ tools."""
    return build_specialist(SKILL, model, borrow=skill_of, retry=retry, checkpointer=checkpointer)
