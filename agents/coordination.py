"""Tools that act on the run rather than the CDP: proposals on shared decisions and peer notes.

Where a note goes is decided by the run's protocol, not by the model: under hub it goes to the
supervisor, under p2p to the named peer (the supervisor sees it and may veto), under blackboard it is
written as a task note in the CDP that every agent can read.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from agents.base import AgentEnv

DecisionKey = Literal["audience_size", "budget", "channel_mix", "discount_depth"]


class ProposeArgs(BaseModel):
    decision_key: DecisionKey = Field(description="The shared decision this proposal is about.")
    value: float = Field(description="Proposed value (e.g. number of customers, amount, discount %).")
    rationale: str = Field(max_length=400)
    expected_value: float | None = Field(
        default=None, description="Expected net value under the objective (revenue minus cost), if known."
    )


class NotifyArgs(BaseModel):
    recipient: str = Field(description="Agent the note is for, e.g. 'activation'.")
    topic: Literal["pause_customers", "variants_ready", "segment_ready", "budget_cap", "note"]
    note: str = Field(max_length=400)
    data: dict[str, Any] = Field(default_factory=dict, description="Ids and counts only.")


def propose_tool(env: AgentEnv) -> BaseTool:
    def propose(decision_key: str, value: float, rationale: str, expected_value: float | None = None) -> dict:
        proposal = {
            "decision_key": decision_key,
            "value": value,
            "rationale": rationale,
            "expected_value": expected_value,
            "agent": env.agent,
            "task_id": env.task_id,
        }
        # Read back from the conversation when the task is collected (`agents.base.collect`).
        return {"recorded": True, **proposal}

    return StructuredTool.from_function(
        propose,
        name="propose",
        description="Propose a value for a shared campaign decision (audience_size, budget, channel_mix, "
        "discount_depth). If agents disagree, the supervisor resolves it by priority rules, then by "
        "expected value, then by asking a person.",
        args_schema=ProposeArgs,
    )


def notify_tool(env: AgentEnv) -> BaseTool:
    def notify(recipient: str, topic: str, note: str, data: dict[str, Any] | None = None) -> dict:
        # The note is read back from this call's arguments when the task is collected.
        return {"queued": True, "recipient": recipient, "protocol": env.protocol}

    return StructuredTool.from_function(
        notify,
        name="notify",
        description="Tell another agent something it needs (for example which customers to pause). "
        "Delivery follows the run's protocol.",
        args_schema=NotifyArgs,
    )
