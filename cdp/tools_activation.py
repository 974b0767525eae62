"""Tools the activation agent calls: plan channels, request sends, preview the gate.

A model may ask for anything through these tools; every request still goes through the contact-policy
gate (`cdp.gate.run_gate`), which alone decides who is contacted. Results are counts and ids, never PII.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field

from cdp import clock
from cdp.errors import UnknownSegmentError
from cdp.gate import CHANNELS, GateError, local_timezone, run_gate
from cdp.policy import ContactPolicy
from cdp.requests import preview_segment, stage_requests, stage_segment_requests
from cdp.tools_base import ToolSession, cdp_tool

__all__ = ["MAX_TOOL_REQUESTS", "activation_tools", "channel_plan"]

#: Explicit requests one tool call may carry; audiences go through segments.
MAX_TOOL_REQUESTS = 200
ENGAGEMENT_DAYS = 90
# Which engagement events show that a channel reaches the customer.
CHANNEL_EVENTS = {"email": ("email_open", "email_click"), "sms": ("sms_click",), "push": ("push_open",)}

Channel = Literal["email", "sms", "push"]


def channel_plan(db, segment_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Per channel: members with consent, their engagement, and the best local send hour."""
    if db.execute("SELECT 1 FROM segments WHERE segment_id = ?", [segment_id]).fetchone() is None:
        raise UnknownSegmentError(f"unknown segment_id {segment_id!r}: save the audience as a segment first")
    now = now or clock.now(db)
    row = db.execute(
        """SELECT count(*), sum(p.consent_email), sum(p.consent_sms), sum(p.consent_push),
                  avg(CASE WHEN p.consent_email = 1 THEN v.engagement_score END),
                  avg(CASE WHEN p.consent_sms = 1 THEN v.engagement_score END),
                  avg(CASE WHEN p.consent_push = 1 THEN v.engagement_score END)
           FROM segment_members m JOIN profiles p ON p.profile_id = m.profile_id
           JOIN customer_360 v ON v.profile_id = m.profile_id
           WHERE m.segment_id = ?""",
        [segment_id],
    ).fetchone()
    members = int(row[0] or 0)
    since = clock.iso(now.replace(microsecond=0) - timedelta(days=ENGAGEMENT_DAYS))
    event_channel = " ".join(
        f"WHEN e.type IN {_sql_tuple(types)} THEN '{ch}'" for ch, types in CHANNEL_EVENTS.items()
    )
    all_types = tuple(t for types in CHANNEL_EVENTS.values() for t in types)
    # Hours are counted per (channel, country, UTC hour) in SQL; only those few groups reach Python,
    # which turns each into the customer's local hour.
    by_hour: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    events: dict[str, int] = defaultdict(int)
    for channel, country, hour, count in db.execute(
        f"""SELECT CASE {event_channel} END, COALESCE(p.country, ''), CAST(strftime('%H', e.ts) AS INTEGER),
                   count(*)
            FROM segment_members m JOIN profiles p ON p.profile_id = m.profile_id
            JOIN events e ON e.profile_id = m.profile_id AND e.ts >= ?
            WHERE m.segment_id = ? AND e.type IN {_sql_tuple(all_types)}
            GROUP BY 1, 2, 3""",
        [since, segment_id],
    ):
        tz = local_timezone(country or None)
        local_hour = now.replace(hour=hour, minute=0, second=0, microsecond=0).astimezone(tz).hour
        by_hour[channel][local_hour] += count
        events[channel] += count
    channels: dict[str, dict[str, Any]] = {}
    reach: dict[str, float] = {}
    for i, ch in enumerate(CHANNELS):
        consented = int(row[1 + i] or 0)
        engagement = round(float(row[4 + i] or 0.0), 4)
        hours = by_hour.get(ch, {})
        channels[ch] = {
            "consented": consented,
            "consented_share": round(consented / members, 4) if members else 0.0,
            "avg_engagement_of_consented": engagement,
            f"engagement_events_{ENGAGEMENT_DAYS}d": events.get(ch, 0),
            "best_local_hour": max(sorted(hours), key=lambda h: hours[h]) if hours else None,
        }
        reach[ch] = consented * (1 + engagement)
    suggested = sorted((ch for ch in CHANNELS if reach[ch] > 0), key=lambda ch: (-reach[ch], ch))
    return {
        "segment_id": segment_id,
        "members": members,
        "channels": channels,
        "suggested_channel_priority": suggested,
        "note": (
            "the contact-policy gate still checks consent, caps, suppressions, offers, holdout and budget "
            "for every customer; SMS and push are moved out of local quiet hours automatically"
        ),
    }


def _sql_tuple(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# --- tool argument schemas (what the model may pass) ---------------------------------------------


class PlanArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segment_id: str = Field(max_length=80, description="Id of a saved segment (from save_segment).")


class RequestSendsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segment_id: str = Field(max_length=80, description="Id of the saved segment to message.")
    channel_priority: list[Channel] = Field(
        min_length=1, max_length=3, description="Channels in order of preference, e.g. ['email', 'push']."
    )
    send_at: str | None = Field(
        default=None,
        max_length=40,
        description="ISO time to send (UTC), e.g. 2026-11-25T09:00:00Z; default now.",
    )
    step: int = Field(
        default=0, ge=0, le=1000, description="Campaign step (0 = first message, 1 = reminder ...)."
    )


class PreviewArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segment_id: str = Field(max_length=80, description="Id of the saved segment to preview.")
    channel_priority: list[Channel] = Field(
        min_length=1, max_length=3, description="Channels in order of preference."
    )
    send_at: str | None = Field(default=None, max_length=40, description="ISO time to send; default now.")
    step: int = Field(default=0, ge=0, le=1000)


class CustomRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile_id: str = Field(max_length=128, description="A profile id from the campaign's segment.")
    channel: Channel
    variant: str | None = Field(default=None, max_length=64, description="A saved variant_id, or omit.")
    send_at: str | None = Field(default=None, max_length=40, description="ISO time; default now.")


class CustomSendsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests: list[CustomRequest] = Field(min_length=1, max_length=MAX_TOOL_REQUESTS)
    step: int = Field(default=0, ge=0, le=1000)


# --- tools ---------------------------------------------------------------------------------------


def activation_tools(session: ToolSession, policy: ContactPolicy | None = None) -> list[BaseTool]:
    """The activation agent's tools, bound to one run/task (`session`) and the run's contact policy."""
    limits: ContactPolicy = policy or getattr(session, "policy", None) or ContactPolicy()

    def campaign() -> str:
        if not session.campaign_id:
            raise GateError("this task has no campaign yet: the campaign must be created before sends")
        return session.campaign_id

    def plan_channels(db, args: PlanArgs) -> dict[str, Any]:
        """Plan channels for a saved segment. Returns, per channel (email, sms, push), how many members
        consented, their average engagement, engagement events in the last 90 days and the best local
        send hour, plus a suggested channel_priority. Read-only."""
        return channel_plan(db, args.segment_id)

    def request_sends(db, args: RequestSendsArgs) -> dict[str, Any]:
        """Ask to message every member of a saved segment for this campaign step. Each member gets the
        first channel in channel_priority they consented to and the best-matching content variant. The
        contact-policy gate then decides each customer (consent, frequency cap, open tickets, complaints,
        service pauses, conflicting offers, holdout, budget, quiet hours) and returns counts: scheduled,
        deferred, held_out, suppressed by reason. Asking again is safe: nobody is messaged twice for
        the same step."""
        cid = campaign()
        staged = stage_segment_requests(
            db,
            cid,
            args.segment_id,
            channel_priority=list(args.channel_priority),
            send_at=args.send_at,
            step=args.step,
            thread_id=session.thread_id,
            task_id=session.task_id,
            agent=session.agent,
        )
        return {"staged": staged, **run_gate(db, cid, step=args.step, policy=limits).to_dict()}

    def request_custom_sends(db, args: CustomSendsArgs) -> dict[str, Any]:
        """Ask to message specific customers (at most 200 per call): profile_id, channel, optional
        variant (a saved variant_id) and send_at. Every request still passes the contact-policy gate,
        exactly like request_sends; unknown profile ids or variants reject the whole call."""
        cid = campaign()
        rows = [r.model_dump() for r in args.requests]
        staged = stage_requests(
            db,
            cid,
            rows,
            step=args.step,
            thread_id=session.thread_id,
            task_id=session.task_id,
            agent=session.agent,
        )
        return {"staged": staged, **run_gate(db, cid, step=args.step, policy=limits).to_dict()}

    def gate_preview(db, args: PreviewArgs) -> dict[str, Any]:
        """Preview what the contact-policy gate would decide for a saved segment with this
        channel_priority, without scheduling anything: counts of sends, deferrals, holdout and
        suppressions by reason, and the cost against the campaign budget."""
        result = preview_segment(
            db,
            campaign(),
            args.segment_id,
            channel_priority=list(args.channel_priority),
            send_at=args.send_at,
            step=args.step,
            policy=limits,
            agent=session.agent,
        )
        return result.to_dict()

    return [
        cdp_tool(session, plan_channels, PlanArgs),
        cdp_tool(session, request_sends, RequestSendsArgs, write=True),
        cdp_tool(session, request_custom_sends, CustomSendsArgs, write=True),
        # Writes inside one transaction that is always rolled back.
        cdp_tool(session, gate_preview, PreviewArgs, write=True),
    ]
