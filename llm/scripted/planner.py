"""The offline supervisor: reads the objective (`llm.scripted.reader`) and answers with a whole plan.

The plan carries the interpretation (every phrase and its meaning) and the typed task inputs the
specialists act on; a word the reader did not use, a value the CDP does not hold or a request to get
around the contact policy comes back as a question or a refusal with no tasks.
"""

from __future__ import annotations

import re
from typing import Any

from cdp import clock
from cdp.terms import CdpTerms
from cdp.vocabulary import campaign_offer_kind
from llm.scripted.model import ScriptedRequest, register_role
from llm.scripted.reader import Brief, read
from prompts import template_tasks

MAX_PLAN_DISCOUNT = 90  # CampaignSpec.discount_pct's bound


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "hour") else value.isoformat()


def _offer(brief: Brief) -> dict[str, Any] | None:
    return brief.offer and {k: brief.offer[k] for k in ("kind", "value", "unit", "category")}


def task_inputs(brief: Brief) -> dict[str, dict[str, Any]]:
    """The typed inputs each task acts on; specialists never read the objective's words."""
    audience = brief.audience_filter()
    money = {"budget": brief.budget.amount, "currency": brief.budget.currency} if brief.budget else {}
    return {
        "audience": {"filter": audience, "description": brief.describe()},
        "budget": {
            "budget": money.get("budget"),
            "currency": money.get("currency"),
            "channels": list(brief.channels),
            "discount_pct": brief.discount_pct,
        },
        "growth": {"filter": audience},
        "content": {
            "goal": brief.goal,
            "occasion": brief.occasion,
            "offer": _offer(brief),
            "offer_valid_until": _iso(brief.offer_valid_until),
            "categories": list(brief.categories),
        },
        "activation": {
            "channels": list(brief.channels),
            "excluded_channels": list(brief.excluded_channels),
            "send_at": _iso(brief.send_at),
        },
    }


def plan_tasks(brief: Brief, agents: set[str]) -> list[dict[str, Any]]:
    """The campaign template's tasks (`prompts/plan_template.toml`) with the inputs read from the brief;
    budget (and growth, with a growth aim) only with a budget."""
    have = {"budget"} if brief.budget else set()
    have |= {"growth"} if brief.growth else set()
    inputs = task_inputs(brief)
    money = f"{brief.budget.amount:g} {brief.budget.currency or ''}".rstrip() if brief.budget else ""
    tasks = template_tasks(agents, have, audience=brief.describe(), budget=money)
    for t in tasks:
        t["inputs"] = inputs.get(str(t["id"]), {})
    return tasks


def interpretation(brief: Brief) -> dict[str, Any]:
    """The Interpretation dict (graph.plan.Interpretation): what each part of the objective means."""
    offer = _offer(brief)
    if offer:
        offer["text"] = " ".join(w for w, m in brief.readings if m.startswith("offer")) or offer["kind"]
    timing_text = (
        "; ".join(m for _, m in brief.readings if m.startswith(("send", "offer valid", "occasion"))) or "now"
    )
    return {
        "audience": {"text": brief.describe(), "filter": brief.audience_filter()},
        "offer": offer,
        "channels": list(brief.channels),
        "timing": {
            "send_at": _iso(brief.send_at),
            "send_by": brief.send_by,
            "offer_valid_until": _iso(brief.offer_valid_until),
            "occasion": brief.occasion,
            "occasion_date": _iso(brief.occasion_date),
            "text": timing_text[:300],
        },
        "budget": {"amount": brief.budget.amount, "currency": brief.budget.currency}
        if brief.budget
        else None,
        "readings": [{"words": w[:200], "meaning": m[:300]} for w, m in brief.readings],
        "unused_words": list(brief.unused),
        "warnings": [],
    }


def plan(objective: str, terms: CdpTerms | None, agents: set[str]) -> dict[str, Any]:
    """The whole answer of the scripted supervisor for one objective."""
    brief = read(objective, terms=terms, now=clock.now())
    pct = brief.discount_pct
    if brief.question is None and brief.refusal is None and pct is not None and pct > MAX_PLAN_DISCOUNT:
        brief.question = (
            f"A {pct:g}% discount is more than the {MAX_PLAN_DISCOUNT}% a campaign may offer: what discount?"
        )
    if brief.refusal:
        return {"refusal": brief.refusal, "tasks": []}
    if brief.question:
        return {
            "question": brief.question,
            "tasks": [],
            "interpretation": interpretation(brief) if brief.readings else None,
        }
    o = brief.offer or {}
    campaign = {
        "goal": brief.goal,
        "channels": list(brief.channels),
        "budget": brief.budget.amount if brief.budget else None,
        "currency": brief.budget.currency if brief.budget else None,
        "discount_pct": pct,
        "offer_kind": campaign_offer_kind(brief.goal, o.get("kind"), bool(o)),
        "offer_category": o.get("category") or (brief.categories[0] if brief.categories else None),
        "send_at": _iso(brief.send_at),
        "offer_value": o.get("value"),
        "offer_unit": o.get("unit"),
        "offer_valid_until": _iso(brief.offer_valid_until),
        "occasion": brief.occasion,
    }
    name = " ".join(filter(None, [brief.occasion, brief.goal, "campaign"])).strip().capitalize()
    return {
        "campaign_name": name[:120],
        "summary": f"{(brief.goal or 'campaign').capitalize()} for {brief.describe()}."[:1000],
        "campaign": campaign,
        "tasks": plan_tasks(brief, agents),
        "interpretation": interpretation(brief),
    }


@register_role("supervisor")
def supervisor(request: ScriptedRequest) -> dict[str, Any]:
    """Plan the objective in the conversation with the CDP's terms from the system prompt."""
    objective = next((t for t in request.human_texts() if not t.startswith("That plan is invalid")), "")
    agents = set(re.findall(r"^- ([a-z_]+):", request.system_text, re.M))
    whole = plan(objective, CdpTerms.from_prompt(request.system_text), agents)
    spec = request.structured_output
    if spec is not None and "decision" in spec.json_schema.get("properties", {}):
        return as_brief(whole)
    return whole


def as_brief(whole: dict[str, Any]) -> dict[str, Any]:
    """The same answer in the brief plan's shape (`CDP_AGENTS_PLAN_SCHEMA=brief`): the reading and a
    decision; the campaign and the tasks are code's to build from it."""
    decision = "refuse" if whole.get("refusal") else "ask" if whole.get("question") else "plan"
    return {
        "interpretation": whole.get("interpretation") or {},
        "goal": (whole.get("campaign") or {}).get("goal"),
        "campaign_name": whole.get("campaign_name", ""),
        "decision": decision,
        "message": whole.get("refusal") or whole.get("question") or "",
    }
