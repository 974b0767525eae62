"""The CDP tools agents call, as LangChain tools bound to a `ToolSession` (who, which run, which file).

Each tool's description is written for the model; each result is JSON-safe and holds ids, labels
and aggregates only. Errors reach the model as a ToolMessage with status "error" (see tools_base).
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from cdp.tools_audience import READ_AUDIENCE_TOOLS, audience_tools
from cdp.tools_base import ToolSession, json_safe, session_db
from cdp.tools_insights import UnknownCampaignError, insight_tools
from cdp.tools_traits import trait_tools

__all__ = [
    "ToolSession",
    "UnknownCampaignError",
    "all_read_tools",
    "all_tools",
    "audience_tools",
    "insight_tools",
    "json_safe",
    "session_db",
    "trait_tools",
]

READ_TOOLS = (*READ_AUDIENCE_TOOLS, "read_traits", "campaign_results", "segment_baseline")


def all_tools(session: ToolSession) -> list[BaseTool]:
    """Every CDP tool, including those that write segments and traits."""
    return [*audience_tools(session), *trait_tools(session), *insight_tools(session)]


def all_read_tools(session: ToolSession) -> list[BaseTool]:
    """The tools that only read: for agents that must not change shared state."""
    return [t for t in all_tools(session) if t.name in READ_TOOLS]
