"""What the offline scripted model answers for each role, the way a competent model would.

Every answer is derived from the conversation: the objective (parsed with the grammar in
`llm.scripted.grammar`), the task and upstream outputs in the task message, and the tool results so far.
Nothing here knows an example objective. A specialist does its whole task in one answer where the
tools allow it (all tool calls plus `finish`), and reacts to tool results when it needs them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import HumanMessage

from cdp.vocabulary import SUPPORTED_LANGUAGES, OfferKind, normalise_offer_kind
from llm.scripted import lifecycle as roles_lifecycle
from llm.scripted.grammar import Brief, parse_objective
from llm.scripted.model import ScriptedRequest, register_role

DEFAULT_CHANNELS = ["email", "push", "sms"]
GROWTH_WORDS = re.compile(r"\b(grow|growth|revenue|reach|expand|maximi[sz]e|scale)\b", re.I)


def _call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "args": args}


def _finish(summary: str) -> dict[str, Any]:
    return _call("finish", {"summary": summary})


def _task(request: ScriptedRequest) -> dict[str, Any]:
    for text in request.human_texts():
        try:
            data = json.loads(text)
        except ValueError:
            continue
        if isinstance(data, dict) and "task_id" in data:
            return data
    return {}


def _upstream(task: dict[str, Any], key: str) -> Any:
    for outputs in ((task.get("inputs") or {}).get("upstream") or {}).values():
        if isinstance(outputs, dict) and outputs.get(key) is not None:
            return outputs[key]
    return None


def _results(request: ScriptedRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for msg in request.tool_results():
        try:
            out[msg.name or ""] = json.loads(msg.text)
        except ValueError:
            out[msg.name or ""] = msg.text
    return out


def _tool_results_by_name(request: ScriptedRequest) -> dict[str, Any]:
    """Latest successful result of each tool in the whole conversation."""
    ids: dict[str, str] = {}
    for m in request.messages:
        for call in getattr(m, "tool_calls", None) or []:
            ids[call["id"]] = call["name"]
    out: dict[str, Any] = {}
    for m in request.messages:
        if m.type == "tool" and getattr(m, "status", "success") != "error":
            try:
                out[ids.get(getattr(m, "tool_call_id", ""), "")] = json.loads(m.text)
            except ValueError:
                continue
    return out


def _brief(text: str) -> Brief:
    return parse_objective(text)


# ------------------------------------------------------------------------------------------- supervisor


def _plan_tasks(brief: Brief, agents: set[str], objective: str) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []

    def add(tid: str, agent: str, goal: str, deps: list[str], acceptance: list[str]) -> None:
        if agent in agents:
            tasks.append(
                {
                    "id": tid,
                    "agent": agent,
                    "goal": goal,
                    "depends_on": [d for d in deps if d in ids()],
                    "acceptance": acceptance,
                    "inputs": {},
                }
            )

    def ids() -> set[str]:
        return {t["id"] for t in tasks}

    add(
        "audience",
        "audience",
        f"Build and save the audience: {brief.describe()}",
        [],
        ["segment saved", "size checked"],
    )
    add(
        "baseline",
        "analytics",
        "Baseline KPIs of the segment and the holdout for measurement",
        ["audience"],
        ["baseline figures"],
    )
    if brief.budget is not None:
        add(
            "budget",
            "budget",
            f"Forecast cost against the budget of {brief.budget.amount:g} "
            f"{brief.budget.currency} and propose the largest affordable audience",
            ["audience"],
            ["forecast"],
        )
        if GROWTH_WORDS.search(objective):
            add(
                "growth",
                "growth",
                "Size a wider audience that serves the growth goal and propose it",
                ["audience"],
                ["proposal"],
            )
    add(
        "service",
        "service",
        "Check tickets and complaints in the audience and pause whoever needs it",
        ["audience"],
        ["service check done"],
    )
    add(
        "content",
        "content",
        "Write message variants per language and category",
        ["audience"],
        ["variants saved"],
    )
    add(
        "compliance",
        "compliance",
        "Review the variants against claim and language rules",
        ["content"],
        ["content reviewed"],
    )
    add(
        "activation",
        "activation",
        "Pick channels and timing per customer and stage the sends",
        ["content", "compliance", "service", "budget", "growth"],
        ["sends staged"],
    )
    add(
        "results",
        "analytics",
        "Summarise what was scheduled, held out and suppressed",
        ["activation"],
        ["results read"],
    )
    return tasks


def _offer_kind(brief: Brief) -> str | None:
    """The objective's offer words as one `OfferKind`: the only place planning names an offer.

    A bare discount takes the kind its goal implies (a welcome or win-back discount is that offer),
    so the gate's kind conflicts see it."""
    kind = normalise_offer_kind(brief.offer_kind)
    if kind is None and brief.free_shipping:
        kind = OfferKind.FREE_SHIPPING
    if kind is None and brief.discount_pct:
        kind = {"welcome": OfferKind.WELCOME, "win-back": OfferKind.WINBACK}.get(
            brief.goal or "", OfferKind.DISCOUNT
        )
    return kind.value if kind else None


@register_role("supervisor")
def supervisor(request: ScriptedRequest) -> dict[str, Any]:
    objective = next((t for t in request.human_texts() if not t.startswith("That plan is invalid")), "")
    brief = _brief(objective)
    if brief.refusal:
        return {"refusal": brief.refusal, "tasks": []}
    if brief.question:
        return {"question": brief.question, "tasks": []}
    agents = set(re.findall(r"^- ([a-z_]+):", request.system_text, re.M))
    campaign = {
        "goal": brief.goal,
        "channels": list(brief.channels),
        "budget": brief.budget.amount if brief.budget else None,
        "currency": brief.budget.currency if brief.budget else None,
        "discount_pct": brief.discount_pct,
        "offer_kind": _offer_kind(brief),
        "offer_category": brief.categories[0] if brief.categories else None,
        "send_at": brief.send_at.strftime("%Y-%m-%dT%H:%M:%SZ") if brief.send_at else None,
    }
    name = " ".join(filter(None, [brief.occasion, brief.goal, "campaign"])).strip().capitalize()
    offer = None
    if campaign["offer_kind"] or brief.discount_pct:
        offer = {
            "kind": campaign["offer_kind"],
            "value": brief.discount_pct,
            "unit": "percent" if brief.discount_pct else None,
            "category": campaign["offer_category"],
        }
    return {
        "interpretation": {  # what the reader consumed, in the plan's terms (checked by code)
            "audience": {"text": brief.describe() or "everyone", "filter": brief.audience_filter()},
            "offer": offer,
            "channels": list(brief.channels),
            "timing": {
                "send_at": campaign["send_at"],
                "send_by": brief.send_by,
                "occasion": brief.occasion,
                "occasion_date": brief.occasion_date.isoformat() if brief.occasion_date else None,
                "text": campaign["send_at"] or "now",
            },
            "readings": (
                [{"words": f"to {brief.target_tier}", "meaning": f"upsell to tier {brief.target_tier}"}]
                if brief.target_tier
                else []
            ),
            "budget": {"amount": brief.budget.amount, "currency": brief.budget.currency}
            if brief.budget
            else None,
        },
        "campaign_name": name[:120],
        "summary": f"{(brief.goal or 'campaign').capitalize()} for {brief.describe()}.",
        "campaign": campaign,
        "tasks": _plan_tasks(brief, agents, objective),
    }


# ------------------------------------------------------------------------------------------ specialists


def _audience(request: ScriptedRequest, task: dict[str, Any]) -> list[dict[str, Any]]:
    done = _tool_results_by_name(request)
    if "save_segment" in done:
        return [
            _finish(
                f"Saved segment {done['save_segment'].get('segment_id')} with "
                f"{done['save_segment'].get('size')} customers."
            )
        ]
    brief = _brief(task.get("objective", ""))
    return [
        _call(
            "save_segment",
            {
                "filter": brief.audience_filter(),
                "name": (brief.describe() or "audience")[:80],
                "description": f"Customers the objective describes: {brief.describe()}"[:500],
                "derive_traits": ["churn_band"],
            },
        ),
        _finish(f"Saved the audience for: {brief.describe()}."),
    ]


def _content(request: ScriptedRequest, task: dict[str, Any]) -> list[dict[str, Any]]:
    if "save_variants" in _tool_results_by_name(request):
        return [_finish("Variants saved.")]
    brief = _brief(task.get("objective", ""))
    offer = f"{brief.discount_pct:g}% off" if brief.discount_pct else "something picked for you"
    hook = {
        "win-back": "We miss you",
        "retention": "Thanks for staying with us",
        "welcome": "Welcome aboard",
        "re-engagement": "It's been a while",
        "cross-sell": "You might also like",
        "upsell": "Ready for more?",
        "launch": "Just launched",
    }
    # The offer's own words first (the same OfferKind the plan carries), so copy never promises
    # another kind of offer than the campaign makes.
    by_offer = {
        OfferKind.LAST_CHANCE.value: "Last chance",
        OfferKind.EARLY_ACCESS.value: "Early access",
        OfferKind.WELCOME.value: "Welcome aboard",
        OfferKind.WINBACK.value: "We miss you",
    }
    opener = by_offer.get(_offer_kind(brief) or "") or hook.get(brief.goal or "", "A note for you")
    occasion = f" this {brief.occasion}" if brief.occasion else ""
    variants = [
        {
            "variant_id": "default",
            "subject": f"{opener}, {{first_name}}",
            "body": f"{opener}{occasion}: {offer} on {{favorite_category}}. {{offer}}",
        }
    ]
    # Customers without a supported language get the catch-all, written in the default language.
    languages = [lang for lang in _upstream(task, "languages") or [] if lang in SUPPORTED_LANGUAGES]
    for lang in languages[:4]:
        variants.append(
            {
                "variant_id": f"lang-{lang}",
                "language": lang,
                "subject": f"{opener}, {{first_name}}",
                "body": f"[{lang}] {opener}{occasion}: {offer}. {{offer}}",
            }
        )
    for cat in (_upstream(task, "categories") or [])[:3]:
        variants.append(
            {
                "variant_id": f"cat-{cat}"[:48],
                "category": cat,
                "subject": f"{opener}: {cat}",
                "body": f"{opener}{occasion}: {offer} on {cat}. {{offer}}",
            }
        )
    return [_call("save_variants", {"variants": variants}), _finish(f"Saved {len(variants)} variants.")]


def _activation(request: ScriptedRequest, task: dict[str, Any]) -> list[dict[str, Any]]:
    done = _tool_results_by_name(request)
    if "stage_sends" in done:
        return [_finish(f"Staged {done['stage_sends'].get('staged')} sends.")]
    brief = _brief(task.get("objective", ""))
    channels: list[str] = list(brief.channels) or [
        c for c in DEFAULT_CHANNELS if c not in brief.excluded_channels
    ]
    args: dict[str, Any] = {"segment_id": _upstream(task, "segment_id") or "", "channel_priority": channels}
    if brief.send_at:
        args["send_at"] = brief.send_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return [_call("stage_sends", args), _finish(f"Staged sends on {', '.join(channels)}.")]


def _in_lifecycle(task: dict[str, Any]) -> bool:
    return (task.get("inputs") or {}).get("phase") == "lifecycle"


def _analytics(request: ScriptedRequest, task: dict[str, Any]) -> list[dict[str, Any]]:
    done = _tool_results_by_name(request)
    if _in_lifecycle(task):
        if "campaign_results" in done:
            return [_finish(roles_lifecycle.summary(done["campaign_results"]))]
        return [_call("campaign_results", {"campaign_id": task.get("campaign_id")})]
    if done.get("campaign_results") or done.get("segment_baseline"):
        return [_finish("Figures read.")]
    if _upstream(task, "staged") is not None or _upstream(task, "launched"):
        return [
            _call("campaign_results", {"campaign_id": task.get("campaign_id")}),
            _finish("Read the campaign's scheduled, held-out and suppressed counts."),
        ]
    return [
        _call("segment_baseline", {"segment_id": _upstream(task, "segment_id") or "", "days": 30}),
        _finish("Baseline read; KPIs: conversion and revenue per customer against the holdout."),
    ]


def _service(request: ScriptedRequest, task: dict[str, Any]) -> list[dict[str, Any]]:
    if "pause_customers" in _tool_results_by_name(request):
        return [_finish("Service check done.")]
    segment = _upstream(task, "segment_id") or ""
    return [
        _call("service_issues", {"segment_id": segment}),
        _call("pause_customers", {"segment_id": segment, "recent_ticket_days": 14}),
        _call(
            "notify",
            {
                "recipient": "activation",
                "topic": "pause_customers",
                "note": "customers with a recent ticket or complaint are paused (trait suppress_promotions)",
                "data": {"segment_id": segment},
            },
        ),
        _finish("Checked tickets and complaints and paused customers with a recent service contact."),
    ]


def _compliance(request: ScriptedRequest, task: dict[str, Any]) -> list[dict[str, Any]]:
    if "review_content" in _tool_results_by_name(request):
        return [_finish("Content reviewed.")]
    return [_call("review_content", {}), _finish("Reviewed every variant against the content rules.")]


def _budget(request: ScriptedRequest, task: dict[str, Any]) -> list[dict[str, Any]]:
    done = _tool_results_by_name(request)
    if "forecast_cost" in done:
        return [_finish("Forecast read.")]
    brief = _brief(task.get("objective", ""))
    return [
        _call(
            "forecast_cost",
            {
                "segment_id": _upstream(task, "segment_id") or "",
                "channel_priority": list(brief.channels) or ["email"],
                "discount_pct": brief.discount_pct if brief.discount_pct is not None else 15,
            },
        ),
        _finish("Forecast the cost; the largest affordable audience is my proposal."),
    ]


def _growth(request: ScriptedRequest, task: dict[str, Any]) -> list[dict[str, Any]]:
    if "count_audience" in _tool_results_by_name(request):
        return [_finish("Wider audience sized.")]
    brief = _brief(task.get("objective", ""))
    wider = {
        "any": [
            brief.audience_filter(),
            {"segment": "high-value"},
            {"field": "tier", "op": "in", "value": ["premium", "vip"]},
        ]
    }
    return [
        _call("count_audience", {"filter": wider}),
        _finish("Sized a wider audience (next tier and high-value customers) for reach."),
    ]


def _optimization(request: ScriptedRequest, task: dict[str, Any]) -> list[dict[str, Any]]:
    done = _tool_results_by_name(request)
    if "adjust_campaign" in done:
        made = done["adjust_campaign"]
        return [_finish(f"Applied {made.get('action')} {made.get('target') or ''}".strip() + ".")]
    if "campaign_results" not in done:
        return [_call("campaign_results", {"campaign_id": task.get("campaign_id")})]
    if not _in_lifecycle(task):
        return [_finish("Results read; the campaign is not running yet, so nothing to adjust.")]
    args = roles_lifecycle.decide(done["campaign_results"], task.get("inputs") or {})
    return [_call("adjust_campaign", args), _finish(f"{args['action']}: {args['reason']}"[:500])]


BEHAVIOURS = {
    "audience": _audience,
    "content": _content,
    "activation": _activation,
    "analytics": _analytics,
    "service": _service,
    "compliance": _compliance,
    "budget": _budget,
    "growth": _growth,
    "optimization": _optimization,
}


def specialist(request: ScriptedRequest) -> dict[str, Any]:
    """Answer as the specialist the task was planned for (a fallback agent does the same work)."""
    task = _task(request)
    kind = (task.get("inputs") or {}).get("task_kind") or request.role or ""
    behaviour = BEHAVIOURS.get(kind)
    if behaviour is None:
        return {"content": "", "tool_calls": [_finish(f"I cannot do a '{kind}' task.")]}
    last = request.last_message
    if isinstance(last, HumanMessage) and request.ai_turns() >= 3:
        return {"content": "", "tool_calls": [_finish("Stopping: the task could not be completed.")]}
    return {"content": "", "tool_calls": behaviour(request, task)}


for _role in BEHAVIOURS:
    register_role(_role)(specialist)


@register_role("synthesizer")
def synthesizer(request: ScriptedRequest) -> str:
    facts: dict[str, Any] = {}
    for text in request.human_texts():
        try:
            facts = json.loads(text)
        except ValueError:
            continue
    suppressed = facts.get("suppressed") or {}
    stopped = sum(suppressed.values())
    top = ", ".join(f"{k} ({v})" for k, v in list(suppressed.items())[:3])
    parts = [
        f"The plan had {len(facts.get('plan') or [])} tasks for: {facts.get('objective', '')[:160]}.",
        f"The audience holds {facts.get('audience_size') or 0} customers"
        + (f" ({facts['audience']})." if facts.get("audience") else "."),
        f"{facts.get('sends', 0)} messages were scheduled"
        + (f"; {stopped} customers were not messaged, mostly for {top}." if stopped else "."),
    ]
    for c in facts.get("conflicts") or []:
        parts.append(
            f"Agents disagreed on {c.get('decision_key')}; {c.get('winner')} won by {c.get('resolved_by')}."
        )
    lc = facts.get("lifecycle")
    if lc:
        res = lc.get("result") or {}
        parts.append(
            f"Over {lc.get('days')} simulated days"
            + (" (then stopped)" if lc.get("stopped") else "")
            + f" contacted customers converted {res.get('treated_rate', 0):.2%} against "
            f"{res.get('holdout_rate', 0):.2%} held out (lift {res.get('lift', 0):+.2%}); "
            + (
                f"{len(lc['changes'])} adjustment(s) were made."
                if lc.get("changes")
                else "no adjustment was needed."
            )
        )
    failed = [tid for tid, r in (facts.get("task_results") or {}).items() if r.get("status") != "done"]
    if failed:
        parts.append(f"Tasks that did not finish: {', '.join(failed)}.")
    return " ".join(parts)
