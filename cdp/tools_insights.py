"""Insight tools for the analytics agent: a campaign's results so far and a segment's KPI baseline."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field

from cdp import lifecycle
from cdp.audience import safe_label, segment_row
from cdp.clock import iso, now
from cdp.errors import UnknownCampaignError
from cdp.tools_base import ToolSession, cdp_tool

#: Send statuses that never reached the customer, so nothing after them is attributed to them.
UNDELIVERED = ("failed", "cancelled", "canceled", "bounced", "suppressed")
RESPONSE_TYPES = (
    "email_open",
    "email_click",
    "sms_click",
    "push_open",
    "purchase",
    "unsubscribe",
    "complaint",
)
SMALL_GROUP = 100


def _counts(db, sql: str, params: list[Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for kind, value, n in db.execute(sql, params):
        out.setdefault(kind, {})[safe_label(value)] = int(n)
    return out


def _rate(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def _holdout(sent: dict[str, float], held: dict[str, float]) -> dict[str, Any]:
    """Conversion of contacted vs held-out customers, with a two-proportion z-test."""
    n1, b1, n2, b2 = sent["n"], sent["buyers"], held["n"], held["buyers"]
    result: dict[str, Any] = {
        "sent": {
            "customers": int(n1),
            "converted": int(b1),
            "conversion_rate": _rate(b1, n1),
            "revenue_per_customer": _rate(sent["revenue"], n1, 2),
        },
        "holdout": {
            "customers": int(n2),
            "converted": int(b2),
            "conversion_rate": _rate(b2, n2),
            "revenue_per_customer": _rate(held["revenue"], n2, 2),
        },
    }
    if n1 and n2:
        p1, p2, pooled = b1 / n1, b2 / n2, (b1 + b2) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (p1 - p2) / se if se else 0.0
        result.update(
            lift_points=round(p1 - p2, 4),
            relative_lift=round((p1 - p2) / p2, 4) if p2 else None,
            z_score=round(z, 3),
            significant_at_95=abs(z) >= 1.96,
        )
        if min(n1, n2) < SMALL_GROUP:
            result["note"] = f"a group has fewer than {SMALL_GROUP} customers: treat the lift as indicative"
    return result


def campaign_results(db, campaign_id: str) -> dict[str, Any]:
    """Sends by status, channel and variant; gate decisions by reason; responses since each
    customer's first delivered send; and the holdout comparison when the gate held customers out."""
    camp = db.execute("SELECT status FROM campaigns WHERE campaign_id = ?", [campaign_id]).fetchone()
    sends = _counts(
        db,
        """SELECT 'status', status, count(*) FROM sends WHERE campaign_id = ? GROUP BY status
           UNION ALL SELECT 'channel', channel, count(*) FROM sends WHERE campaign_id = ? GROUP BY channel
           UNION ALL SELECT 'variant', variant, count(*) FROM sends WHERE campaign_id = ? GROUP BY variant""",
        [campaign_id] * 3,
    )
    decisions = _counts(
        db,
        """SELECT 'reason', reason_code, count(*) FROM decisions WHERE campaign_id = ?
               GROUP BY reason_code
           UNION ALL SELECT 'outcome', outcome, count(*) FROM decisions WHERE campaign_id = ?
               GROUP BY outcome""",
        [campaign_id] * 2,
    )
    if camp is None and not sends and not decisions:
        raise UnknownCampaignError(
            f"unknown campaign_id {campaign_id!r}: no campaign, send or decision has it"
        )
    at = iso(now(db))
    undelivered = ", ".join("?" for _ in UNDELIVERED)
    first_send = f"""sent AS (SELECT profile_id, min(scheduled_for) AS t0 FROM sends
                     WHERE campaign_id = ? AND status NOT IN ({undelivered}) GROUP BY profile_id)"""
    responses = {}
    for etype, n, people, amount in db.execute(
        f"""WITH {first_send}
            SELECT e.type, count(*), count(DISTINCT e.profile_id),
                   total(json_extract(e.properties, '$.amount'))
            FROM sent JOIN events e ON e.profile_id = sent.profile_id AND e.ts >= sent.t0 AND e.ts <= ?
            WHERE +e.type IN ({", ".join("?" for _ in RESPONSE_TYPES)}) GROUP BY e.type""",
        [campaign_id, *UNDELIVERED, at, *RESPONSE_TYPES],
    ):
        responses[etype] = {"events": int(n), "customers": int(people)}
        if etype == "purchase":
            responses[etype]["revenue"] = round(amount, 2)
    groups = {
        grp: {"n": n, "buyers": buyers, "revenue": revenue}
        for grp, n, buyers, revenue in db.execute(
            f"""WITH {first_send},
                held AS (SELECT profile_id, min(created_at) AS t0 FROM decisions
                         WHERE campaign_id = ? AND outcome = 'holdout' GROUP BY profile_id),
                g AS (SELECT 'sent' AS grp, profile_id, t0 FROM sent
                      UNION ALL SELECT 'holdout', profile_id, t0 FROM held)
                SELECT g.grp, count(DISTINCT g.profile_id), count(DISTINCT e.profile_id),
                       total(json_extract(e.properties, '$.amount'))
                FROM g LEFT JOIN events e ON e.profile_id = g.profile_id AND +e.type = 'purchase'
                     AND e.ts >= g.t0 AND e.ts <= ?
                GROUP BY g.grp""",
            # `+e.type` (here and in the two other event queries) keeps SQLite on the (profile_id, ts)
            # index: probing each customer's own events beats walking every event of a type in the
            # window once per customer (8 s -> 0.3 s at 15k customers; 1.8 s -> 8 ms at 100k).
            [campaign_id, *UNDELIVERED, campaign_id, at],
        )
    }
    sent_group = groups.get("sent", {"n": 0, "buyers": 0, "revenue": 0.0})
    running = lifecycle.latest(db, campaign_id) if camp is not None else None
    return {
        "campaign_id": campaign_id,
        "status": safe_label(camp[0]) if camp else None,
        "as_of": at,
        "sends": {
            "total": sum(sends.get("status", {}).values()),
            "customers_reached": int(sent_group["n"]),
            "by_status": sends.get("status", {}),
            "by_channel": sends.get("channel", {}),
            "by_variant": sends.get("variant", {}),
        },
        "decisions": {
            "by_outcome": decisions.get("outcome", {}),
            "by_reason_code": decisions.get("reason", {}),
        },
        "responses_since_first_send": responses,
        "holdout_comparison": _holdout(sent_group, groups["holdout"]) if "holdout" in groups else None,
        # Only once the campaign runs, so a result before launch reads exactly as it always has.
        **({"lifecycle": running} if running else {}),
    }


def segment_baseline(db, segment_id: str, days: int = 30) -> dict[str, Any]:
    """Purchase and engagement KPIs of a segment's members over the last `days` days."""
    head = segment_row(db, segment_id)
    if not 1 <= days <= 730:
        raise ValueError(f"days must be between 1 and 730, got {days}")
    end = now(db)
    since, until = iso(end - timedelta(days=days)), iso(end)
    members = db.execute(
        "SELECT count(*) FROM segment_members m JOIN profiles p ON p.profile_id = m.profile_id"
        " WHERE m.segment_id = ?",
        [segment_id],
    ).fetchone()[0]
    by_type = {
        etype: (int(n), int(people), float(amount))
        for etype, n, people, amount in db.execute(
            """SELECT e.type, count(*), count(DISTINCT e.profile_id),
                      total(json_extract(e.properties, '$.amount'))
               FROM segment_members m JOIN events e ON e.profile_id = m.profile_id
                    AND e.ts > ? AND e.ts <= ?
               WHERE m.segment_id = ?
                 AND +e.type IN ('purchase', 'email_open', 'email_click', 'sms_click', 'push_open')
               GROUP BY e.type""",
            [since, until, segment_id],
        )
    }
    orders, buyers, revenue = by_type.get("purchase", (0, 0, 0.0))
    engaged = {
        t: _rate(by_type.get(t, (0, 0, 0.0))[1], members)
        for t in ("email_open", "email_click", "sms_click", "push_open")
    }
    return {
        "segment_id": segment_id,
        "name": head["name"],
        "window_days": days,
        "window": {"from": since, "to": until},
        "members": members,
        "buyers": buyers,
        "orders": orders,
        "revenue": round(revenue, 2),
        "purchase_rate": _rate(buyers, members),
        "orders_per_customer": _rate(orders, members),
        "avg_order_value": _rate(revenue, orders, 2),
        "revenue_per_customer": _rate(revenue, members, 2),
        "share_engaged_by_type": engaged,
    }


class CampaignArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    campaign_id: str | None = Field(
        None, max_length=64, description="campaign id; defaults to this run's campaign"
    )


class BaselineArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segment_id: str = Field(min_length=1, max_length=64, description="id returned by save_segment")
    days: int = Field(30, ge=1, le=730, description="length of the look-back window in days")


_campaign_results, _segment_baseline = campaign_results, segment_baseline


def insight_tools(session: ToolSession) -> list[BaseTool]:
    """Read-only tools that measure: campaign results and a segment's baseline."""

    def campaign_results(db, args: CampaignArgs) -> dict[str, Any]:
        """Results of a campaign so far: sends by status, channel and variant; the contact-policy
        gate's decisions by outcome and reason_code (why customers were not contacted); responses
        (opens, clicks, purchases with revenue, unsubscribes, complaints) by customers after their
        first delivered send; and, when some customers were held out, conversion of contacted vs
        held-out customers with the lift and whether it is significant at 95%. Once the campaign runs,
        `lifecycle` has the latest day's lift with its 95% interval, the unsubscribe rate, conversion by
        variant and by channel (cut by each customer's first send), and what is live or paused.
        campaign_id defaults to this run's campaign."""
        campaign_id = args.campaign_id or session.campaign_id
        if not campaign_id:
            raise ValueError("no campaign_id given and this run has no campaign yet")
        return _campaign_results(db, campaign_id)

    def segment_baseline(db, args: BaselineArgs) -> dict[str, Any]:
        """Baseline KPIs of a saved segment over the last N days (default 30), to set targets and
        judge a campaign against: members, buyers, orders, revenue, purchase_rate, orders and
        revenue per customer, avg_order_value, and the share of members who opened or clicked."""
        return _segment_baseline(db, args.segment_id, args.days)

    return [
        cdp_tool(session, campaign_results, CampaignArgs),
        cdp_tool(session, segment_baseline, BaselineArgs),
    ]
