"""Compliance specialist: checks content and audience against claim, language and consent rules."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.base import AgentEnv, AgentRun, Specialist


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


def build_compliance_agent(model: BaseChatModel) -> Specialist:
    return Specialist("compliance", model, "compliance", _tools, _collect, _check)
