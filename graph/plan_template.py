"""The plan a brief stands for: the campaign and the task graph built in code from a model's reading.

A small model asked for a whole plan invents campaign fields and wrong dependencies (an audience that
waits for the campaign); asked only for its reading of the objective, it has less to get wrong, and
what it reads becomes the campaign and the tasks' typed inputs here, over the campaign template in
`prompts/plan_template.toml` and the registered agents. The understanding check then judges the
reading exactly as it judges a whole plan's.
"""

from __future__ import annotations

from typing import Any

from cdp.vocabulary import campaign_offer_kind
from graph.plan import CampaignSpec, Interpretation, Plan, PlanBrief, PlanError, PlannedTask
from prompts import template_tasks

#: Goals whose campaigns get a growth task when they also have a budget.
GROWTH_GOALS = {"growth", "acquisition", "expansion"}


def campaign_of(interp: Interpretation, goal: str | None) -> CampaignSpec:
    """The campaign's fields, each from the part of the reading that states it (and nothing else)."""
    offer = interp.offer
    timing = interp.timing
    percent = offer is not None and offer.unit == "percent"
    return CampaignSpec.model_validate(
        {
            "goal": goal,
            "channels": list(interp.channels),
            "budget": interp.budget.amount if interp.budget else None,
            "currency": interp.budget.currency if interp.budget else None,
            "discount_pct": offer.value if percent and offer is not None else None,
            "offer_kind": campaign_offer_kind(goal, offer.kind if offer else None, offer is not None),
            "offer_category": offer.category if offer else None,
            "send_at": timing.send_at,
            "offer_value": offer.value if offer else None,
            "offer_unit": offer.unit if offer else None,
            "offer_valid_until": timing.offer_valid_until,
            "occasion": timing.occasion,
        }
    )


def _inputs(interp: Interpretation, spec: CampaignSpec) -> dict[str, dict[str, Any]]:
    """The typed inputs each template task acts on; specialists never read the objective's words."""
    flt = interp.audience.filter
    offer = interp.offer
    return {
        "audience": {"filter": flt, "description": interp.audience.text},
        "budget": {
            "budget": spec.budget,
            "currency": spec.currency,
            "channels": list(spec.channels),
            "discount_pct": spec.discount_pct,
        },
        "growth": {"filter": flt},
        "content": {
            "goal": spec.goal,
            "occasion": spec.occasion,
            "offer": offer.model_dump(include={"kind", "value", "unit", "category"}, mode="json")
            if offer
            else None,
            "offer_valid_until": spec.offer_valid_until,
            "categories": [offer.category] if offer and offer.category else [],
        },
        "activation": {"channels": list(spec.channels), "excluded_channels": [], "send_at": spec.send_at},
    }


def plan_from_brief(brief: PlanBrief, agents: set[str]) -> Plan:
    """The whole plan a brief stands for, or its question or refusal.

    Raises `PlanError` for a decision without its message, and `ValidationError` for campaign fields
    out of bounds (a 95% discount): both reach the model as a repair message quoting the problem.
    """
    interp = brief.interpretation
    message = " ".join(brief.message.split())
    if brief.decision == "ask":
        if not message:
            raise PlanError("decision 'ask' needs the question in `message`")
        return Plan(question=message, interpretation=interp)
    if brief.decision == "refuse":
        if not message:
            raise PlanError("decision 'refuse' needs the reason in `message`")
        return Plan(refusal=message)
    spec = campaign_of(interp, brief.goal)
    have = {"budget"} if spec.budget is not None else set()
    have |= {"growth"} if (brief.goal or "").lower() in GROWTH_GOALS else set()
    money = f"{spec.budget:g} {spec.currency or ''}".rstrip() if spec.budget is not None else ""
    tasks = template_tasks(agents, have, audience=interp.audience.text, budget=money)
    inputs = _inputs(interp, spec)
    planned = [PlannedTask.model_validate({**t, "inputs": inputs.get(str(t["id"]), {})}) for t in tasks]
    name = brief.campaign_name.strip() or " ".join(filter(None, [spec.occasion, spec.goal, "campaign"]))
    return Plan(
        campaign=spec,
        campaign_name=name[:120],
        summary=f"{(spec.goal or 'campaign').capitalize()} for {interp.audience.text}."[:1000],
        tasks=planned,
        interpretation=interp,
    )


__all__ = ["campaign_of", "plan_from_brief"]
