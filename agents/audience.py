"""Audience specialist: objective words -> typed filter -> saved segment and derived traits."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.base import AgentEnv, AgentRun, Specialist


def _tools(env: AgentEnv):
    from cdp.tools import audience_tools, trait_tools

    return [*audience_tools(env.session()), *trait_tools(env.session())]


def _saved(run: AgentRun) -> dict[str, Any] | None:
    saved = [r for r in run.results_of("save_segment") if isinstance(r, dict) and r.get("segment_id")]
    return saved[-1] if saved else None


def _check(run: AgentRun, env: AgentEnv) -> str | None:
    return None if _saved(run) else "no segment was saved: call save_segment with the audience filter."


def _collect(run: AgentRun, env: AgentEnv) -> dict[str, Any]:
    from cdp.audience import segment_summary
    from cdp.db import cdp_session

    saved = _saved(run)
    assert saved is not None  # _check guarantees it
    with cdp_session(env.db_path) as db:  # composition read by code, not taken from the model
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


def build_audience_agent(model: BaseChatModel) -> Specialist:
    return Specialist("audience", model, "audience", _tools, _collect, _check)
