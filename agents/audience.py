"""Audience specialist: objective words -> typed filter -> saved segment and derived traits."""

from __future__ import annotations

import json
from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from agents.base import AgentEnv, AgentRun, ModelSource, Skill, build_specialist
from agents.registry import skill_of


def _tools(env: AgentEnv):
    from cdp.tools import audience_tools, trait_tools

    return [*audience_tools(env.session()), *trait_tools(env.session())]


def _saved(run: AgentRun) -> dict[str, Any] | None:
    saved = [r for r in run.results_of("save_segment") if isinstance(r, dict) and r.get("segment_id")]
    return saved[-1] if saved else None


def _check(run: AgentRun, env: AgentEnv) -> str | None:
    """A segment is saved, and it is the audience the plan read from the objective.

    The plan's filter was checked against the objective's words (and by a person at approval);
    a model that then saves another audience (a wider country list, a tier it likes) would send
    to people the objective never named, so the task is sent back until the segment matches.
    """
    saved = _saved(run)
    if saved is None:
        return "no segment was saved: call save_segment with the audience filter."
    planned = env.inputs.get("filter")
    if not isinstance(planned, dict) or not planned:
        return None
    from cdp.audience import segment_differs
    from cdp.errors import FilterError
    from cdp.tools_base import session_db

    with session_db(env.session(), write=False) as db:
        try:
            missing, extra = segment_differs(db, saved["segment_id"], planned)
        except FilterError:
            return None  # the plan's filter itself is checked where the plan is made
    if missing or extra:
        return (
            f"the saved segment is not the planned audience ({missing} of its customers missing, "
            f"{extra} not in it): call save_segment with exactly this filter: "
            + json.dumps(planned, separators=(",", ":"))
        )
    return None


def _collect(run: AgentRun, env: AgentEnv) -> dict[str, Any]:
    from cdp.audience import segment_summary
    from cdp.tools_base import session_db

    saved = _saved(run)
    assert saved is not None  # _check guarantees it
    with session_db(env.session(), write=False) as db:  # composition read by code, not the model
        summary = segment_summary(db, saved["segment_id"])
    return {
        "languages": list(summary.get("by_language", {}))[:6],
        "categories": [c for c in summary.get("by_favorite_category", {}) if not c.startswith("(")][:4],
        "tiers": list(summary.get("by_tier", {})),
        "segment_id": saved["segment_id"],
        "audience_size": int(saved.get("size", 0)),
        "filter_description": saved.get("filter") if isinstance(saved.get("filter"), str) else None,
        "traits_written": saved.get("traits_written", []),
    }


SKILL = Skill("audience", "audience", _tools, _collect, _check)


def build_audience_agent(
    model: ModelSource, *, retry: RetryPolicy | None = None, checkpointer: Literal[False] | None = None
) -> CompiledStateGraph:
    """The audience specialist as a compiled subgraph: model ⇄ tools."""
    return build_specialist(SKILL, model, borrow=skill_of, retry=retry, checkpointer=checkpointer)
