"""What the offline scripted model answers for each role, the way a competent model would.

Only the supervisor reads the objective's words. A specialist acts on the typed spec the plan wrote
into its task's `inputs`, on upstream outputs and on tool results, so it can never read the words
differently from the plan a person approved. It does its whole task in one answer where it can.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from langchain_core.messages import HumanMessage

from llm.scripted import lifecycle, planner  # noqa: F401  (planner registers the supervisor)
from llm.scripted.copy import compose_variants
from llm.scripted.model import ScriptedRequest, register_role

DEFAULT_CHANNELS = ["email", "push", "sms"]
#: Discount the budget forecast assumes when the campaign names none (a typical promotion).
DEFAULT_FORECAST_DISCOUNT = 15


def _call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "args": args}


def _finish(summary: str) -> dict[str, Any]:
    return _call("finish", {"summary": summary})


def _task(request: ScriptedRequest) -> dict[str, Any]:
    """The task message (JSON with a `task_id`) the specialist was given."""
    for text in request.human_texts():
        with contextlib.suppress(ValueError):
            if isinstance(data := json.loads(text), dict) and "task_id" in data:
                return data
    return {}


def _inputs(task: dict[str, Any]) -> dict[str, Any]:
    return task.get("inputs") or {}


def _upstream(task: dict[str, Any], key: str) -> Any:
    for outputs in (_inputs(task).get("upstream") or {}).values():
        if isinstance(outputs, dict) and outputs.get(key) is not None:
            return outputs[key]
    return None


def _done(request: ScriptedRequest) -> dict[str, Any]:
    """Latest successful result of each tool in the whole conversation."""
    names = {c["id"]: c["name"] for m in request.messages for c in getattr(m, "tool_calls", None) or []}
    out: dict[str, Any] = {}
    for m in request.messages:
        if m.type == "tool" and getattr(m, "status", "success") != "error":
            with contextlib.suppress(ValueError):
                out[names.get(getattr(m, "tool_call_id", ""), "")] = json.loads(m.text)
    return out


# ------------------------------------------------------------------------------------------ specialists


def _audience(done: dict[str, Any], task: dict[str, Any]) -> list[dict[str, Any]]:
    if "save_segment" in done:
        saved = done["save_segment"]
        return [_finish(f"Saved segment {saved.get('segment_id')} with {saved.get('size')} customers.")]
    spec = _inputs(task)
    what = spec.get("description") or "everyone"
    segment = {"filter": spec.get("filter") or {}, "name": what[:80], "derive_traits": ["churn_band"]}
    segment["description"] = f"Customers the plan describes: {what}"[:500]
    return [_call("save_segment", segment), _finish(f"Saved the audience for: {what}.")]


def _content(done: dict[str, Any], task: dict[str, Any]) -> list[dict[str, Any]]:
    if "save_variants" in done:
        return [_finish("Variants saved.")]
    spec = _inputs(task)
    variants = compose_variants(
        goal=spec.get("goal"),
        occasion=spec.get("occasion"),
        offer=spec.get("offer"),
        languages=list(_upstream(task, "languages") or []),
        # the categories the campaign is about, else the audience's favourites
        categories=list(spec.get("categories") or _upstream(task, "categories") or []),
    )
    return [_call("save_variants", {"variants": variants}), _finish(f"Saved {len(variants)} variants.")]


def _activation(done: dict[str, Any], task: dict[str, Any]) -> list[dict[str, Any]]:
    if "stage_sends" in done:
        return [_finish(f"Staged {done['stage_sends'].get('staged')} sends.")]
    spec = _inputs(task)
    excluded = set(spec.get("excluded_channels") or [])
    channels = list(spec.get("channels") or []) or [c for c in DEFAULT_CHANNELS if c not in excluded]
    args: dict[str, Any] = {"segment_id": _upstream(task, "segment_id") or "", "channel_priority": channels}
    if spec.get("send_at"):
        args["send_at"] = spec["send_at"]
    return [_call("stage_sends", args), _finish(f"Staged sends on {', '.join(channels)}.")]


def _in_lifecycle(task: dict[str, Any]) -> bool:
    return _inputs(task).get("phase") == "lifecycle"


def _analytics(done: dict[str, Any], task: dict[str, Any]) -> list[dict[str, Any]]:
    if _in_lifecycle(task):
        if "campaign_results" in done:
            return [_finish(lifecycle.summary(done["campaign_results"]))]
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


def _service(done: dict[str, Any], task: dict[str, Any]) -> list[dict[str, Any]]:
    if "pause_customers" in done:
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


def _compliance(done: dict[str, Any], task: dict[str, Any]) -> list[dict[str, Any]]:
    if "review_content" in done:
        return [_finish("Content reviewed.")]
    return [_call("review_content", {}), _finish("Reviewed every variant against the content rules.")]


def _budget(done: dict[str, Any], task: dict[str, Any]) -> list[dict[str, Any]]:
    if "forecast_cost" in done:
        return [_finish("Forecast read.")]
    spec = _inputs(task)
    discount = spec.get("discount_pct")
    args = {
        "segment_id": _upstream(task, "segment_id") or "",
        "channel_priority": list(spec.get("channels") or []) or ["email"],
        "discount_pct": DEFAULT_FORECAST_DISCOUNT if discount is None else discount,
    }
    return [
        _call("forecast_cost", args),
        _finish("Forecast the cost; the largest affordable audience is my proposal."),
    ]


def _growth(done: dict[str, Any], task: dict[str, Any]) -> list[dict[str, Any]]:
    if "count_audience" in done:
        return [_finish("Wider audience sized.")]
    nodes = [{"segment": "high-value"}, {"field": "tier", "op": "in", "value": ["premium", "vip"]}]
    planned = _inputs(task).get("filter")
    wider = {"any": ([planned] if planned else []) + nodes}
    return [
        _call("count_audience", {"filter": wider}),
        _finish("Sized a wider audience (next tier and high-value customers) for reach."),
    ]


def _optimization(done: dict[str, Any], task: dict[str, Any]) -> list[dict[str, Any]]:
    if "adjust_campaign" in done:
        made = done["adjust_campaign"]
        return [_finish(f"Applied {made.get('action')} {made.get('target') or ''}".strip() + ".")]
    if "campaign_results" not in done:
        return [_call("campaign_results", {"campaign_id": task.get("campaign_id")})]
    if not _in_lifecycle(task):
        return [_finish("Results read; the campaign is not running yet, so nothing to adjust.")]
    args = lifecycle.decide(done["campaign_results"], _inputs(task))
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
    kind = _inputs(task).get("task_kind") or request.role or ""
    behaviour = BEHAVIOURS.get(kind)
    if behaviour is None:
        return {"content": "", "tool_calls": [_finish(f"I cannot do a '{kind}' task.")]}
    if isinstance(request.last_message, HumanMessage) and request.ai_turns() >= 3:
        return {"content": "", "tool_calls": [_finish("Stopping: the task could not be completed.")]}
    return {"content": "", "tool_calls": behaviour(_done(request), task)}


for _role in BEHAVIOURS:
    register_role(_role)(specialist)


@register_role("synthesizer")
def synthesizer(request: ScriptedRequest) -> str:
    """The report's narrative, from the run's facts alone (counts, reasons, conflicts, lifecycle)."""
    facts: dict[str, Any] = {}
    for text in request.human_texts():
        with contextlib.suppress(ValueError):
            facts = json.loads(text)
    suppressed = facts.get("suppressed") or {}
    stopped = sum(suppressed.values())
    top = ", ".join(f"{k} ({v})" for k, v in list(suppressed.items())[:3])
    parts = [
        f"The plan had {len(facts.get('plan') or [])} tasks.",
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
        changes = lc.get("changes")
        parts.append(
            f"Over {lc.get('days')} simulated days"
            + (" (then stopped)" if lc.get("stopped") else "")
            + f" contacted customers converted {res.get('treated_rate', 0):.2%} against "
            f"{res.get('holdout_rate', 0):.2%} held out (lift {res.get('lift', 0):+.2%}); "
            + (f"{len(changes)} adjustment(s) were made." if changes else "no adjustment was needed.")
        )
    failed = [tid for tid, r in (facts.get("task_results") or {}).items() if r.get("status") != "done"]
    if failed:
        parts.append(f"Tasks that did not finish: {', '.join(failed)}.")
    return " ".join(parts)
