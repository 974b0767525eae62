"""The optimization agent's one write tool: adjust a running campaign.

The model chooses the action and says why; the code checks the action against what is live in the
campaign, applies it (cdp.lifecycle) and records it. No action here sends anything: further sends are
staged as requests and decided by the contact-policy gate.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field

from cdp import lifecycle
from cdp.tools_base import ToolSession, cdp_tool


class AdjustArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["keep", "shift_variant", "shift_channel", "pause_variant", "pause_channel", "stop"] = (
        Field(
            description="keep; shift_variant/shift_channel (send the next waves with the winner); "
            "pause_variant/pause_channel (no more sends with the loser); stop (end the campaign now)"
        )
    )
    target: str | None = Field(
        None, max_length=64, description="the variant_id or channel the action is about (none for keep/stop)"
    )
    reason: str = Field(min_length=3, max_length=500, description="the figures the decision rests on")


def lifecycle_tools(session: ToolSession) -> list[BaseTool]:
    def adjust_campaign(db, args: AdjustArgs) -> dict[str, Any]:
        """Adjust this run's running campaign for its next sends, on the day of the latest results:
        shift volume to a winning variant or channel, pause a losing one, stop early (for example on
        unsubscribes), or keep it as it is. Call once per review with the figures behind the choice."""
        if not session.campaign_id:
            raise ValueError("this run has no campaign to adjust")
        latest = lifecycle.latest(db, session.campaign_id)
        if latest is None:
            raise ValueError("the campaign has no measured results yet: nothing to adjust on")
        evidence = {k: latest[k] for k in ("day", "lift", "ci_low", "ci_high", "unsubscribe_rate")}
        return lifecycle.apply_adjustment(
            db,
            session.campaign_id,
            day=int(latest["day"]),
            action=args.action,
            target=args.target,
            reason=args.reason,
            decided_by=session.agent,
            evidence=evidence,
            thread_id=session.thread_id,
            at=str(latest["as_of"]),
        )

    return [cdp_tool(session, adjust_campaign, AdjustArgs, write=True)]
