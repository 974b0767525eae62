"""Who can do what: every specialist's name, capabilities, builder and fallback.

Adding an agent is one file with a `build_<name>_agent(model)` factory plus one entry here; the
supervisor plans with whatever this registry offers and the graph gets one node per entry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from agents.base import ModelSource, Skill


@dataclass(frozen=True)
class AgentSpec:
    name: str
    capabilities: str
    builder: str  # "module:function", imported when first needed
    fallback: str | None = None

    def build(
        self,
        model: ModelSource,
        *,
        retry: RetryPolicy | None = None,
        checkpointer: Literal[False] | None = None,
    ) -> CompiledStateGraph[Any, Any, Any, Any]:
        """The specialist's compiled subgraph (its module's `build_<name>_agent`)."""
        module, func = self.builder.split(":")
        factory: Callable[..., CompiledStateGraph[Any, Any, Any, Any]] = getattr(
            importlib.import_module(module), func
        )
        return factory(model, retry=retry, checkpointer=checkpointer)

    def skill(self) -> Skill:
        """The specialist's prompt, tools, collect and check (its module's `SKILL`)."""
        skill: Skill = importlib.import_module(self.builder.split(":")[0]).SKILL
        return skill


REGISTRY: dict[str, AgentSpec] = {
    spec.name: spec
    for spec in (
        AgentSpec(
            "audience",
            "Turns the objective's words into a typed audience filter, checks size and composition, "
            "saves the segment and writes derived traits (churn band) for everyone to read.",
            "agents.audience:build_audience_agent",
            fallback="growth",
        ),
        AgentSpec(
            "content",
            "Creative strategy and message variants per sub-group (language, favourite category, tier), "
            "with subject/body templates and personalisation fields; never sees personal data.",
            "agents.content:build_content_agent",
            fallback="compliance",
        ),
        AgentSpec(
            "activation",
            "Chooses channel and timing per customer from consent and engagement and stages the sends; "
            "the contact-policy gate decides every send.",
            "agents.activation:build_activation_agent",
            fallback="optimization",
        ),
        AgentSpec(
            "analytics",
            "KPIs, holdout group and baseline figures for the segment; after launch, a summary of what "
            "was scheduled and suppressed.",
            "agents.analytics:build_analytics_agent",
            fallback="budget",
        ),
        AgentSpec(
            "budget",
            "Forecasts the campaign's cost and proposes the largest audience the budget allows.",
            "agents.budget:build_budget_agent",
            fallback="analytics",
        ),
        AgentSpec(
            "growth",
            "Looks for reach: proposes widening the audience where it adds expected revenue.",
            "agents.growth:build_growth_agent",
            fallback="audience",
        ),
        AgentSpec(
            "compliance",
            "Checks content and audience against rules: claims, language, consent basis; rejects "
            "variants that break them.",
            "agents.compliance:build_compliance_agent",
            fallback=None,
        ),
        AgentSpec(
            "service",
            "Customer service: reads tickets and complaints of the audience, writes suppression traits "
            "and tells the campaign agents whom to pause.",
            "agents.service:build_service_agent",
            fallback="compliance",
        ),
        AgentSpec(
            "optimization",
            "Adjusts a running campaign from its results: shifts volume to winners, pauses losers, stops "
            "early on unsubscribes.",
            "agents.optimization:build_optimization_agent",
            fallback="analytics",
        ),
    )
}


def skill_of(name: str) -> Skill:
    """The skill of a registered agent: a fallback borrows the original's tools and checks with it."""
    return REGISTRY[name].skill()


def agent_names() -> list[str]:
    return list(REGISTRY)


def fallback_of(name: str) -> str | None:
    spec = REGISTRY.get(name)
    return spec.fallback if spec else None


def describe_agents() -> str:
    """The agent list the supervisor plans with."""
    return "\n".join(f"- {s.name}: {s.capabilities}" for s in REGISTRY.values())


def validate_registry() -> None:
    """Fail early, naming the bad entry, if a fallback points at an agent that does not exist."""
    for spec in REGISTRY.values():
        if spec.fallback and spec.fallback not in REGISTRY:
            raise ValueError(f"agent '{spec.name}' falls back to unknown agent '{spec.fallback}'")
        if spec.fallback == spec.name:
            raise ValueError(f"agent '{spec.name}' cannot be its own fallback")
